#pragma once

#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/concepts.hpp>
#include <netkit/buffer/cursor.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/iovec_io.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <span>

#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit {

namespace detail {
// Several whole buffers in one sendmsg(2)/recvmsg(2): out of line, so that the message header it
// builds stays out of the single-buffer step that a readiness loop makes at every event.
template <class Call>
[[gnu::noinline]] result<std::size_t> step_gathered(std::span<const iovec> iov,
                                                    Call call) noexcept {
    return call(iov);
}

// One non-blocking step of a transfer from `position`: the rest of a partly transferred buffer
// alone, or up to IOV_MAX whole buffers in one call. Taking the partial buffer alone keeps the
// state free of an iovec window (16 KiB) at the cost of one call after a short transfer, which on
// a readiness loop happens when the socket was full anyway. One buffer is a plain send(2) or
// recv(2), always inlined as hand-written C would have it (out of line, callgrind counted 44 of
// the echo example's 235 instructions per request in this function).
template <class Call>
[[gnu::always_inline]] inline result<std::size_t> step_from(const buffer_position& position,
                                                            Call call) noexcept {
    const std::span<const iovec> remaining = position.remaining();
    if (position.offset() != 0) {
        const iovec rest{static_cast<char*>(remaining.front().iov_base) + position.offset(),
                         remaining.front().iov_len - position.offset()};
        return call(std::span<const iovec>(&rest, 1));
    }
    if (remaining.size() == 1) [[likely]] {
        return call(remaining.first(1));
    }
    return step_gathered(remaining.first(detail::min_of(remaining.size(), max_buffers_per_call)),
                         call);
}

// One step of a resumable transfer: `call` makes the system call; on a receive (`zero_is_end`)
// a return of 0 means the peer ended the stream before the buffers were full.
template <class Call>
[[gnu::always_inline]] inline result<bool> advance(buffer_position& position, std::size_t& moved,
                                                   bool zero_is_end, Call call) noexcept {
    if (position.done()) {
        return true;
    }
    auto now = step_from(position, call);
    if (!now) [[unlikely]] {
        return failure{error(now.error()).with_bytes_transferred(moved)};
    }
    if (zero_is_end && *now == 0) [[unlikely]] {
        return failure{error(make_error_code(errc::end_of_stream), "receive_exact")
                           .with_bytes_transferred(moved)};
    }
    moved += *now;
    position.consume(*now);
    return position.done();
}
} // namespace detail

/// A `send_all` that a readiness loop drives: where in the buffers it is and how many bytes went,
/// kept between calls. Each `step` makes one non-blocking system call (MSG_DONTWAIT, whatever the
/// socket's mode) from where the last one stopped.
///
/// The iovec array and the bytes it points to must outlive the operation.
///
/// @par Example
/// @code
/// netkit::resumable_send out(netkit::as_iovecs(reply));
/// // each time the poller says the socket is writable:
/// auto sent = out.step(sock);
/// if (!sent && !sent.error().would_block()) { close_connection(); }
/// else if (sent && *sent) { reply_done(); }
/// @endcode
class resumable_send {
public:
    /// Sends `buffers` (its iovec array must outlive the operation).
    explicit resumable_send(std::span<const iovec> buffers) noexcept : position_(buffers) {}

    /// One non-blocking send from where the last step stopped. True once everything has gone;
    /// false when bytes went but some remain. A `would_block()` error means the socket had no
    /// room: step again once it is writable. Any other error is final; its
    /// `bytes_transferred()` is the total sent.
    template <can_stream P>
    result<bool> step(basic_socket<P>& socket, send_flags flags = {}) noexcept {
        const int bits = flags.bits() | MSG_DONTWAIT;
        return detail::advance(position_, moved_, false, [&](std::span<const iovec> iov) noexcept {
            return detail::send_gathered(socket.native_handle(), iov, bits);
        });
    }

    /// True once every byte has been sent.
    [[nodiscard]] bool done() const noexcept { return position_.done(); }
    /// Bytes sent so far.
    [[nodiscard]] std::size_t bytes_transferred() const noexcept { return moved_; }

private:
    buffer_position position_;
    std::size_t moved_ = 0;
};

/// A `receive_exact` that a readiness loop drives: each `step` makes one non-blocking receive
/// (MSG_DONTWAIT) into the buffers from where the last one stopped, until they are full. Like
/// `receive_exact` it refuses `receive_flag::peek`.
///
/// The iovec array and the memory it points to must outlive the operation.
class resumable_receive {
public:
    /// Fills `buffers` (its iovec array must outlive the operation).
    explicit resumable_receive(std::span<const iovec> buffers) noexcept : position_(buffers) {}

    /// One non-blocking receive from where the last step stopped. True once the buffers are
    /// full; false when bytes came but room remains. A `would_block()` error means nothing was
    /// there: step again once the socket is readable. End of stream first is
    /// `errc::end_of_stream`; it and any other error are final, with `bytes_transferred()` the
    /// total received.
    /// `receive_flag::peek` is refused (`std::errc::invalid_argument`, nothing received): a peek
    /// takes nothing from the stream, so the next step would copy the same bytes again further
    /// on. The operation is unchanged and may go on without it.
    template <can_stream P>
    result<bool> step(basic_socket<P>& socket, receive_flags flags = {}) noexcept {
        if (flags.contains(receive_flag::peek)) [[unlikely]] {
            // The operation names the refused flag, as receive_exact's error does.
            return failure{
                error(make_error_code(std::errc::invalid_argument), "resumable_receive with peek")
                    .with_bytes_transferred(moved_)};
        }
        const int bits = flags.bits() | MSG_DONTWAIT;
        return detail::advance(position_, moved_, true, [&](std::span<const iovec> iov) noexcept {
            return detail::receive_scattered(socket.native_handle(), iov, bits);
        });
    }

    /// True once the buffers are full.
    [[nodiscard]] bool done() const noexcept { return position_.done(); }
    /// Bytes received so far.
    [[nodiscard]] std::size_t bytes_transferred() const noexcept { return moved_; }

private:
    buffer_position position_;
    std::size_t moved_ = 0;
};

} // namespace netkit
