#pragma once

#include <netkit/async/loop.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/async/task_list.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <utility>

namespace netkit::async {

/// A group of tasks that ends only when all of them have ended: structured concurrency on one
/// loop. `spawn` starts a child on the loop of the calling thread; `co_await scope.join()`
/// resumes once no child is left and rethrows the first exception that escaped one of them.
/// `request_stop()` asks the children to end through `token()`, which they pass to their
/// operations.
///
/// Destroying a scope that still has children destroys their frames (their locals' destructors
/// run, their sockets close) and runs none of their code: a scope in a task's frame cannot
/// outlive it, and neither can its children. An exception that no `join` has rethrown by then
/// goes to the loop, as one escaping a spawned task does.
///
/// @par Example
/// @code
/// netkit::async::scope sessions;
/// for (;;) {
///     auto conn = co_await netkit::async::accept(acceptor, {}, shutdown);
///     if (!conn) break;
///     sessions.spawn(session(std::move(conn->socket), sessions.token()));
/// }
/// sessions.request_stop();
/// co_await sessions.join(); // every session has ended here
/// @endcode
class scope final : private detail::task_owner {
public:
    /// An empty scope whose children run on the calling thread's loop.
    scope() noexcept : loop_(&loop::current()) {}
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    scope(scope&&) = delete; // children point at it
    scope& operator=(scope&&) = delete;

    ~scope() {
        while (!children_.empty()) {
            detail::promise_base& child = children_.front();
            children_.unlink(child);
            loop_->unschedule(child.handle()); // one that has not had its first turn yet
            child.handle().destroy();
        }
        if (failed_) {
            loop_->report_exception(std::exchange(failed_, nullptr));
        }
    }

    /// Starts `work` as a child at the loop's next turn; the scope owns its frame from now on.
    void spawn(task<void> work) {
        auto handle = work.release();
        children_.push(handle.promise(), this);
        ++size_;
        loop_->schedule(handle);
    }

    /// How many children have not ended yet.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// The token the children should pass to their operations so that `request_stop` reaches
    /// them.
    [[nodiscard]] stop_token token() noexcept { return stop_.token(); }
    /// Asks every child that uses `token()` to end: their waits end with `operation_canceled`.
    void request_stop() noexcept { stop_.request_stop(); }

    /// What `co_await scope.join()` returns: resumes when the scope has no child left (at once
    /// if it has none), then rethrows the first exception a child let escape. One task at a
    /// time may join.
    [[nodiscard]] auto join() noexcept {
        class join_awaiter {
        public:
            explicit join_awaiter(scope& owner) noexcept : owner_(owner) {}
            join_awaiter(const join_awaiter&) = delete;
            join_awaiter& operator=(const join_awaiter&) = delete;
            ~join_awaiter() { owner_.joiner_ = {}; } // a joiner destroyed while it waits
            [[nodiscard]] bool await_ready() const noexcept { return owner_.size_ == 0; }
            void await_suspend(std::coroutine_handle<> waiting) noexcept {
                owner_.joiner_ = waiting;
            }
            void await_resume() {
                owner_.joiner_ = {};
                if (owner_.failed_) {
                    std::rethrow_exception(std::exchange(owner_.failed_, nullptr));
                }
            }

        private:
            scope& owner_;
        };
        return join_awaiter(*this);
    }

private:
    std::coroutine_handle<> finished(detail::promise_base& child) noexcept override {
        children_.unlink(child);
        --size_;
        if (std::exception_ptr escaped = child.exception(); escaped && !failed_) {
            failed_ = escaped;
        }
        child.handle().destroy();
        if (size_ == 0 && joiner_) {
            return std::exchange(joiner_, {}); // the joiner goes on at once (symmetric transfer)
        }
        return std::noop_coroutine();
    }

    loop* loop_;
    detail::task_list children_;
    std::size_t size_ = 0;
    std::coroutine_handle<> joiner_{};
    std::exception_ptr failed_{};
    stop_source stop_{};
};

} // namespace netkit::async
