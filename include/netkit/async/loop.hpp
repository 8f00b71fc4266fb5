#pragma once

#include <netkit/async/deadline_slots.hpp>
#include <netkit/async/descriptor_epochs.hpp>
#include <netkit/async/descriptor_table.hpp>
#include <netkit/async/engine.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/post_queue.hpp>
#include <netkit/async/task.hpp>
#include <netkit/async/task_list.hpp>
#include <netkit/core/error.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/sys/syscall.hpp>

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/epoll.h>

namespace netkit::async {

/// One thread's event loop for coroutines: it runs tasks, owns the ones spawned on it, and is the
/// epoll engine of their operations (a `netkit::poller` for readiness, a `netkit::timer_queue`
/// for deadlines). One loop per thread; the operations of `<netkit/async/operations.hpp>` use
/// the loop of the thread they run on. Everything but `post` is for the loop's own thread.
///
/// Destroying the loop destroys the frames of the tasks it still owns (their sockets close
/// through their destructors) and runs no more of their code.
///
/// @par Example
/// @code
/// netkit::async::loop loop;
/// int answer = loop.run(compute()); // runs until compute() ends, then returns its value
/// @endcode
class loop final : private detail::task_owner {
public:
    /// How many operations in a row one task may complete without waiting before the loop makes
    /// it yield to the others (so that a busy connection cannot starve the rest).
    static constexpr unsigned immediate_limit = 32;

    /// A loop with its own engine (see `engine_kind`) and wake eventfd; it becomes this thread's
    /// loop. Throws `operation_failed` when no engine can be opened.
    explicit loop(engine_kind wanted = engine_kind::automatic)
        : loop(loop_options{.engine = wanted}) {}
    /// A loop made with `options` (the engine, and io_uring's receive buffers).
    explicit loop(const loop_options& options) : engine_(detail::engine::open(options).value()) {
        ready_.reserve(64);
        running_.reserve(64);
        current_slot() = this;
        netkit::detail::descriptor_close_observer = &on_close;
    }

    loop(loop&& other) = delete; // operations and tasks point at it
    loop(const loop&) = delete;
    loop& operator=(const loop&) = delete;
    ~loop() {
        while (!spawned_.empty()) { // destroying a frame destroys its awaiters, which unregister
            promise_base_ref task = spawned_.front();
            spawned_.unlink(task);
            task.handle().destroy();
        }
        if (current_slot() == this) {
            current_slot() = nullptr;
            netkit::detail::descriptor_close_observer = nullptr;
        }
    }

    /// The engine the loop runs on: "epoll" or "io_uring".
    [[nodiscard]] std::string_view engine_name() const noexcept { return engine_.name(); }
    /// The engine the loop runs on.
    [[nodiscard]] engine_kind engine() const noexcept { return engine_.kind(); }

    /// The loop of the calling thread (the one most recently opened on it and still alive).
    static loop& current() noexcept { return *current_slot(); }

    /// Runs until `work` has finished and returns its value, or rethrows its exception. An
    /// exception that escapes a spawned task is rethrown here unless a handler is set. Throws
    /// `operation_failed` (`std::errc::operation_canceled`) when `stop()` ends it first, and
    /// when the loop's poller fails.
    template <class T>
    T run(task<T> work) {
        std::coroutine_handle<> root = work.handle();
        stopping_ = false;
        turn_time_ = deadline::clock::now();
        schedule(root);
        for (;;) {
            run_ready();
            if (root.done()) {
                return work.take();
            }
            if (stopping_) {
                throw operation_failed(
                    error(std::make_error_code(std::errc::operation_canceled), "loop::run"));
            }
            poll();
        }
    }

    /// Hands `work` to the loop, which starts it on its next turn and destroys its frame when it
    /// ends (or when the loop is destroyed).
    void spawn(task<void> work) {
        auto handle = work.release();
        spawned_.push(handle.promise(), this);
        schedule(handle);
    }

    /// What to do with an exception that escapes a spawned task. Without a handler, `run`
    /// rethrows the first one.
    void set_exception_handler(std::function<void(std::exception_ptr)> handler) {
        handler_ = std::move(handler);
    }

