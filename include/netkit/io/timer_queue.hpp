#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
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
/// the heap holds about (connections opened per second) x (idle time) entries, 16 bytes each.
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
        if (const std::errc failed = heap_.push_back(entry{when.at(), token});
            failed != std::errc{}) {
            return detail::errc_failure(failed, "timer_queue schedule");
        }
        detail::heap_push(heap_.data(), heap_.size(), later);
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
            detail::heap_pop(heap_.data(), heap_.size(), later);
            const std::uint64_t token = heap_.back().token;
            heap_.pop_back();
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
    struct entry {
        clock::time_point at;
        std::uint64_t token;
    };
    // The heap keeps the greatest first (as std::push_heap); "greater is later" keeps the earliest
    // first.
    static bool later(const entry& a, const entry& b) noexcept { return a.at > b.at; }

    detail::trivial_vector<entry> heap_;
};

} // namespace netkit
