#pragma once

#include <netkit/async/loop.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/buffer/buffer.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/io/resumable.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/option/socket.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/acceptor.hpp>
#include <netkit/socket/socket.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include <sys/uio.h>

// The awaitable operations: each tries its call at once (MSG_DONTWAIT, or a step of the
// resumable tier), and only when that would block waits on the loop of its thread for
// readiness, its deadline or its stop token. Their state is the awaiter, in the frame.

namespace netkit::async {

namespace detail {

// What every operation's awaiter does; `Derived` has `static bool try_now(operation&)`, which
// keeps the outcome, and `outcome()`, which returns it (or the error the engine ended it with).
template <class Derived>
class io_awaiter : protected operation {
public:
    io_awaiter(const io_awaiter&) = delete;
    io_awaiter& operator=(const io_awaiter&) = delete;
    ~io_awaiter() { // a frame destroyed while waiting: unregister, resume nothing
        if (registered) {
            loop_->forget(*this);
        }
    }

    bool await_ready() noexcept {
        if (stop.stop_requested()) {
            ended = std::make_error_code(std::errc::operation_canceled);
            return true; // a cancel before the start is honoured: no call is made
        }
        if (attempt(*this)) {
            finished_at_once_ = true;
            return loop_->may_continue();
        }
        return false;
    }
    bool await_suspend(std::coroutine_handle<> waiting) {
        waiter = waiting;
        if (finished_at_once_) { // done, but the task has had its turn: yield to the others
            loop_->schedule(waiting);
            return true;
        }
        return loop_->start_wait(*this);
    }
    auto await_resume() { return static_cast<Derived&>(*this).outcome(); }

protected:
    io_awaiter(int descriptor, poll_interest what, deadline when, stop_token token) noexcept {
        attempt = &Derived::try_now;
        fd = descriptor;
        interest = what;
        until = when;
        stop = token;
    }
    // The engine's error as this operation's: "receive: deadline passed".
    [[nodiscard]] failure ended_as(const char* name, std::size_t moved = 0) const noexcept {
        return failure{error(ended, name).with_bytes_transferred(moved)};
    }

private:
    loop* loop_ = &loop::current();
    bool finished_at_once_ = false;
};

template <class T>
using outcome_slot = std::optional<result<T>>;

class wait_awaiter : public io_awaiter<wait_awaiter> {
public:
    wait_awaiter(int descriptor, poll_interest what, deadline when, stop_token token) noexcept
        : io_awaiter(descriptor, what, when, token) {}
    static bool try_now(operation& base) noexcept { // ready only once the engine says so
        auto& self = static_cast<wait_awaiter&>(base);
        return std::exchange(self.asked_, true);
    }
    result<void> outcome() const noexcept {
        if (ended) {
            return ended_as("wait");
        }
        return {};
    }

private:
    bool asked_ = false;
};

class sleep_awaiter : public io_awaiter<sleep_awaiter> {
public:
    sleep_awaiter(deadline when, stop_token token) noexcept
        : io_awaiter(-1, poll_interest{}, when, token) {}
    static bool try_now(operation& base) noexcept { return base.until.expired(); }
    result<void> outcome() const noexcept {
        if (ended && ended != errc::deadline_passed) {
            return ended_as("sleep");
        }
        return {}; // for a sleep, the deadline is the success
    }
};

template <class P, class Buffer>
class receive_awaiter : public io_awaiter<receive_awaiter<P, Buffer>> {
    using base = io_awaiter<receive_awaiter<P, Buffer>>;
    using value_type = typename basic_socket<P>::receive_result;

public:
    receive_awaiter(basic_socket<P>& socket, Buffer buffer, deadline when, stop_token token)
        : base(socket.native_handle(), netkit::interest::readable, when, token),
          socket_(socket),
          buffer_(buffer) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<receive_awaiter&>(op);
        auto got = self.socket_.receive(self.buffer_, receive_flag::dont_wait);
        if (!got && got.error().would_block()) {
            return false;
        }
        self.outcome_.emplace(std::move(got));
        return true;
    }
    result<value_type> outcome() {
        if (this->ended) {
            return this->ended_as("receive");
        }
        return std::move(*outcome_);
    }

private:
    basic_socket<P>& socket_;
    Buffer buffer_;
    outcome_slot<value_type> outcome_;
};

template <class P, class Buffer>
class send_awaiter : public io_awaiter<send_awaiter<P, Buffer>> {
    using base = io_awaiter<send_awaiter<P, Buffer>>;

public:
    send_awaiter(basic_socket<P>& socket, Buffer buffer, deadline when, stop_token token)
        : base(socket.native_handle(), netkit::interest::writable, when, token),
          socket_(socket),
          buffer_(buffer) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<send_awaiter&>(op);
        auto sent = self.socket_.send(self.buffer_, send_flag::dont_wait);
        if (!sent && sent.error().would_block()) {
            return false;
        }
        self.outcome_.emplace(std::move(sent));
        return true;
    }
    result<std::size_t> outcome() {
        if (this->ended) {
            return this->ended_as("send");
        }
        return std::move(*outcome_);
    }

private:
    basic_socket<P>& socket_;
    Buffer buffer_;
    outcome_slot<std::size_t> outcome_;
};