    /// Treats `failed` as an exception that escaped a spawned task: the handler gets it, or
    /// `run` rethrows it (the first one) at its next turn. A `scope` destroyed before it was
    /// joined hands its children's exception on this way.
    void report_exception(std::exception_ptr failed) noexcept {
        if (handler_) {
            handler_(failed);
        } else if (!pending_) {
            pending_ = failed;
        }
    }

    /// Makes `run` return (by throwing `operation_canceled`) at its next turn, if its task has not
    /// finished by then.
    void stop() noexcept { stopping_ = true; }

    /// Runs `fn` on the loop's thread at its next turn; safe from any thread (one lock, one
    /// eventfd write). May allocate (the queue, `fn`'s capture).
    void post(std::function<void()> fn) {
        posted_.push(std::move(fn), [this] { (void)engine_.wake(); });
    }

    /// Resumes `handle` at the loop's next turn.
    void schedule(std::coroutine_handle<> handle) { ready_.push_back(handle); }
    /// Takes `handle` out of the ready queue: its frame is being destroyed before its turn.
    void unschedule(std::coroutine_handle<> handle) noexcept { std::erase(ready_, handle); }

    // ---- the engine: what awaitable operations call ------------------------------------------

    /// True when the running task may go on after an operation that completed at once; false
    /// every `immediate_limit`-th time in a row, when it should yield (`schedule` itself).
    bool may_continue() noexcept {
        if (++streak_ < immediate_limit) {
            return true;
        }
        streak_ = 0;
        return false;
    }

    /// True when `until` had passed at the start of this turn of the loop (the clock is read
    /// once per turn, after the engine's wait). It lags the clock by the turn's work, so a
    /// deadline it calls passed has passed; one that passes during the turn ends its wait at the
    /// next turn, whose expiry reads the clock again. Saves a clock read per operation.
    [[nodiscard]] bool deadline_passed(const deadline& until) const noexcept {
        return until.at() <= turn_time_;
    }

    /// Waits for `op`'s readiness, deadline or stop. False when it cannot wait (the deadline has
    /// passed, a stop was asked for, another operation of the same direction is already waiting
    /// on the descriptor, or registration failed): `op.ended` says why.
    bool start_wait(detail::operation& op);

    /// Ends `op`'s wait without resuming it (its frame is being destroyed).
    void forget(detail::operation& op) noexcept { (void)withdraw(op); }

    /// True when the loop's engine completes operations itself (io_uring) rather than
    /// reporting readiness: an awaitable then submits its call instead of trying it first.
    [[nodiscard]] bool completes() const noexcept { return engine_.completes(); }
    /// True when the engine submits zero-copy sends itself (io_uring's IORING_OP_SEND_ZC, with
    /// its notification); else they are MSG_ZEROCOPY sends read back from the error queue.
    [[nodiscard]] bool sends_zero_copy() const noexcept { return engine_.sends_zero_copy(); }

    /// Makes `op`, which ended or could not start its wait while the kernel may still read its
    /// memory (`op.holds`, a zero-copy send), wait on, with neither deadline nor stop, until the
    /// kernel lets go: it is then resumed. Its io_uring notifications come as completions; else
    /// it waits as its descriptor's writer for EPOLLERR, its error queue's signal. When that
    /// registration fails, it waits here, blocking the thread (`settle`), and is scheduled.
    void hold(detail::operation& op);

    /// Waits, blocking the thread, until the kernel no longer reads `op`'s memory: its io_uring
    /// notifications, then (MSG_ZEROCOPY) poll(2) on its descriptor for the error queue and a
    /// try after each wakeup. For a zero-copy send whose frame goes away; `op` must not be
    /// waiting (`forget` it first), and its try must no longer send.
    void settle(detail::operation& op) noexcept;

    /// True when `fd`'s input is known to be empty: a stream receive on it came back short (or
    /// would have blocked) and no edge has come since, so trying again can only fail. The
    /// registration must be current: an edge is then certain to follow new data.
    [[nodiscard]] bool input_drained(int fd) const noexcept {
        return descriptors_.input_drained(fd);
    }
    /// Records that a stream receive on `fd` took everything there was (see `input_drained`).
    void note_drained(int fd) noexcept { descriptors_.note_drained(fd); }

