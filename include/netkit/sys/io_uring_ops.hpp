#pragma once

// The submissions the io_uring engine makes, one prepare function each, and what their
// completions mean. Each function fills a whole SQE (every field it does not name is zero), so
// a slot's previous contents never leak into a new submission, and takes the user_data its
// completions will carry. Sends always add MSG_NOSIGNAL: netkit never raises SIGPIPE.
//
// Completions: cqe.res is the system call's return value, or -errno. A multishot request
// (accept, receive, recvmsg, poll) keeps going while its completions carry IORING_CQE_F_MORE;
// the first one without it is its last. SEND_ZC completes twice: the send (with F_MORE), then a
// notification (IORING_CQE_F_NOTIF) once the kernel no longer reads the buffer.

#include <netkit/sys/io_uring_abi.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <linux/io_uring.h>
#include <sys/socket.h>

namespace netkit::detail::uring {

namespace ops_detail {
inline void fill(sqe& entry, std::uint8_t opcode, int fd, const void* address, std::uint32_t length,
                 std::uint64_t offset, std::uint64_t user_data) noexcept {
    entry = sqe{};
    entry.opcode = opcode;
    entry.fd = fd;
    entry.addr = reinterpret_cast<std::uintptr_t>(address);
    entry.len = length;
    entry.off = offset;
    entry.user_data = user_data;
}
} // namespace ops_detail

/// Does nothing; completes with res 0.
inline void prepare_nop(sqe& entry, std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_NOP, -1, nullptr, 0, 0, user_data);
}

/// Multishot accept (Linux 5.19): one completion per connection, res the new descriptor,
/// opened with `flags` (SOCK_CLOEXEC, SOCK_NONBLOCK).
inline void prepare_accept_multishot(sqe& entry, int listener, int flags,
                                     std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_ACCEPT, listener, nullptr, 0, 0, user_data);
    entry.ioprio = IORING_ACCEPT_MULTISHOT;
    entry.accept_flags = static_cast<std::uint32_t>(flags);
}

/// recv(2) into `into`.
inline void prepare_recv(sqe& entry, int fd, std::span<std::byte> into, int msg_flags,
                         std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_RECV, fd, into.data(),
                     static_cast<std::uint32_t>(into.size()), 0, user_data);
    entry.msg_flags = static_cast<std::uint32_t>(msg_flags);
}

/// Multishot recv (Linux 6.0) into buffers of provided buffer group `group`: one completion per
/// receive, each carrying the buffer it filled (IORING_CQE_F_BUFFER); res 0 is the end of the
/// stream; -ENOBUFS ends it when the group is empty.
inline void prepare_recv_multishot(sqe& entry, int fd, std::uint16_t group, int msg_flags,
                                   std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_RECV, fd, nullptr, 0, 0, user_data);
    entry.msg_flags = static_cast<std::uint32_t>(msg_flags);
    entry.ioprio = IORING_RECV_MULTISHOT;
    entry.flags = IOSQE_BUFFER_SELECT;
    entry.buf_group = group;
}

/// send(2) of `bytes`, with MSG_NOSIGNAL. A short result is possible: send the rest.
inline void prepare_send(sqe& entry, int fd, std::span<const std::byte> bytes, int msg_flags,
                         std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_SEND, fd, bytes.data(),
                     static_cast<std::uint32_t>(bytes.size()), 0, user_data);
    entry.msg_flags = static_cast<std::uint32_t>(msg_flags | MSG_NOSIGNAL);
}

/// sendmsg(2) of `message` (which must stay valid until the completion), with MSG_NOSIGNAL.
inline void prepare_sendmsg(sqe& entry, int fd, const msghdr& message, int msg_flags,
                            std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_SENDMSG, fd, &message, 1, 0, user_data);
    entry.msg_flags = static_cast<std::uint32_t>(msg_flags | MSG_NOSIGNAL);
}

/// recvmsg(2) into `message` (which must stay valid until the completion).
inline void prepare_recvmsg(sqe& entry, int fd, msghdr& message, int msg_flags,
                            std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_RECVMSG, fd, &message, 1, 0, user_data);
    entry.msg_flags = static_cast<std::uint32_t>(msg_flags);
}

