#pragma once

// When a multishot receive (IORING_OP_RECV or IORING_OP_RECVMSG with IORING_RECV_MULTISHOT and a
// provided buffer ring) has ended, and whether to arm it again.
//
// A multishot request goes on while its completions carry IORING_CQE_F_MORE. It can end while
// its socket is still good, and then nothing is lost as long as it is armed again:
//   - the buffer ring ran empty: the last completion is -ENOBUFS and carries no buffer; the data
//     stays queued in the socket for the next request, which must come after buffers are given
//     back (armed on an empty ring, it ends again as soon as data arrives);
//   - the CQ ring was full: the kernel cannot post a completion that promises more, so the last
//     one carries data (and its buffer) without F_MORE; the rest stays queued in the socket.
// Everything else that ends it is final: the end of a stream (res 0), a cancel (-ECANCELED), or
// the socket's error, which is the caller's to judge (on a connected UDP socket an ICMP error
// such as ECONNREFUSED is reported once, and the socket may go on).
// Linux 6.18 does both, checked by tests/integration/io_uring_recvmsg.cpp.

#include <netkit/sys/io_uring_abi.hpp>

#include <cerrno>

#include <linux/io_uring.h>

namespace netkit::detail::uring {

/// What a completion of a multishot receive says about its request.
enum class multishot_state {
    /// IORING_CQE_F_MORE: the request is still armed.
    goes_on,
    /// It ended with the socket still good: out of buffers (-ENOBUFS: give buffers back, then
    /// arm it again) or a full CQ ring (this completion still carries data: read it first).
    arm_again,
    /// It is over: end of stream (res 0), cancelled (-ECANCELED), or the socket's error (-res).
    ended,
};

/// The state of the request that posted completion `c`, a completion of a multishot receive.
[[nodiscard]] constexpr multishot_state state_after(const cqe& c) noexcept {
    if ((c.flags & IORING_CQE_F_MORE) != 0) {
        return multishot_state::goes_on;
    }
    if (c.res > 0 || c.res == -ENOBUFS) {
        return multishot_state::arm_again;
    }
    return multishot_state::ended;
}

} // namespace netkit::detail::uring
