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
#include <netkit/socket/socket.hpp>
#include <netkit/sys/syscall.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

// The awaiters behind <netkit/async/operations.hpp>: each is a detail::operation (the call to
// try and the readiness to wait for) plus the operation's own state and outcome. They live in
// the awaiting coroutine's frame, so an operation allocates nothing.

namespace netkit::async {

namespace detail {

// How a stream receive reads: from the socket (the default), through its `stream_reader`'s
// receive queue, or not at all (a second reader: `refused` says why).
struct read_path {
    bool through_queue = false;
    std::error_code refused{};
};

// What every operation's awaiter does; `Derived` has `static bool try_now(operation&)`, which
// keeps the outcome, and `outcome()`, which returns it (or the error the engine ended it with).
template <class Derived>
class io_awaiter : protected operation {
public:
    // Set by a stream receive: skip the first try when the loop knows the input is empty.
    static constexpr bool skips_drained_input = false;

    io_awaiter(const io_awaiter&) = delete;
    io_awaiter& operator=(const io_awaiter&) = delete;
    ~io_awaiter() { abandon(); }

    bool await_ready() noexcept {
        if (stop.stop_requested()) {
            ended = std::make_error_code(std::errc::operation_canceled);
            return true; // a cancel before the start is honoured: no call is made
        }
        if (describe != nullptr && loop_->completes() && !loop_->deadline_passed(until) &&
            from_queue == queue_source::none) {
            return false; // the engine makes the call itself: submitted in await_suspend
        }
        // (A queue's reader always looks in its queue: the socket's edges are not its news.)
        if (Derived::skips_drained_input && from_queue == queue_source::none &&
            loop_->input_drained(fd)) {
            return false; // the call could only fail: wait for the edge that new data brings
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
            queued = true;
            loop_->schedule(waiting);
            return true;
        }
        if (loop_->start_wait(*this)) {
            return true;
        }
        if (holds != nullptr && holds(*this, false)) {
            loop_->hold(*this); // the first try handed the kernel memory, then the wait ended
            return true;
        }
        return false;
    }
    auto await_resume() {
        queued = false;
        return static_cast<Derived&>(*this).outcome();
    }

protected:
    io_awaiter(int descriptor, poll_interest what, deadline when, stop_token token) noexcept {
        attempt = &Derived::try_now;
        if constexpr (requires { &Derived::describe_now; }) {
            if (Derived::describable) { // (c): a completion engine makes the call itself
                describe = &Derived::describe_now;
                complete = &Derived::complete_now;
            }
        }
        fd = descriptor;
        interest = what;
        until = when;
        stop = token;
    }
    // A `stream_reader`'s receive: from the descriptor's receive queue (the operation describes
    // itself: its buffer is where the bytes go), or refused at once.
    void read_by(const read_path& path) noexcept {
        if (path.refused) {
            ended = path.refused;
            attempt = [](operation&) noexcept { return true; };
            describe = nullptr;
        } else if (path.through_queue && describe != nullptr) {
            attempt = &take_queued;
            from_queue = queue_source::received;
        }
    }
    // A frame destroyed while waiting: unregister, resume nothing. When the kernel may still
    // read the frame's memory (`holds`, a zero-copy send), make no more calls and wait for it
    // to let go, blocking the thread. A derived awaiter whose members that wait needs calls it
    // from its own destructor, and clears `holds` after it.
    void abandon() noexcept {
        if (registered) {
            loop_->forget(*this);
        } else if (queued) {
            loop_->unschedule(waiter);
        }
        if (holds != nullptr && holds(*this, false)) {
            if (!ended) {
                ended = std::make_error_code(std::errc::operation_canceled);
            }
            loop_->settle(*this);
        }
    }
    // The engine's error as this operation's: "receive: deadline passed".
    [[nodiscard]] failure ended_as(const char* name, std::size_t moved = 0) const noexcept {
        return failure{error(ended, name).with_bytes_transferred(moved)};
    }

private:
    // Copies from the queue until the operation is done (a receive_exact may take several
    // buffers) or the queue is empty.
    static bool take_queued(operation& op) noexcept {
        for (;;) {
            const submission wanted = op.describe(op);
            const std::optional<int> taken = loop::current().take_received(
                op.fd, {static_cast<std::byte*>(wanted.data), wanted.size});
            if (!taken) {
                return false;
            }
            if (op.complete(op, *taken)) {
                return true;
            }
        }
    }

