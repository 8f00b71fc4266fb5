#pragma once

#include <netkit/async/accept_queues.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/receive_queues.hpp>
#include <netkit/async/uring_checks.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/sys/epoll.hpp>
#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_buffer_ring.hpp>
#include <netkit/sys/io_uring_ops.hpp>
#include <netkit/sys/io_uring_probe.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <linux/io_uring.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

namespace netkit::async::detail {

namespace uring = netkit::detail::uring;

/// The loop's engine over io_uring, for readiness: a descriptor's registration is a multishot
/// IORING_OP_POLL_ADD (every wakeup of the file posts a completion, as an edge-triggered epoll
/// registration reports an edge), and each wait of the loop is one io_uring_enter that also
/// submits what was prepared since the last. Same interface as `epoll_engine`.
///
/// A poll holds a reference to its file: closing the descriptor does not end it, and the
/// socket would stay open (no FIN) while it lasts. So `closing` prepares its cancellation,
/// which the next io_uring_enter submits, before the loop's next wait.
class uring_engine {
public:
    static constexpr std::string_view name = "io_uring";
    // recv and send of one buffer, and sendmsg/recvmsg of one message, are submitted to the ring
    // and finish there (`submit`).
    static constexpr bool completes = true;

    // Sets up the ring (SINGLE_ISSUER with DEFER_TASKRUN where the kernel has them), checks
    // that the kernel has the opcodes the engine uses, and arms the wake eventfd with a
    // multishot poll, which also proves that multishot polls work (Linux 5.13). Errors are
    // those a caller falls back to epoll on: EPERM (forbidden), ENOSYS (absent or too old),
    // ENOMEM (locked memory). The buffer ring of `receive_queues` is made if it can be: without
    // it, stream readers receive as other operations do.
    static result<uring_engine> open(std::uint32_t receive_buffers = 512,
                                     std::uint32_t receive_buffer_size = 16384) noexcept {
        uring::ring_options options;
        options.submission_entries = 256;
        options.completion_entries = 16384; // every multishot poll may have one waiting
        auto ring = uring::ring::create(options);
        if (!ring) {
            return failure{ring.error()};
        }
        auto probe = uring::probe::of(*ring);
        if (!probe) {
            return failure{probe.error()};
        }
        if (!probe->supports(IORING_OP_POLL_ADD) || !probe->supports(IORING_OP_ASYNC_CANCEL)) {
            return netkit::detail::errc_failure(std::errc::function_not_supported,
                                                "io_uring engine (opcodes)");
        }
        auto wakeup = netkit::detail::eventfd_open();
        if (!wakeup) {
            return failure{wakeup.error()};
        }
        uring_engine engine(std::move(*ring), std::move(*wakeup));
        if (auto armed = engine.arm_wake(); !armed) {
            return failure{armed.error()};
        }
        if (auto proved = prove_multishot_poll(engine.ring_, engine.wake_.get(), wake_token);
            !proved) {
            return failure{proved.error()};
        }
        engine.keeps_timer_ = probe->supports(IORING_OP_TIMEOUT);
        engine.sends_zero_copy_ = probe->supports(IORING_OP_SEND_ZC) &&
                                  proves_send_zero_copy(engine.ring_, probe_token, engine.queue_);
        // Multishot accept came with Linux 5.19, as IORING_OP_SOCKET did: a kernel that has the
        // opcode takes the flag.
        if (probe->supports(IORING_OP_ACCEPT) && probe->supports(IORING_OP_SOCKET)) {
            engine.accepts_.emplace();
        }
        if (receive_buffers != 0 && probe->supports(IORING_OP_RECV)) {
            if (auto buffers = uring::buffer_ring::create(engine.ring_, 0, receive_buffers,
                                                          receive_buffer_size)) {
                engine.queues_.emplace(std::move(*buffers));
            }
        }
        return engine;
    }

    result<void> watch(int fd, std::uint64_t token) noexcept {
        auto entry = next_sqe();
        if (!entry) {
            return failure{entry.error()};
        }
        uring::prepare_poll_add(**entry, fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, true, token);
        return {};
    }

    void closing(int /*fd*/, std::uint64_t token) noexcept {
        if (auto entry = next_sqe()) {
            uring::prepare_cancel(**entry, token, 0, ignored_token);
        }
    }