/// Multishot recvmsg (Linux 6.0) into buffers of group `group`. `layout` gives only the sizes
/// of the name and control parts reserved in each buffer (msg_namelen, msg_controllen; no iov)
/// and must stay valid until the last completion; `parse_recvmsg` reads a filled buffer.
inline void prepare_recvmsg_multishot(sqe& entry, int fd, const msghdr& layout, std::uint16_t group,
                                      int msg_flags, std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_RECVMSG, fd, &layout, 1, 0, user_data);
    entry.msg_flags = static_cast<std::uint32_t>(msg_flags);
    entry.ioprio = IORING_RECV_MULTISHOT;
    entry.flags = IOSQE_BUFFER_SELECT;
    entry.buf_group = group;
}

/// Zero-copy send (Linux 6.0) of `bytes`, with MSG_NOSIGNAL. Two completions: the send's result
/// (with IORING_CQE_F_MORE), then IORING_CQE_F_NOTIF when `bytes` may be reused. `zc_flags`:
/// IORING_SEND_ZC_REPORT_USAGE to learn from the notification whether the kernel copied.
inline void prepare_send_zc(sqe& entry, int fd, std::span<const std::byte> bytes, int msg_flags,
                            std::uint16_t zc_flags, std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_SEND_ZC, fd, bytes.data(),
                     static_cast<std::uint32_t>(bytes.size()), 0, user_data);
    entry.msg_flags = static_cast<std::uint32_t>(msg_flags | MSG_NOSIGNAL);
    entry.ioprio = zc_flags;
}

/// The kernel's timespec for a duration (negative ones are zero).
[[nodiscard]] constexpr kernel_timespec to_kernel_timespec(std::chrono::nanoseconds d) noexcept {
    const auto ns = d.count() > 0 ? d.count() : 0;
    kernel_timespec ts{};
    ts.tv_sec = static_cast<decltype(ts.tv_sec)>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<decltype(ts.tv_nsec)>(ns % 1'000'000'000);
    return ts;
}

/// A timer: completes with -ETIME when `when` passes (relative, on CLOCK_MONOTONIC, unless
/// `flags` has IORING_TIMEOUT_ABS), or with 0 once `count` other completions happened first
/// (0: the time alone). `when` must stay valid until the submission is consumed.
inline void prepare_timeout(sqe& entry, const kernel_timespec& when, std::uint32_t count,
                            std::uint32_t flags, std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_TIMEOUT, -1, &when, 1, count, user_data);
    entry.timeout_flags = flags;
}

/// A deadline for the submission before it (which must carry IOSQE_IO_LINK: `link_next`): that
/// one is cancelled (-ECANCELED) if `when` passes first, and this completes with -ETIME; if the
/// linked one finishes first, this completes with -ECANCELED.
inline void prepare_link_timeout(sqe& entry, const kernel_timespec& when, std::uint32_t flags,
                                 std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_LINK_TIMEOUT, -1, &when, 1, 0, user_data);
    entry.timeout_flags = flags;
}

/// Links `entry` to the submission that follows it (it starts only after this one completes;
/// a LINK_TIMEOUT that follows bounds it).
inline void link_next(sqe& entry) noexcept { entry.flags |= IOSQE_IO_LINK; }

/// Cancels the request submitted with user_data `target` (IORING_ASYNC_CANCEL_ALL in `flags`:
/// every such request). Its own completion: 0 (found and cancelled), -ENOENT (not found: it
/// has completed or is about to), -EALREADY (running: it will complete soon). The cancelled
/// request completes with -ECANCELED.
inline void prepare_cancel(sqe& entry, std::uint64_t target, std::uint32_t flags,
                           std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_ASYNC_CANCEL, -1, nullptr, 0, 0, user_data);
    entry.addr = target;
    entry.cancel_flags = flags;
}

/// Cancels every request on descriptor `fd` (Linux 5.19): closing a descriptor does not cancel
/// what is in flight on it, this does. Its completion's res: how many it cancelled, or -ENOENT.
inline void prepare_cancel_fd(sqe& entry, int fd, std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_ASYNC_CANCEL, fd, nullptr, 0, 0, user_data);
    entry.cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
}

