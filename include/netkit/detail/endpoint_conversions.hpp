#pragma once

// What ip::endpoint and local::endpoint convert the same way: from and to a sockaddr_storage, and
// to text. Each works from the endpoint's own socket address (`data()`, `size()`) or its own
// `from_sockaddr(const sockaddr*, socklen_t)`.

#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/sockaddr_text.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>

namespace netkit::detail {

/// `Endpoint::from_sockaddr` of the first `length` bytes of `address`, never reading past it.
template <class Endpoint>
result<Endpoint> endpoint_from_storage(const sockaddr_storage& address, socklen_t length) noexcept {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockaddr idiom
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&address),
                                   min_of(length, static_cast<socklen_t>(sizeof address)));
}

/// The `length` bytes of a socket address copied into a `sockaddr_storage`, the rest zero.
inline sockaddr_storage to_sockaddr_storage(const sockaddr* address, socklen_t length) noexcept {
    sockaddr_storage out{};
    std::memcpy(&out, address, length);
    return out;
}

/// The text of a socket address (the forms of `format_sockaddr`), never cut: room for a Unix name
/// of all of sun_path, every byte escaped as \xNN, after the '@' of an abstract name.
inline std::string sockaddr_string(const sockaddr* address, socklen_t length) {
    std::array<char, 4 * sizeof(sockaddr_un::sun_path) + 2> text{};
    const std::size_t used = format_sockaddr(address, length, text.data(), text.size());
    return {text.data(), used};
}

} // namespace netkit::detail