    // Completions are copied out of the ring before any is dispatched: a dispatched one may
    // resume a task that cancels another operation, and that cancel reaps the ring itself.
    template <class OnEvent>
    result<void> wait(deadline until, OnEvent&& on_event) {
        if (queues_) {
            queues_->publish();
        }
        if (queue_.empty()) {
            auto entered = ring_.submit_and_wait(1, blocking_wait(until));
            // EBUSY/EAGAIN: the kernel wants completions reaped before it takes more.
            if (!entered && entered.error() != std::errc::device_or_resource_busy &&
                entered.error() != std::errc::resource_unavailable_try_again) {
                return failure{entered.error()};
            }
        } else if (auto submitted = ring_.submit(); !submitted) { // cancels queued these
            return failure{submitted.error()};
        }
        reap();
        while (next_ < queue_.size()) {
            const uring::cqe done = queue_[next_++];
            dispatch(done, on_event);
        }
        queue_.clear();
        next_ = 0;
        if (std::exchange(wake_ended_, false)) {
            return arm_wake();
        }
        return {};
    }

    result<void> wake() const noexcept { return netkit::detail::eventfd_signal(wake_.get()); }

    // True when the kernel has IORING_OP_SEND_ZC with IORING_SEND_ZC_REPORT_USAGE (Linux 6.2):
    // zero-copy sends are then submitted as such.
    [[nodiscard]] bool sends_zero_copy() const noexcept { return sends_zero_copy_; }

    // The operation itself, as one recv, send, zero-copy send, recvmsg or sendmsg on the ring
    // (SENDMSG/RECVMSG came with 5.3, before the multishot poll `open` requires); its
    // completion is reported under `token` (bit 63 set) with the result as the bits, and so is a
    // zero-copy send's notification, which says whether the kernel copied after all.
    result<void> submit(int fd, const submission& what, std::uint64_t token) noexcept {
        auto entry = next_sqe();
        if (!entry) {
            return failure{entry.error()};
        }
        if (what.what == submission::kind::receive_message) {
            uring::prepare_recvmsg(**entry, fd, *what.message, what.flags, token);
        } else if (what.what == submission::kind::send_message) {
            uring::prepare_sendmsg(**entry, fd, *what.message, what.flags, token);
        } else if (what.what == submission::kind::receive) {
            uring::prepare_recv(**entry, fd, {static_cast<std::byte*>(what.data), what.size},
                                what.flags, token);
        } else if (what.what == submission::kind::send_zero_copy) {
            uring::prepare_send_zc(**entry, fd,
                                   {static_cast<const std::byte*>(what.data), what.size},
                                   what.flags, IORING_SEND_ZC_REPORT_USAGE, token);
        } else {
            uring::prepare_send(**entry, fd, {static_cast<const std::byte*>(what.data), what.size},
                                what.flags, token);
        }
        return {};
    }

    // Cancels the submission made under `token` and waits for its result, so that the memory
    // it reads or writes (in a coroutine frame that is going away) is never touched again; a
    // zero-copy send's buffer is the kernel's until its notification, which this does not wait
    // for (`settle` does). Returns that result, -ECANCELED when the cancel stopped it, and
    // whether a notification follows; none when the ring is broken. Completions reaped
    // meanwhile are queued for dispatch, in order, by the `wait` under way or the next one.
    std::optional<completion> cancel(std::uint64_t token) noexcept {
        if (std::optional<completion> queued = take_queued(token)) {
            return queued;
        }
        if (auto entry = next_sqe()) {
            uring::prepare_cancel(**entry, token, 0, ignored_token);
        }
        for (;;) {
            if (auto entered = ring_.submit_and_wait(1, deadline::never());
                !entered && entered.error() != std::errc::device_or_resource_busy &&
                entered.error() != std::errc::resource_unavailable_try_again) {
                return std::nullopt; // the ring is broken: nothing more can be learned
            }
            reap();
            if (std::optional<completion> queued = take_queued(token)) {
                return queued;
            }
        }
    }

    // Waits until `count` notifications reported under `token` have come, taking those reaped
    // and not yet dispatched first, and hands each one's usage bits to `on_usage`; they are then
    // dispatched as nothing. For a zero-copy send whose frame goes away while the kernel may
    // still read its buffer: it blocks the thread until the kernel lets go.
    template <class OnUsage>
    void settle(std::uint64_t token, std::uint32_t count, OnUsage&& on_usage) noexcept {
        std::size_t scanned = next_;
        for (;;) {
            for (; scanned < queue_.size() && count > 0; ++scanned) {
                uring::cqe& done = queue_[scanned];
                if (done.user_data == token && uring::is_notification(done)) {
                    done.user_data = ignored_token;
                    on_usage(done.res);
                    --count;
                }
            }
            if (count == 0) {
                return;
            }
            if (auto entered = ring_.submit_and_wait(1, deadline::never());
                !entered && entered.error() != std::errc::device_or_resource_busy &&
                entered.error() != std::errc::resource_unavailable_try_again) {
                return; // the ring is broken: nothing more can be learned
            }
            reap();
        }
    }

