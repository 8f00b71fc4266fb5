#pragma once

#include <netkit/async/operation.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/io/timer_queue.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace netkit::async::detail {

// The loop's waiting operations, one slot each, and their deadlines on one timer_queue.
//
// Timers are not cancelled: a slot keeps one entry, at its earliest deadline, and an entry that
// fires before the slot's current deadline schedules it again. So a deadline that moves later
// at each wait (an idle timeout) costs no heap entry, and the heap holds one per slot. Slots
// and the free list grow with the number of operations waiting at once, never per operation.
class deadline_slots {
public:
    // Gives `op` a slot (op.slot) and arms its deadline.
    void acquire(operation& op) {
        std::uint32_t index = 0;
        if (!free_.empty()) {
            index = free_.back();
            free_.pop_back();
        } else {
            index = static_cast<std::uint32_t>(slots_.size());
            slots_.emplace_back();
            free_.reserve(slots_.capacity());
        }
        slots_[index].op = &op;
        op.slot = index;
        arm(index);
    }

    void release(const operation& op) noexcept {
        slots_[op.slot].op = nullptr;
        free_.push_back(op.slot); // reserved in acquire: no allocation
    }

    [[nodiscard]] std::size_t waiting() const noexcept { return slots_.size() - free_.size(); }
    [[nodiscard]] deadline next() const noexcept { return timers_.next(); }

    // Calls `passed(op)` for each waiting operation whose deadline has passed by `now`.
    template <class Passed>
    void expire(deadline::clock::time_point now, Passed&& passed) {
        timers_.expire(now, [&](std::uint64_t token) {
            const auto [index, epoch] = slot_token::unpack(token);
            slot& entry = slots_[index];
            if (epoch != entry.timer_epoch) {
                return; // replaced by an earlier entry
            }
            entry.armed = deadline::clock::time_point::max();
            if (entry.op == nullptr || entry.op->until.is_never()) {
                return;
            }
            if (entry.op->until.at() <= now) {
                passed(*entry.op);
            } else {
                arm(index);
            }
        });
    }

private:
    struct slot {
        operation* op = nullptr;
        std::uint32_t timer_epoch = 0; // of timer entries: only the newest one counts
        deadline::clock::time_point armed = deadline::clock::time_point::max();
    };

    void arm(std::uint32_t index) {
        slot& entry = slots_[index];
        const deadline until = entry.op->until;
        if (until.is_never() || entry.armed <= until.at()) {
            return;
        }
        entry.armed = until.at();
        ++entry.timer_epoch;
        (void)timers_.schedule(until, slot_token{index, entry.timer_epoch}.pack());
    }

    timer_queue timers_;
    std::vector<slot> slots_;
    std::vector<std::uint32_t> free_;
};

} // namespace netkit::async::detail