    /// Ends every wait on descriptor `fd` with `std::errc::bad_file_descriptor`. netkit calls it
    /// itself when it closes a descriptor on this loop's thread (a socket's destructor, say); on
    /// another thread, call it on the loop before the descriptor closes.
    void cancel_waits_on(int fd) noexcept;

    /// Closes `source` (a socket or acceptor) after ending the waits on it.
    template <class Source>
    result<void> close(Source& source) noexcept {
        cancel_waits_on(source.native_handle());
        return source.close();
    }

    // ---- the queues of stream readers and `incoming` acceptors (io_uring) ----------------------

    /// True when `stream_reader`s receive through the engine's receive queues.
    [[nodiscard]] bool queues_receives() noexcept { return engine_.queues() != nullptr; }

    /// Makes `fd`'s one holder, a `stream_reader` (`what` received) or an `incoming`
    /// (`accepted`): its token, or `connection_already_in_progress` when another holds the
    /// descriptor. With the engine's queues for it, the token is the queue's.
    result<std::uint64_t> open_holder(int fd, detail::operation::queue_source what);
    /// Ends `fd`'s holder if `token` is still its own (the descriptor may have been closed and
    /// the number reused): its queue is closed, and what it held goes back (buffers to the
    /// ring, connections closed).
    void close_holder(int fd, std::uint64_t token) noexcept;
    /// True when `incoming` acceptors take connections from the engine's accept queues.
    [[nodiscard]] bool queues_accepts() noexcept { return engine_.accepts() != nullptr; }
    /// The next connection of `listener`'s accept queue (a descriptor, or -errno), none when it
    /// is empty; -EBADF for a closed queue.
    std::optional<int> take_connection(int listener);
    /// Connections held by accept queues (for tests).
    [[nodiscard]] std::size_t connections_held() noexcept {
        return engine_.accepts() != nullptr ? engine_.accepts()->held() : 0;
    }
    /// Copies from `fd`'s receive queue into `into`: the bytes, 0 at end of stream or -errno
    /// once the queue is read up to there, none when it is empty. A closed queue (its socket
    /// was closed) gives -EBADF.
    std::optional<int> take_received(int fd, std::span<std::byte> into) noexcept;
    /// Lends the unread bytes of the first buffer of `fd`'s receive queue (`lent`) until the
    /// queue's next take or lend; results as `take_received`'s.
    std::optional<int> lend_received(int fd, std::span<const std::byte>& lent) noexcept;
    /// Bytes in `fd`'s receive queue.
    [[nodiscard]] std::size_t received_unread(int fd) noexcept {
        detail::receive_queues* queues = engine_.queues();
        return queues != nullptr ? queues->buffered(fd) : 0;
    }
    /// Buffers held by receive queues, and the ring's size (for tests).
    [[nodiscard]] std::pair<std::uint32_t, std::uint32_t> receive_buffers_held() noexcept {
        detail::receive_queues* queues = engine_.queues();
        return queues != nullptr ? std::pair{queues->buffers_held(), queues->buffer_count()}
                                 : std::pair<std::uint32_t, std::uint32_t>{0, 0};
    }

    /// How many operations are waiting (for tests and statistics).
    [[nodiscard]] std::size_t waiting() const noexcept { return waits_.waiting(); }

private:
    using promise_base_ref = detail::promise_base&;

    // Registers `op` as its descriptor's reader or writer. The first wait on a file adds it
    // edge-triggered for both directions; later waits cost nothing. Edge-triggered is enough
    // because every operation tries its call before it waits: an edge that came while nobody
    // waited was for data that call found, or it is still queued in epoll for the next wait.
    result<void> watch(detail::operation& op);

    // An operation found its queue empty. An accept queue's multishot accept is armed if it is
    // not in flight; so is a receive queue's multishot receive, or, when the last one ran out
    // of buffers, the operation receives into its own buffer once, and the next wait tries the
    // ring again.
    result<void> want_queued(detail::operation& op) noexcept;