    // The queues stream readers receive through, or null when the engine has no buffer ring.
    receive_queues* queues() noexcept { return queues_ ? &*queues_ : nullptr; }

    // Arms the multishot receive of `fd`'s open queue, into the buffer ring.
    result<void> arm_receive(int fd) noexcept {
        auto entry = next_sqe();
        if (!entry) {
            return failure{entry.error()};
        }
        uring::prepare_recv_multishot(**entry, fd, queues_->group(), 0, *queues_->token_of(fd));
        queues_->armed(fd);
        return {};
    }

    // Closes `fd`'s queue if `token` is its own, cancelling its receive: a receive holds the
    // file open, as a poll does.
    void close_receive(int fd, std::uint64_t token) noexcept {
        if (queues_ && queues_->close(fd, token)) {
            if (auto entry = next_sqe()) {
                uring::prepare_cancel(**entry, token, 0, ignored_token);
            }
        }
    }

    // The queues `incoming` acceptors take connections from, or null without multishot accept.
    accept_queues* accepts() noexcept { return accepts_ ? &*accepts_ : nullptr; }

    // Arms the multishot accept of `listener`'s open queue: its connections are opened
    // non-blocking and close-on-exec, as `async::accept`'s are.
    result<void> arm_accept(int listener) noexcept {
        auto entry = next_sqe();
        if (!entry) {
            return failure{entry.error()};
        }
        uring::prepare_accept_multishot(**entry, listener, SOCK_CLOEXEC | SOCK_NONBLOCK,
                                        *accepts_->token_of(listener));
        accepts_->armed(listener);
        return {};
    }

    // Closes `listener`'s queue if `token` is its own, cancelling its accept.
    void close_accept(int listener, std::uint64_t token) noexcept {
        if (accepts_ && accepts_->close(listener, token)) {
            if (auto entry = next_sqe()) {
                uring::prepare_cancel(**entry, token, 0, ignored_token);
            }
        }
    }

private:
    static constexpr std::uint64_t wake_token = std::numeric_limits<std::uint64_t>::max();
    static constexpr std::uint64_t ignored_token = wake_token - 1;
    static constexpr std::uint64_t probe_token = wake_token - 2;
    // The loop's timer requests: bits 61 to 63 and no other of the upper half (no operation,
    // queue, readiness or reserved token has that), and a 31-bit generation.
    static constexpr std::uint64_t timer_mask = std::uint64_t{7} << 61U;

    uring_engine(uring::ring ring, file_descriptor wakeup)
        : ring_(std::move(ring)),
          wake_(std::move(wakeup)) {
        queue_.reserve(1024);
    }

    // Moves what the CQ ring holds to the queue (which grows only past 1024 at once).
    void reap() {
        ring_.for_each_completion([&](const uring::cqe& done) { queue_.push_back(done); });
    }

    // `token`'s result if it is queued and not dispatched yet; it is then dispatched as
    // nothing. Notifications are not results: they stay for dispatch (or `settle`).
    std::optional<completion> take_queued(std::uint64_t token) noexcept {
        for (std::size_t i = next_; i < queue_.size(); ++i) {
            if (queue_[i].user_data == token && !uring::is_notification(queue_[i])) {
                queue_[i].user_data = ignored_token;
                return completion{queue_[i].res, uring::has_more(queue_[i])};
            }
        }
        return std::nullopt;
    }