    loop* loop_ = &loop::current();
    bool finished_at_once_ = false;
};

template <class T>
using outcome_slot = std::optional<result<T>>;

class wait_awaiter : public io_awaiter<wait_awaiter> {
public:
    wait_awaiter(int descriptor, poll_interest what, deadline when, stop_token token) noexcept
        : io_awaiter(descriptor, what, when, token) {}
    // The loop's registration reports edges, not states: so the first try asks poll(2) whether
    // the descriptor is ready now, and a later one (after an edge) says yes.
    static bool try_now(operation& base) noexcept {
        auto& self = static_cast<wait_awaiter&>(base);
        if (std::exchange(self.asked_, true)) {
            return true;
        }
        auto now = netkit::detail::poll_one(base.fd, static_cast<short>(base.interest.bits()),
                                            deadline(deadline::clock::now()));
        if (!now) {
            self.failed_ = now.error();
            return true;
        }
        if ((*now & POLLNVAL) != 0) {
            self.failed_ = error(std::make_error_code(std::errc::bad_file_descriptor), "wait");
            return true;
        }
        return *now != 0;
    }
    result<void> outcome() const noexcept {
        if (ended) {
            return ended_as("wait");
        }
        if (failed_) {
            return failure{*failed_};
        }
        return {};
    }

private:
    std::optional<error> failed_;
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
    receive_awaiter(basic_socket<P>& socket, Buffer buffer, deadline when, stop_token token,
                    const read_path& path = {})
        : base(socket.native_handle(), netkit::interest::readable, when, token),
          socket_(socket),
          buffer_(buffer) {
        this->read_by(path);
    }
    // A stream receive that came back short took all there was (the kernel copies until the
    // buffer is full or the queue is empty), and new data will bring an edge: the loop notes it,
    // and the next receive waits for that edge instead of making a call that would fail.
    static constexpr bool skips_drained_input = can_stream<P>;

    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<receive_awaiter&>(op);
        auto got = self.socket_.receive(self.buffer_, receive_flag::dont_wait);
        if (!got && got.error().would_block()) {
            return false;
        }
        if constexpr (can_stream<P>) {
            if (got && *got > 0 && *got < self.buffer_.size()) {
                loop::current().note_drained(op.fd);
            }
        }
        self.outcome_.emplace(std::move(got));
        return true;
    }
    // (c), for a stream: one recv into the buffer.
    static constexpr bool describable = can_stream<P>;
    static submission describe_now(operation& op) noexcept {
        auto& self = static_cast<receive_awaiter&>(op);
        return {submission::kind::receive, self.buffer_.data(), self.buffer_.size(), 0};
    }
    static bool complete_now(operation& op, int result) noexcept {
        auto& self = static_cast<receive_awaiter&>(op);
        if constexpr (can_stream<P>) {
            if (result < 0) {
                self.outcome_.emplace(
                    failure{error(std::error_code(-result, std::system_category()), "receive")});
            } else {
                self.outcome_.emplace(static_cast<std::size_t>(result));
            }
        }
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
    // (c), for a stream: one send of the buffer (MSG_NOSIGNAL).
    static constexpr bool describable = can_stream<P>;
    static submission describe_now(operation& op) noexcept {
        auto& self = static_cast<send_awaiter&>(op);
        return {submission::kind::send, const_cast<void*>(self.buffer_.data()), // NOLINT
                self.buffer_.size(), 0};
    }
    static bool complete_now(operation& op, int result) noexcept {
        auto& self = static_cast<send_awaiter&>(op);
        if (result < 0) {
            self.outcome_.emplace(
                failure{error(std::error_code(-result, std::system_category()), "send")});
        } else {
            self.outcome_.emplace(static_cast<std::size_t>(result));
        }
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
    transfer_awaiter(basic_socket<P>& socket, iovec bytes, deadline when, stop_token token,
                     const read_path& path = {})
        : base(socket.native_handle(),
               Sending ? netkit::interest::writable : netkit::interest::readable, when, token),
          socket_(socket),
          bytes_(bytes),
          transfer_(std::span<const iovec>(&bytes_, 1)) {
        this->read_by(path);
    }
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
    // (c): a recv or send of what is left, submitted again after a short one.
    static constexpr bool describable = true;
    static submission describe_now(operation& op) noexcept {
        auto& self = static_cast<transfer_awaiter&>(op);
        return {Sending ? submission::kind::send : submission::kind::receive,
                static_cast<std::byte*>(self.bytes_.iov_base) + self.completed_,
                self.bytes_.iov_len - self.completed_, 0};
    }
    static bool complete_now(operation& op, int result) noexcept {
        auto& self = static_cast<transfer_awaiter&>(op);
        if (result < 0) {
            self.failed_ = error(std::error_code(-result, std::system_category()), name)
                               .with_bytes_transferred(self.completed_);
            return true;
        }
        if (result == 0 && !Sending && self.bytes_.iov_len > 0) {
            self.failed_ = error(make_error_code(errc::end_of_stream), name)
                               .with_bytes_transferred(self.completed_);
            return true;
        }
        self.completed_ += static_cast<std::size_t>(result);
        return self.completed_ == self.bytes_.iov_len;
    }

    result<std::size_t> outcome() const noexcept {
        const std::size_t moved = transfer_.bytes_transferred() + completed_;
        if (this->ended) {
            return this->ended_as(name, moved);
        }
        if (failed_) {
            return failure{*failed_};
        }
        return moved;
    }

private:
    basic_socket<P>& socket_;
    iovec bytes_;
    Transfer transfer_;
    std::optional<error> failed_;
    std::size_t completed_ = 0; // by the completion engine
};

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

} // namespace netkit::async
