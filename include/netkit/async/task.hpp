#pragma once

#include <netkit/async/frame_allocator.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace netkit::async {

namespace detail {

class promise_base;

// Who is told when a task that nobody awaits has finished: a loop or a scope (which own the
// frame), or when_all/when_any (which do not).
class task_owner {
public:
    // Called at the task's final suspend; the owner may destroy the frame there. Returns the
    // coroutine to go on with (symmetric transfer): a joiner, or std::noop_coroutine().
    virtual std::coroutine_handle<> finished(promise_base& promise) noexcept = 0;

protected:
    task_owner() = default;
    ~task_owner() = default;
    task_owner(const task_owner&) = default;
    task_owner& operator=(const task_owner&) = default;
};

// What every task's promise has: where to go when it ends, the exception it ended with, and for
// a spawned task its owner and its place in the owner's list.
class promise_base {
public:
    // Frames come from the thread's recycling allocator (frame_allocator.hpp).
    static void* operator new(std::size_t size) { return frame_allocator::local().allocate(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
        frame_allocator::local().deallocate(frame, size);
    }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            promise_base& promise = self.promise();
            if (promise.running_inline_) { // started by await_suspend, which goes on from here
                promise.finished_inline_ = true;
                return std::noop_coroutine();
            }
            if (promise.continuation_) {
                return promise.continuation_; // symmetric transfer to the awaiter
            }
            if (promise.owner_ != nullptr) {
                return promise.owner_->finished(promise); // may destroy this frame: touch nothing
            }
            return std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    void set_continuation(std::coroutine_handle<> next) noexcept { continuation_ = next; }
    void set_owner(task_owner* owner) noexcept { owner_ = owner; }
    [[nodiscard]] std::exception_ptr exception() const noexcept { return exception_; }
    [[nodiscard]] std::coroutine_handle<> handle() noexcept { return handle_; }

    // The owner's intrusive list of spawned tasks: no allocation per spawn.
    promise_base* prev_spawned = nullptr;
    promise_base* next_spawned = nullptr;

protected:
    promise_base() = default;
    ~promise_base() = default;
    promise_base(const promise_base&) = delete;
    promise_base& operator=(const promise_base&) = delete;

    std::coroutine_handle<> continuation_{};
    std::coroutine_handle<> handle_{};
    task_owner* owner_ = nullptr;
    std::exception_ptr exception_{};

public:
    // Set while an awaiter runs the task inline (see task::awaiter).
    bool running_inline_ = false;
    bool finished_inline_ = false;
};

template <class T>
class promise_value : public promise_base {
public:
    template <class U>
    void return_value(U&& value) requires std::is_constructible_v<T, U&&> {
        value_.emplace(std::forward<U>(value));
    }
    T take() {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
        return std::move(*value_);
    }

private:
    std::optional<T> value_;
};

template <>
class promise_value<void> : public promise_base {
public:
    void return_void() noexcept {}
    void take() const {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
    }
};

} // namespace detail

/// A lazy coroutine that produces a `T` (typically a `netkit::result<U>`) when awaited.
///
/// Nothing runs until the task is awaited (or handed to `loop::run` or `loop::spawn`); awaiting
/// it runs it on the awaiter's thread; one that ends at once lets the awaiter go on without
/// nesting, and one that suspended resumes its awaiter by symmetric transfer when it ends, so
/// a loop of a million tasks that end at once uses no more stack than one. An
/// exception that escapes the task is rethrown to its awaiter. A task is moved, not copied;
/// destroying one that has not finished destroys its frame (locals included) without running
/// any more of it. Its frame comes from the thread's recycling allocator.
///
/// @par Example
/// @code
/// netkit::async::task<netkit::result<std::size_t>> read_header(tcp::socket& s, header& h);
/// netkit::async::task<void> session(tcp::socket s) {
///     header h;
///     auto got = co_await read_header(s, h);
///     if (!got) co_return;
/// }
/// @endcode
template <class T = void>
class [[nodiscard]] task {
public:
    /// The coroutine's promise (what the compiler asks of a coroutine type).
    class promise_type : public detail::promise_value<T> {
    public:
        /// Records its own handle, for the loop.
        promise_type() noexcept {
            this->handle_ = std::coroutine_handle<promise_type>::from_promise(*this);
        }
        /// The task that owns this coroutine.
        task get_return_object() noexcept {
            return task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
    };
    /// The coroutine's handle.
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    /// Takes the coroutine of `other`, which is left empty.
    task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    /// Destroys this task's coroutine and takes `other`'s.
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    ~task() { reset(); }

    /// True for a task that holds a coroutine.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }
    /// True once the coroutine has run to its end.
    [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }

    /// What `co_await task` uses.
    struct awaiter {
        handle_type handle; ///< the awaited task's coroutine
        /// Never ready: the task has not started.
        bool await_ready() const noexcept { return false; }
        // The task runs inline, and when it ends without suspending the awaiter goes on by
        // returning false, so a loop of awaits of tasks that end at once never nests a frame.
        // Returning the task's handle (symmetric transfer) would rely on the compiler making
        // the resume a tail call, which g++ 12 does only with -foptimize-sibling-calls (-O2)
        // and never under ASan: at -O0 the stack grew by 128 bytes per await (docs/coroutines.md).
        /// Runs the task; false (go on at once) if it ended without suspending.
        bool await_suspend(std::coroutine_handle<> waiting) {
            auto& promise = handle.promise();
            promise.set_continuation(waiting);
            promise.running_inline_ = true;
            handle.resume();
            if (promise.finished_inline_) {
                return false;
            }
            promise.running_inline_ = false; // it suspended: its end resumes the awaiter
            return true;
        }
        /// The task's value, or its exception rethrown.
        T await_resume() { return handle.promise().take(); }
    };
    /// Runs the task and resumes the awaiter with its value (or rethrows its exception).
    awaiter operator co_await() && noexcept { return awaiter{handle_}; }

    /// The coroutine, for a loop that runs the task.
    [[nodiscard]] handle_type handle() const noexcept { return handle_; }
    /// Gives up ownership of the coroutine (a loop that spawns it takes it).
    handle_type release() noexcept { return std::exchange(handle_, {}); }
    /// The value of a finished task; rethrows its exception.
    T take() { return handle_.promise().take(); }

private:
    explicit task(handle_type handle) noexcept : handle_(handle) {}
    void reset() noexcept {
        if (handle_) {
            handle_.destroy();
            handle_ = {};
        }
    }
    handle_type handle_{};
};

} // namespace netkit::async