// send_all and receive_exact: a resumable transfer of the io/ tier, stepped until it would block.
template <class P, class Transfer, bool Sending>
class transfer_awaiter : public io_awaiter<transfer_awaiter<P, Transfer, Sending>> {
    using base = io_awaiter<transfer_awaiter<P, Transfer, Sending>>;
    static constexpr const char* name = Sending ? "send_all" : "receive_exact";

public:
    transfer_awaiter(basic_socket<P>& socket, iovec bytes, deadline when, stop_token token)
        : base(socket.native_handle(),
               Sending ? netkit::interest::writable : netkit::interest::readable, when, token),
          socket_(socket),
          bytes_(bytes),
          transfer_(std::span<const iovec>(&bytes_, 1)) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<transfer_awaiter&>(op);
        for (;;) { // a short transfer goes on at once: only a would-block waits
            auto step = self.transfer_.step(self.socket_);
            if (!step) {
                if (step.error().would_block()) {
                    return false;
                }
                self.failed_ = step.error();
                return true;
            }
            if (*step) {
                return true;
            }
        }
    }
    result<std::size_t> outcome() const noexcept {
        if (this->ended) {
            return this->ended_as(name, transfer_.bytes_transferred());
        }
        if (failed_) {
            return failure{*failed_};
        }
        return transfer_.bytes_transferred();
    }

private:
    basic_socket<P>& socket_;
    iovec bytes_;
    Transfer transfer_;
    std::optional<error> failed_;
};

template <class P>
class accept_awaiter : public io_awaiter<accept_awaiter<P>> {
    using base = io_awaiter<accept_awaiter<P>>;

public:
    accept_awaiter(basic_acceptor<P>& acceptor, deadline when, stop_token token)
        : base(acceptor.native_handle(), netkit::interest::readable, when, token),
          acceptor_(acceptor) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<accept_awaiter&>(op);
        auto got = self.acceptor_.accept(io_mode::non_blocking);
        if (!got && got.error().would_block()) {
            return false;
        }
        self.outcome_.emplace(std::move(got));
        return true;
    }
    result<accepted<P>> outcome() {
        if (this->ended) {
            return this->ended_as("accept");
        }
        return std::move(*outcome_);
    }

private:
    basic_acceptor<P>& acceptor_;
    outcome_slot<accepted<P>> outcome_;
};

template <class P>
class connect_awaiter : public io_awaiter<connect_awaiter<P>> {
    using base = io_awaiter<connect_awaiter<P>>;

public:
    connect_awaiter(result<basic_socket<P>> opened, const typename P::endpoint_type& peer,
                    deadline when, stop_token token)
        : base(opened ? opened->native_handle() : -1, netkit::interest::writable, when, token),
          opened_(std::move(opened)),
          peer_(peer) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<connect_awaiter&>(op);
        if (!self.opened_) {
            return true;
        }
        if (!self.started_) { // (a): connect(2) at once; EINPROGRESS waits for writable
            self.started_ = true;
            auto begun = self.opened_->connect_to(self.peer_);
            if (!begun && begun.error() == std::errc::operation_in_progress) {
                return false;
            }
            self.failed_ = begun ? std::nullopt : std::optional<error>(begun.error());
            return true;
        }
        auto status = self.opened_->get(so::error); // writable: how the handshake ended
        if (!status) {
            self.failed_ = status.error();
        } else if (*status != 0) {
            self.failed_ = error(std::error_code(*status, std::system_category()), "connect",
                                 self.peer_.data(), self.peer_.size());
        }
        return true;
    }
    result<basic_socket<P>> outcome() {
        if (this->ended) {
            return failure{error(this->ended, "connect", peer_.data(), peer_.size())};
        }
        if (!opened_) {
            return failure{opened_.error()};
        }
        if (failed_) {
            return failure{*failed_};
        }
        return std::move(*opened_);
    }

private:
    result<basic_socket<P>> opened_;
    typename P::endpoint_type peer_;
    std::optional<error> failed_;
    bool started_ = false;
};

template <class P>
result<basic_socket<P>> open_non_blocking(const typename P::endpoint_type& peer) noexcept {
    auto fd = netkit::detail::open_for<P>(peer, SOCK_NONBLOCK);
    if (!fd) {
        return failure{fd.error()};
    }
    return basic_socket<P>(std::move(*fd));
}

template <has_native_handle Source>
int descriptor_of(const Source& source) noexcept {
    return static_cast<int>(source.native_handle());
}
inline int descriptor_of(const file_descriptor& fd) noexcept { return fd.get(); }

inline iovec as_iovec(const_buffer bytes) noexcept {
    return {const_cast<void*>(bytes.data()), bytes.size()}; // NOLINT: iovec is not const-correct
}
inline iovec as_iovec(mutable_buffer bytes) noexcept { return {bytes.data(), bytes.size()}; }

} // namespace detail

/// Waits until `source` (a socket, an acceptor, anything with `native_handle()`, or a
/// `file_descriptor`: a signalfd, an eventfd, a pipe) is readable, or `until` passes
/// (`errc::deadline_passed`), or `stop` is asked (`operation_canceled`). One operation per
/// descriptor at a time: a second wait on the same one fails with EEXIST.
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
    struct yield_awaiter {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> waiting) { loop::current().schedule(waiting); }
        void await_resume() const noexcept {}
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
