#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/loop.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/buffer/buffer.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/resumable.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

namespace netkit::async {

namespace detail {

// A reader's receive that lends the ring's buffer instead of copying out of it; the bytes land in
// `spare` when they do not come from the ring (epoll, or a ring that ran out of buffers).
template <class P>
class view_awaiter : public receive_awaiter<P, mutable_buffer> {
    using base = receive_awaiter<P, mutable_buffer>;

public:
    view_awaiter(basic_socket<P>& socket, mutable_buffer spare, deadline when, stop_token token,
                 const read_path& path)
        : base(socket, spare, when, token, path),
          spare_(spare) {
        if (this->from_queue == operation::queue_source::received) {
            this->attempt = &lend_queued;
        }
    }

    result<std::span<const std::byte>> await_resume() {
        auto got = base::await_resume();
        if (!got) {
            return failure{got.error()};
        }
        if (lent_.data() != nullptr) {
            return lent_;
        }
        return std::span<const std::byte>(static_cast<const std::byte*>(spare_.data()), *got);
    }

private:
    static bool lend_queued(operation& op) noexcept {
        auto& self = static_cast<view_awaiter&>(op);
        const std::optional<int> got = loop::current().lend_received(op.fd, self.lent_);
        return got && base::complete_now(op, *got);
    }

    mutable_buffer spare_;
    std::span<const std::byte> lent_;
};

} // namespace detail

/// The one reader of a stream socket, for a connection that is read from start to end by the
/// same task: on io_uring, one multishot receive into the loop's buffer ring stays armed while
/// the reader lives, and `receive` copies from what it received (`receive_view` lends it instead),
/// so that a request costs one submission (its send) instead of two. On epoll, and on io_uring
/// without a buffer ring
/// (`loop_options::receive_buffers` 0, or a kernel that refused it), it is `async::receive`.
///
/// While a reader lives, read the socket only through it: the kernel hands the socket's data to
/// the reader's queue as it arrives, so a recv(2) made directly, or an `async::receive` (which
/// then fails with `connection_already_in_progress` while the reader waits), would read out of
/// order. The reader buffers at most `receive_queues::buffer_limit` ring buffers (16 × 16 KiB by
/// default) before it stops receiving; an idle connection holds none. Destroying the reader (or
/// closing the socket) drops what it had received and not read. Made and used on the thread of
/// the loop it belongs to; not movable (its operations point at it).
///
/// @par Example
/// @code
/// netkit::async::stream_reader reader(socket);
/// for (;;) {
///     auto got = co_await reader.receive(buffer, 30s);
///     if (!got || *got == 0) break;
///     co_await netkit::async::send_all(socket, std::span(buffer).first(*got));
/// }
/// @endcode
template <can_stream P>
class stream_reader {
public:
    /// Reads `socket`, which must outlive the reader and be non-blocking. A second reader of the
    /// same socket is refused, on either engine: each of its receives fails with
    /// `connection_already_in_progress`.
    explicit stream_reader(basic_socket<P>& socket) : socket_(socket), loop_(loop::current()) {
        auto opened = loop_.open_holder(fd(), detail::operation::queue_source::received);
        if (opened) {
            token_ = *opened;
            through_ring_ = loop_.queues_receives();
        } else {
            refused_ = opened.error().code();
        }
    }
    stream_reader(const stream_reader&) = delete;
    stream_reader& operator=(const stream_reader&) = delete;
    ~stream_reader() { loop_.close_holder(fd(), token_); }

    /// One receive into `data` (a writable byte range): the bytes received, 0 at end of stream.
    template <class Data>
    auto receive(Data&& data, deadline until = {}, stop_token stop = {}) {
        return detail::receive_awaiter<P, mutable_buffer>(
            socket_, netkit::detail::as_mutable_buffer(data), until, stop, path());
    }

    /// One receive that lends what it received instead of copying it: the bytes (none at end of
    /// stream), valid until the reader's next receive or its destruction. On io_uring they are
    /// the unread part of one ring buffer, handed over without a copy (send them from there: the
    /// buffer goes back to the ring at the next receive); on epoll, or when the ring has run out
    /// of buffers, they are received into `spare`, a writable byte range, which must outlive the
    /// view. Errors as `receive`'s.
    ///
    /// @par Example
    /// @code
    /// auto got = co_await reader.receive_view(spare, 30s);
    /// if (got && !got->empty()) co_await netkit::async::send_all(socket, *got);
    /// @endcode
    template <class Data>
    auto receive_view(Data&& spare, deadline until = {}, stop_token stop = {}) {
        return detail::view_awaiter<P>(socket_, netkit::detail::as_mutable_buffer(spare), until,
                                       stop, path());
    }

    /// Fills `data`; an end of stream first is `errc::end_of_stream`, with the bytes received
    /// before it in the error's `bytes_transferred()`.
    template <class Data>
    auto receive_exact(Data&& data, deadline until = {}, stop_token stop = {}) {
        return detail::transfer_awaiter<P, resumable_receive, false>(
            socket_, detail::as_iovec(netkit::detail::as_mutable_buffer(data)), until, stop,
            path());
    }

    /// Bytes received by the engine and not read yet.
    [[nodiscard]] std::size_t buffered() const noexcept { return loop_.received_unread(fd()); }

    /// True when the reader receives through the engine's buffer ring.
    [[nodiscard]] bool through_ring() const noexcept { return through_ring_; }

    /// The socket read.
    [[nodiscard]] basic_socket<P>& socket() const noexcept { return socket_; }

private:
    [[nodiscard]] int fd() const noexcept { return static_cast<int>(socket_.native_handle()); }

    [[nodiscard]] detail::read_path path() const noexcept { return {through_ring_, refused_}; }

    basic_socket<P>& socket_;
    loop& loop_;
    std::uint64_t token_ = 0;
    bool through_ring_ = false;
    std::error_code refused_;
};

} // namespace netkit::async