    // News of `fd`'s receive or accept queue: its reader takes what came, or waits on.
    void on_queue_news(int fd);

    static std::uint64_t completion_token(detail::operation& op) noexcept {
        return reinterpret_cast<std::uintptr_t>(&op) | detail::completion_bit;
    }

    result<void> submit(detail::operation& op) noexcept;

    // Ends `op`'s wait: its stop link, its role, its timer slot (a holding operation has none),
    // and a submission still in flight, which the engine cancels and waits for (the kernel must
    // be done with the frame's memory; a zero-copy send's notifications are counted, and waited
    // for by `hold` or `settle`). Returns that submission's result if it had finished after all.
    std::optional<int> withdraw(detail::operation& op) noexcept;

    // A submitted operation's completion: finished, or submitted again for what is left. A
    // zero-copy send's result may announce a notification, and the operation finishes only
    // once its last notification has come.
    void on_completion(std::uint64_t token, int result, std::uint32_t notice);

    // core/fd.hpp's observer: every close netkit makes. A wait on the descriptor on this thread's
    // loop ends (the socket it would touch is going away), and the number's epoch moves on.
    static void on_close(int fd) noexcept;

    // The engine may hold the file open (io_uring's poll and receive do): it must let go of it.
    void forget_registration(int fd) noexcept;

    static loop*& current_slot() noexcept {
        thread_local loop* instance = nullptr;
        return instance;
    }

    std::coroutine_handle<> finished(detail::promise_base& promise) noexcept override {
        spawned_.unlink(promise);
        std::exception_ptr failed = promise.exception();
        promise.handle().destroy();
        if (failed) {
            report_exception(failed);
        }
        return std::noop_coroutine();
    }

    // A submission that finished before its cancel counts instead of `why`: a cancel after
    // completion does nothing. An operation whose memory the kernel may still read (a
    // zero-copy send) is held until it does not; one already held keeps its outcome.
    void end_wait(detail::operation& op, std::error_code why) noexcept;

    // An edge on a registered descriptor: its reader tries again on input, end of stream,
    // hang-up or error, its writer on room, hang-up or error. Either may close the descriptor or
    // start another wait when resumed, so the entry is looked up again after each.
    void on_event(std::uint64_t token, std::uint32_t bits, std::uint32_t notice);

    void try_waiting(std::uint32_t number, std::uint32_t generation,
                     detail::operation* detail::descriptor_state::*role);

    void run_ready() {
        posted_.run();
        running_.swap(ready_);
        for (auto handle : running_) {
            streak_ = 0;
            handle.resume();
        }
        running_.clear();
        rethrow_pending();
    }

    // Waits for readiness until the earliest deadline (not at all when tasks are ready), then
    // resumes what became ready and what timed out.
    void poll() {
        const deadline until = ready_.empty() ? waits_.next() : deadline(deadline::clock::now());
        auto waited =
            engine_.wait(until, [this](std::uint64_t token, std::uint32_t bits,
                                       std::uint32_t notice) { on_event(token, bits, notice); });
        if (!waited) {
            throw operation_failed(waited.error());
        }
        turn_time_ = deadline::clock::now();
        waits_.expire(turn_time_, [this](detail::operation& op) {
            end_wait(op, make_error_code(errc::deadline_passed));
        });
        rethrow_pending();
    }

    void rethrow_pending() {
        if (pending_) {
            std::rethrow_exception(std::exchange(pending_, nullptr));
        }
    }

    detail::engine engine_;
    detail::deadline_slots waits_;
    deadline::clock::time_point turn_time_ = deadline::clock::now(); // see deadline_passed
    detail::descriptor_table descriptors_;
    std::vector<std::coroutine_handle<>> ready_;
    std::vector<std::coroutine_handle<>> running_;
    detail::task_list spawned_;
    std::function<void(std::exception_ptr)> handler_;
    std::exception_ptr pending_;
    unsigned streak_ = 0;
    std::uint32_t holders_ = 0; // readers and acceptors made without queues, for their tokens
    bool stopping_ = false;
    detail::post_queue posted_;
};

} // namespace netkit::async

#include <netkit/async/loop_waits.hpp> // the definitions of the members declared above
