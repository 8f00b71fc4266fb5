#pragma once

// What every system call wrapper shares: the one EINTR retry, and turning a byte count into a
// result. close(2) is not here but in core/fd.hpp, with the file_descriptor that owns it.

#include <netkit/core/result.hpp>

#include <cerrno>
#include <cstddef>

#include <sys/types.h>

namespace netkit::detail {

/// Calls `call` again for as long as it fails with EINTR (a signal arrived before the call did
/// anything) and returns what it last returned, errno intact. The one place netkit retries an
/// interrupted call: a call whose arguments must change between tries (a length the kernel
/// wrote, a timeout that is running out) recomputes them inside `call`.
template <class Call>
auto retry_on_interrupt(Call&& call) noexcept(noexcept(call())) -> decltype(call()) {
    for (;;) {
        const auto returned = call();
        if (returned >= 0 || errno != EINTR) [[likely]] {
            return returned;
        }
    }
}

/// What a read or write call returned: the byte count, or the error it left in errno.
inline result<std::size_t> byte_count(ssize_t returned, const char* operation) noexcept {
    if (returned < 0) [[unlikely]] {
        return errno_failure(operation);
    }
    return static_cast<std::size_t>(returned);
}

} // namespace netkit::detail
