#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/trivial_vector.hpp>

#include <cstddef>
#include <cstdint>
#include <system_error>

namespace netkit {

/// Timers for a readiness loop (idle and request deadlines, one per connection or more) without a
/// thread or a descriptor per timer: a min-heap of (time, token) whose earliest entry is the
/// deadline the loop passes to `poller::wait`. When the wait returns, `expire` hands over every
/// timer that is due.
///
/// Why a heap and not a timerfd per connection: a timerfd is a descriptor per connection and a
/// `timerfd_settime` system call at every reset, and an idle deadline is reset at every read. Here
/// scheduling is a heap push in user space and the only system call is the `epoll_wait` the loop
/// makes anyway; its timeout, rounded up to whole milliseconds, is what makes a timer fire late
/// (by less than a millisecond plus scheduling), never early.
///
/// Timers are not cancelled. A handler checks that its token still names the same connection (a
/// `slot_token` generation) and that the connection's own deadline is due; if the deadline moved
/// later (the connection was active), it schedules that instead. So a live connection has one
/// entry in the heap however often its deadline moves, and resetting an idle deadline costs a
/// store, not a heap operation. A closed connection's entry stays until it is due, so under churn
/// the heap holds about (connections opened per second) x (idle time) entries, 24 bytes each.
/// Timers due at the same time fire in the order they were scheduled.
///
/// @par Example
/// @code
/// timers.schedule(conn.idle_until, token).value();
/// auto ready = poller.wait(events, timers.next()).value();
/// timers.expire(netkit::deadline::clock::now(), [&](std::uint64_t token) { on_timer(token); });
/// @endcode
class timer_queue {
public:
    /// The clock of every timer: `deadline`'s steady clock.
    using clock = deadline::clock;

    /// Room for `count` timers, so that `schedule` does not allocate until there are more.
    result<void> reserve(std::size_t count) noexcept {
        if (const std::errc failed = heap_.reserve(count); failed != std::errc{}) {
            return detail::errc_failure(failed, "timer_queue reserve");
        }
        return {};
    }

    /// Adds a timer that fires at `when` with `token`. A timer at `deadline::never()` is not
    /// kept (it would never fire). Out of memory: `std::errc::not_enough_memory`.
    result<void> schedule(deadline when, std::uint64_t token) noexcept {
        if (when.is_never()) {
            return {};
        }
        if (const std::errc failed = heap_.push_back(entry{when.at(), next_sequence_, token});
            failed != std::errc{}) {
            return detail::errc_failure(failed, "timer_queue schedule");
        }
        ++next_sequence_;
        sift_up(heap_.size() - 1);
        return {};
    }

    /// The earliest timer's deadline, `deadline::never()` when there is none: the deadline for
    /// `poller::wait`.
    [[nodiscard]] deadline next() const noexcept {
        return heap_.empty() ? deadline::never() : deadline(heap_.front().at);
    }

    /// Takes the timers due at `now` (whose time is not after it) out of the queue, earliest
    /// first, and calls `on_expiry(token)` for each; returns how many. `on_expiry` may
    /// `schedule` again; at most as many timers as were queued at the call are taken, so a
    /// handler that keeps scheduling for `now` cannot keep this loop going for ever.
    template <class OnExpiry>
    std::size_t expire(clock::time_point now, OnExpiry&& on_expiry) {
        const std::size_t limit = heap_.size();
        std::size_t taken = 0;
        while (taken < limit && !heap_.empty() && heap_.front().at <= now) {
            const std::uint64_t token = heap_.front().token;
            heap_.front() = heap_.back();
            heap_.pop_back();
            sift_down(0);
            ++taken;
            on_expiry(token);
        }
        return taken;
    }

    /// How many timers are pending.
    [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
    /// True when no timer is pending.
    [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
    /// Drops every timer.
    void clear() noexcept { heap_.clear(); }

private:
    // The sequence number breaks ties between equal times, so that the order of expiry is the
    // order of scheduling whatever path an entry took through the heap.
    struct entry {
        clock::time_point at;
        std::uint64_t sequence;
        std::uint64_t token;
    };
    static bool earlier(const entry& a, const entry& b) noexcept {
        return a.at < b.at || (a.at == b.at && a.sequence < b.sequence);
    }

    // A binary min-heap: every entry is no later than its children, heap_[(i - 1) / 2] being the
    // parent of heap_[i].
    void sift_up(std::size_t hole) noexcept {
        const entry moving = heap_[hole];
        while (hole > 0) {
            const std::size_t parent = (hole - 1) / 2;
            if (!earlier(moving, heap_[parent])) {
                break;
            }
            heap_[hole] = heap_[parent];
            hole = parent;
        }
        heap_[hole] = moving;
    }
    void sift_down(std::size_t hole) noexcept {
        const std::size_t size = heap_.size();
        if (hole >= size) {
            return;
        }
        const entry moving = heap_[hole];
        for (std::size_t child = 2 * hole + 1; child < size; child = 2 * hole + 1) {
            if (child + 1 < size && earlier(heap_[child + 1], heap_[child])) {
                ++child;
            }
            if (!earlier(heap_[child], moving)) {
                break;
            }
            heap_[hole] = heap_[child];
            hole = child;
        }
        heap_[hole] = moving;
    }

    detail::trivial_vector<entry> heap_;
    std::uint64_t next_sequence_ = 0;
};

} // namespace netkit
