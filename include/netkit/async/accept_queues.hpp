#pragma once

#include <netkit/core/fd.hpp>
#include <netkit/sys/io_uring_abi.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <linux/io_uring.h>

namespace netkit::async::detail {

namespace uring = netkit::detail::uring;

/// Set in the token of a listener's multishot accept (bit 63: an operation's own submission,
/// bit 62: a multishot receive).
inline constexpr std::uint64_t accept_bit = std::uint64_t{1} << 61U;

/// The connections that a completion engine's multishot accepts have taken and nobody has
/// accepted yet, one queue per listener that an `incoming` holds. Listeners are few, so the
/// queues are a short list searched in turn.
///
/// At `limit` descriptors a queue's accept is cancelled (the kernel's backlog takes the rest, as
/// with no accept posted) and armed again once the queue is empty. One wakeup of a multishot
/// accept may take the whole backlog before the cancel lands, so the queue grows past the limit
/// rather than drop a connection; it keeps its capacity, and steady operation allocates nothing.
/// A closed queue closes what it held, and a completion that names a closed or reopened queue
/// closes its descriptor at once: no connection is leaked.
class accept_queues {
public:
    static constexpr std::size_t limit = 64;

    /// What a completion did to its queue.
    enum class news : unsigned char {
        stale,   // for a closed or reopened queue: its descriptor closed
        arrived, // a connection or an error for the acceptor; the accept goes on
        stopped, // the same, and the accept has ended (armed again when wanted)
        too_full // a connection, and the queue is full: stop the accept
    };

    /// Opens `listener`'s queue (empty, not armed) and returns the token its accepts complete
    /// under.
    std::uint64_t open(int listener) {
        queue* q = find(listener);
        if (q == nullptr) {
            q = &queues_.emplace_back();
            q->listener = listener;
        }
        drop(*q);
        q->generation = (q->generation + 1) & generation_mask;
        q->open = true;
        q->armed = false;
        q->stopping = false;
        return token(*q);
    }

    /// Closes `listener`'s queue if `token` is still its own, closing the connections it held.
    /// Returns true when its accept is in flight, which the caller then cancels.
    bool close(int listener, std::uint64_t token) noexcept {
        queue* q = find(listener);
        if (q == nullptr || !q->open || this->token(*q) != token) {
            return false;
        }
        drop(*q);
        q->open = false;
        q->generation = (q->generation + 1) & generation_mask;
        const bool in_flight = q->armed && !q->stopping;
        q->armed = false;
        q->stopping = false;
        return in_flight;
    }

    [[nodiscard]] std::optional<std::uint64_t> token_of(int listener) const noexcept {
        const queue* q = find(listener);
        if (q == nullptr || !q->open) {
            return std::nullopt;
        }
        return token(*q);
    }

    /// True when `listener`'s acceptor, finding the queue empty, should have an accept armed.
    [[nodiscard]] bool wants_accept(int listener) const noexcept {
        const queue* q = find(listener);
        return q != nullptr && q->open && !q->armed;
    }
    void armed(int listener) noexcept {
        queue* q = find(listener);
        q->armed = true;
        q->stopping = false;
    }
    void stopping(int listener) noexcept { find(listener)->stopping = true; }

    /// Files a completion of a multishot accept.
    news file(const uring::cqe& done) {
        const auto listener = static_cast<int>(done.user_data & 0xffff'ffffU);
        const auto generation =
            static_cast<std::uint32_t>((done.user_data >> 32U) & generation_mask);
        queue* q = find(listener);
        if (q == nullptr || !q->open || q->generation != generation) {
            if (done.res >= 0) {
                file_descriptor unwanted(done.res);
            }
            return news::stale;
        }
        const bool more = (done.flags & IORING_CQE_F_MORE) != 0;
        if (!more) {
            q->armed = false;
            q->stopping = false;
        }
        if (done.res == -ECANCELED) {
            return more ? news::arrived : news::stopped;
        }
        push(*q, done.res); // a connection, or an error for the next accept to report
        if (more && q->entries.size() - q->head >= limit && !q->stopping) {
            return news::too_full;
        }
        return more ? news::arrived : news::stopped;
    }

    /// The next connection's descriptor, or an accept's error (-errno), or none while the queue
    /// is empty.
    std::optional<int> take(int listener) noexcept {
        queue* q = find(listener);
        if (q == nullptr || !q->open) {
            return -EBADF;
        }
        if (q->head == q->entries.size()) {
            return std::nullopt;
        }
        const int next = q->entries[q->head++];
        if (q->head == q->entries.size()) {
            q->entries.clear(); // keeps its capacity
            q->head = 0;
        }
        return next;
    }

    /// Connections queued over every listener (for tests).
    [[nodiscard]] std::size_t held() const noexcept {
        std::size_t total = 0;
        for (const queue& q : queues_) {
            total += q.open ? q.entries.size() - q.head : 0;
        }
        return total;
    }

private:
    static constexpr std::uint32_t generation_mask = 0x1fff'ffffU; // bits 61 to 63 are taken

    struct queue {
        int listener = -1;
        std::uint32_t generation = 0;
        std::vector<int> entries; // descriptors, or -errno, from `head` on
        std::size_t head = 0;
        bool open = false;
        bool armed = false;
        bool stopping = false;
    };

    static std::uint64_t token(const queue& q) noexcept {
        return accept_bit | (std::uint64_t{q.generation} << 32U) |
               static_cast<std::uint32_t>(q.listener);
    }
    [[nodiscard]] queue* find(int listener) noexcept {
        for (queue& q : queues_) {
            if (q.listener == listener) {
                return &q;
            }
        }
        return nullptr;
    }
    [[nodiscard]] const queue* find(int listener) const noexcept {
        return const_cast<accept_queues*>(this)->find(listener); // NOLINT: the same lookup
    }

    static void push(queue& q, int entry) {
        if (q.entries.capacity() == 0) {
            q.entries.reserve(limit);
        }
        q.entries.push_back(entry);
    }
    static void drop(queue& q) noexcept {
        for (std::size_t i = q.head; i < q.entries.size(); ++i) {
            if (q.entries[i] >= 0) {
                file_descriptor unwanted(q.entries[i]);
            }
        }
        q.entries.clear();
        q.head = 0;
    }

    std::vector<queue> queues_;
};

} // namespace netkit::async::detail
