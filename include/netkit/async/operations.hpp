#pragma once

#include <netkit/async/accept_awaiter.hpp>
#include <netkit/async/awaiters.hpp>
#include <netkit/async/connect_awaiter.hpp>
#include <netkit/async/loop.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/buffer/buffer.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/io/resumable.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/acceptor.hpp>
#include <netkit/socket/socket.hpp>

#include <chrono>
#include <coroutine>

// The awaitable operations: each tries its call at once (MSG_DONTWAIT, or a step of the
// resumable tier), and only when that would block waits on the loop of its thread for
// readiness, its deadline or its stop token. Their state is the awaiter, in the frame
// (awaiters.hpp).

namespace netkit::async {

/// Waits until `source` (a socket, an acceptor, anything with `native_handle()`, or a
/// `file_descriptor`: a signalfd, an eventfd, a pipe) is readable, or `until` passes
/// (`errc::deadline_passed`), or `stop` is asked (`operation_canceled`). One operation that reads
/// and one that writes may wait on a descriptor at a time; a second of the same direction fails
/// with `std::errc::connection_already_in_progress` (EALREADY).
template <class Source>
detail::wait_awaiter wait_readable(const Source& source, deadline until = {},
                                   stop_token stop = {}) {
    return {detail::descriptor_of(source), netkit::interest::readable, until, stop};
}
/// As `wait_readable`, for room to write.
template <class Source>
detail::wait_awaiter wait_writable(const Source& source, deadline until = {},
                                   stop_token stop = {}) {
    return {detail::descriptor_of(source), netkit::interest::writable, until, stop};
}

/// Lets the loop's other ready tasks run before this one goes on.
inline auto yield() noexcept {
    class yield_awaiter {
    public:
        yield_awaiter() = default;
        yield_awaiter(const yield_awaiter&) = delete;
        yield_awaiter& operator=(const yield_awaiter&) = delete;
        ~yield_awaiter() { // destroyed before its turn: out of the queue
            if (waiting_) {
                loop::current().unschedule(waiting_);
            }
        }
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> waiting) {
            waiting_ = waiting;
            loop::current().schedule(waiting);
        }
        void await_resume() noexcept { waiting_ = {}; }

    private:
        std::coroutine_handle<> waiting_{};
    };
    return yield_awaiter{};
}

/// Resumes the task at `until` (a success, `result<void>`), or earlier with
/// `operation_canceled` when `stop` is asked.
inline detail::sleep_awaiter sleep_until(deadline until, stop_token stop = {}) {
    return {until, stop};
}
/// Resumes the task `duration` from now.
template <class Rep, class Period>
detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> duration, stop_token stop = {}) {
    return {deadline(duration), stop};
}

/// One receive into `data` (a writable byte range): the bytes received, 0 at end of stream (on
/// a message protocol, the socket's `receive_result`). Tries recv(2) at once (MSG_DONTWAIT) and
/// waits for readability only if nothing is there.
template <class P, class Data>
auto receive(basic_socket<P>& socket, Data&& data, deadline until = {}, stop_token stop = {}) {
    auto bytes = netkit::detail::as_mutable_buffer(data);
    return detail::receive_awaiter<P, mutable_buffer>(socket, bytes, until, stop);
}

/// One send of `data` (a byte range): the bytes sent, which may be fewer.
template <class P, class Data>
auto send(basic_socket<P>& socket, const Data& data, deadline until = {}, stop_token stop = {}) {
    return detail::send_awaiter<P, const_buffer>(socket, buffer(data), until, stop);
}

/// Sends all of `data`, stepping a `resumable_send` and waiting for room whenever the socket is
/// full. On failure the error's `bytes_transferred()` says how much went.
template <can_stream P, class Data>
auto send_all(basic_socket<P>& socket, const Data& data, deadline until = {},
              stop_token stop = {}) {
    return detail::transfer_awaiter<P, resumable_send, true>(socket, detail::as_iovec(buffer(data)),
                                                             until, stop);
}

/// Fills `data`, stepping a `resumable_receive`; end of stream first is `errc::end_of_stream`.
template <can_stream P, class Data>
auto receive_exact(basic_socket<P>& socket, Data&& data, deadline until = {},
                   stop_token stop = {}) {
    return detail::transfer_awaiter<P, resumable_receive, false>(
        socket, detail::as_iovec(netkit::detail::as_mutable_buffer(data)), until, stop);
}

/// The next connection on `acceptor`, which must be non-blocking (`listen_options::mode`):
/// accept4(2) at once, and a wait for readability only when none is queued. The socket it
/// returns is non-blocking.
template <class P>
auto accept(basic_acceptor<P>& acceptor, deadline until = {}, stop_token stop = {}) {
    return detail::accept_awaiter<P>(acceptor, until, stop);
}

/// A new non-blocking socket of protocol `P` connected to `peer` within `until`:
/// `co_await connect<tcp::protocol>(peer, 2s)`. The half-open socket is closed on failure.
template <class P>
auto connect(const typename P::endpoint_type& peer, deadline until = {}, stop_token stop = {}) {
    return detail::connect_awaiter<P>(detail::open_non_blocking<P>(peer), peer, until, stop);
}

} // namespace netkit::async
