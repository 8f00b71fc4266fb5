#pragma once

#include <netkit/core/result.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/sys/syscall.hpp>

#include <cstddef>
#include <span>

#include <sys/uio.h>

namespace netkit::detail {

// The loops' single steps over iovecs: one buffer is a plain send(2)/recv(2), as hand-written C
// would make it; several are one sendmsg(2)/recvmsg(2) through a message_header.

inline result<std::size_t> send_gathered(int fd, std::span<const iovec> iov, int flags) noexcept {
    if (iov.size() == 1) {
        return send(fd, iov.front().iov_base, iov.front().iov_len, flags);
    }
    const message_header message(iov);
    return send_message(fd, message.native(), flags);
}

inline result<std::size_t> receive_scattered(int fd, std::span<const iovec> iov,
                                             int flags) noexcept {
    if (iov.size() == 1) {
        return receive(fd, iov.front().iov_base, iov.front().iov_len, flags);
    }
    message_header message(iov);
    return receive_message(fd, message.native(), flags);
}

} // namespace netkit::detail
