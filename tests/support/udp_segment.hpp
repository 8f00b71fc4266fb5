#pragma once

// A segmented UDP send (GSO) made with the C API alone, so that netkit's own GSO send, and its
// receive of what the kernel coalesced, are checked against an independent sender.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace netkit::test {

/// sendmsg(2) of `length` bytes as datagrams of `segment_size` (a UDP_SEGMENT control message;
/// none when it is 0), to `to` when given, with `flags`; what sendmsg returned.
inline ssize_t c_sendmsg_segmented(int fd, const void* data, std::size_t length,
                                   std::uint16_t segment_size, int flags,
                                   const sockaddr* to = nullptr, socklen_t to_length = 0) {
    iovec iov{const_cast<void*>(data), length};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> control{};
    msghdr m{};
    m.msg_name = const_cast<sockaddr*>(to); // NOLINT: msghdr's field is not const
    m.msg_namelen = to_length;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (segment_size != 0) {
        m.msg_control = control.data();
        m.msg_controllen = control.size();
        cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof segment_size);
        std::memcpy(CMSG_DATA(c), &segment_size, sizeof segment_size);
    }
    return ::sendmsg(fd, &m, flags);
}

} // namespace netkit::test