    template <class OnEvent>
    void dispatch(const uring::cqe& done, OnEvent& on_event) {
        const bool more = (done.flags & IORING_CQE_F_MORE) != 0;
        if (done.user_data == wake_token) {
            (void)netkit::detail::eventfd_drain(wake_.get());
            wake_ended_ = wake_ended_ || !more;
            return;
        }
        if (done.user_data == ignored_token) {
            return;
        }
        if ((done.user_data >> 32U) == (timer_mask >> 32U)) { // the loop's timer: it only wakes
            if (static_cast<std::uint32_t>(done.user_data) == timer_generation_) {
                timer_at_ = deadline::clock::time_point::max();
            }
            return;
        }
        if ((done.user_data & completion_bit) != 0) { // an operation's result or notification
            std::uint32_t notice = 0;
            if (uring::is_notification(done)) {
                notice = notice_notification;
            } else if (more) {
                notice = notice_more;
            }
            on_event(done.user_data, static_cast<std::uint32_t>(done.res), notice);
            return;
        }
        if ((done.user_data & stream_bit) != 0) { // a descriptor's multishot receive
            file_multishot(*queues_, done, on_event);
            return;
        }
        if ((done.user_data & accept_bit) != 0) { // a listener's multishot accept
            file_multishot(*accepts_, done, on_event);
            return;
        }
        if (done.res == -ECANCELED) {
            return;
        }
        const std::uint32_t bits =
            done.res < 0 ? std::uint32_t{EPOLLERR} : static_cast<std::uint32_t>(done.res);
        on_event(done.user_data, more ? bits : bits | registration_ended, 0);
    }

    // A multishot receive's or accept's completion, filed in its queue: a queue that has reached
    // its limit has the request cancelled, and news for a queue still open goes to the loop.
    template <class Queues, class OnEvent>
    void file_multishot(Queues& queues, const uring::cqe& done, OnEvent& on_event) {
        const typename Queues::news filed = queues.file(done);
        if (filed == Queues::news::too_full) {
            if (auto entry = next_sqe()) {
                uring::prepare_cancel(**entry, done.user_data, 0, ignored_token);
                queues.stopping(static_cast<int>(done.user_data & 0xffff'ffffU));
            }
        }
        if (filed != Queues::news::stale) {
            on_event(done.user_data, 0, 0);
        }
    }

    // A free SQE; when every one is prepared and not yet submitted, submits them first.
    result<uring::sqe*> next_sqe() noexcept {
        if (uring::sqe* entry = ring_.next_sqe()) {
            return entry;
        }
        if (auto submitted = ring_.submit(); !submitted) {
            return failure{submitted.error()};
        }
        if (uring::sqe* entry = ring_.next_sqe()) {
            return entry;
        }
        return netkit::detail::errc_failure(std::errc::device_or_resource_busy,
                                            "io_uring engine (submission queue full)");
    }

    // The deadline a wait hands io_uring_enter: none while the ring holds a timeout request at
    // `until` or earlier, after preparing one if not (IORING_OP_TIMEOUT, absolute on
    // CLOCK_MONOTONIC, steady_clock's clock). A timeout on the enter would arm and cancel a kernel
    // timer at every wait that blocks, while the loop's earliest deadline (an idle timeout, moved
    // later at each request) seldom comes nearer. A request left behind by a nearer deadline
    // wakes the loop once, for nothing. A passed deadline is handed over: the enter won't block.
    deadline blocking_wait(deadline until) noexcept {
        if (!keeps_timer_ || until.is_never()) {
            return until;
        }
        if (until.at() >= timer_at_) {
            return deadline::never(); // the ring's timer wakes the loop by then
        }
        if (until.at() <= deadline::clock::now()) {
            return until;
        }
        auto entry = next_sqe();
        if (!entry) {
            return until;
        }
        timer_spec_ = uring::to_kernel_timespec( // the kernel reads it at submission
            std::chrono::ceil<std::chrono::nanoseconds>(until.at().time_since_epoch()));
        timer_generation_ = (timer_generation_ + 1) & 0x7fff'ffffU;
        uring::prepare_timeout(**entry, timer_spec_, 0, IORING_TIMEOUT_ABS,
                               timer_mask | timer_generation_);
        timer_at_ = until.at();
        return deadline::never();
    }

    result<void> arm_wake() noexcept {
        auto entry = next_sqe();
        if (!entry) {
            return failure{entry.error()};
        }
        uring::prepare_poll_add(**entry, wake_.get(), POLLIN, true, wake_token);
        return {};
    }

    uring::ring ring_;
    std::optional<receive_queues> queues_; // unregistered before the ring closes
    std::optional<accept_queues> accepts_;
    file_descriptor wake_;
    std::vector<uring::cqe> queue_; // reaped, not yet dispatched from `next_` on
    std::size_t next_ = 0;
    bool wake_ended_ = false;
    bool sends_zero_copy_ = false;
    bool keeps_timer_ = false; // IORING_OP_TIMEOUT is there (blocking_wait)
    deadline::clock::time_point timer_at_ = deadline::clock::time_point::max(); // in flight
    uring::kernel_timespec timer_spec_{};
    std::uint32_t timer_generation_ = 0; // the newest timer request's
};

} // namespace netkit::async::detail