/// poll(2) for `events` (POLLIN, POLLOUT, ...) on `fd`, once or, `multishot` (Linux 5.13), on
/// every readiness change. res: the events that are ready.
inline void prepare_poll_add(sqe& entry, int fd, std::uint32_t events, bool multishot,
                             std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_POLL_ADD, fd, nullptr, multishot ? IORING_POLL_ADD_MULTI : 0,
                     0, user_data);
    entry.poll32_events = events; // little-endian: the 32-bit field as is
}

/// close(2) of `fd` by the kernel, in order with the submissions before it.
inline void prepare_close(sqe& entry, int fd, std::uint64_t user_data) noexcept {
    ops_detail::fill(entry, IORING_OP_CLOSE, fd, nullptr, 0, 0, user_data);
}

/// True if more completions of the same multishot request (or a SEND_ZC's notification) will
/// follow this one.
[[nodiscard]] constexpr bool has_more(const cqe& c) noexcept {
    return (c.flags & IORING_CQE_F_MORE) != 0;
}
/// True for the notification completion of a SEND_ZC: its buffer may be reused.
[[nodiscard]] constexpr bool is_notification(const cqe& c) noexcept {
    return (c.flags & IORING_CQE_F_NOTIF) != 0;
}

/// What a multishot recvmsg put in one buffer: the kernel's header, then the peer's address, the
/// control data and the payload.
struct received_message {
    std::span<const std::byte> name;    ///< the source address (empty on a connected socket)
    std::span<const std::byte> control; ///< control messages, as in msghdr::msg_control
    std::span<const std::byte> payload; ///< the bytes that fit in the buffer
    /// What the protocol's recvmsg returned: for a datagram, the bytes copied, or its whole
    /// length when the request's msg_flags had MSG_TRUNC (which on a stream socket would discard
    /// data instead, so netkit never adds it on its own).
    std::uint32_t payload_length = 0;
    std::uint32_t flags = 0; ///< msg_flags (MSG_TRUNC, MSG_CTRUNC)
    /// True if the datagram did not fit whole in the buffer: the rest of it is lost. MSG_TRUNC
    /// says so whatever the request's flags; without MSG_TRUNC among them the length does not
    /// (Linux 6.18: payload_length is then the bytes copied).
    [[nodiscard]] bool truncated() const noexcept {
        return (flags & MSG_TRUNC) != 0 || payload_length > payload.size();
    }
};

/// The size of a provided buffer in which a multishot recvmsg prepared with `layout` puts a
/// payload of `payload` bytes whole: the kernel's header and the name and control areas come
/// first, each reserved in full whatever it receives. For UDP with UDP_GRO, a coalesced receive
/// is up to 65,535 bytes of payload; a smaller buffer truncates it and loses the segments past
/// its end.
[[nodiscard]] constexpr std::size_t recvmsg_buffer_size(const msghdr& layout,
                                                        std::size_t payload) noexcept {
    return sizeof(::io_uring_recvmsg_out) + layout.msg_namelen + layout.msg_controllen + payload;
}

/// Reads a buffer filled by a multishot recvmsg whose completion said `res` bytes, with the
/// `layout` the request was prepared with. The buffer holds the header and the full reserved
/// name and control areas, then the payload. Returns nothing useful (all empty) for a `res`
/// too short to hold the header and those areas, which the kernel never produces.
[[nodiscard]] inline received_message
parse_recvmsg(std::span<const std::byte> buffer, std::int32_t res, const msghdr& layout) noexcept {
    received_message message;
    const std::size_t reserved =
        sizeof(::io_uring_recvmsg_out) + layout.msg_namelen + layout.msg_controllen;
    if (res < 0 || static_cast<std::size_t>(res) < reserved || buffer.size() < reserved) {
        return message;
    }
    ::io_uring_recvmsg_out header{};
    std::memcpy(&header, buffer.data(), sizeof header);
    const std::span<const std::byte> name_area = buffer.subspan(sizeof header, layout.msg_namelen);
    message.name =
        name_area.first(header.namelen < layout.msg_namelen ? header.namelen : layout.msg_namelen);
    message.control = buffer.subspan(
        sizeof header + layout.msg_namelen,
        header.controllen < layout.msg_controllen ? header.controllen : layout.msg_controllen);
    message.payload = buffer.subspan(reserved, static_cast<std::size_t>(res) - reserved);
    message.payload_length = header.payloadlen;
    message.flags = header.flags;
    return message;
}

} // namespace netkit::detail::uring
