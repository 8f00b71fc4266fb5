#pragma once

#include <netkit/sys/io_uring_abi.hpp>
#include <netkit/sys/io_uring_buffer_ring.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <linux/io_uring.h>

namespace netkit::async::detail {

namespace uring = netkit::detail::uring;

/// Set in the token of a descriptor's multishot receive (bit 63 marks an operation's own
/// submission; readiness tokens stay below 2^62).
inline constexpr std::uint64_t stream_bit = std::uint64_t{1} << 62U;

/// What the multishot receives of a completion engine have put into its provided buffer ring and
/// nobody has read yet, one queue per descriptor, in the order the kernel filled the buffers.
///
/// A queue is open while a `stream_reader` holds its descriptor. The kernel keeps receiving into
/// the ring while the reader is away, so a queue may hold several buffers; once it holds
/// `buffer_limit` of them its receive is stopped (the socket's own buffer then takes the
/// backpressure, as it would with no receive posted) and armed again when the reader has caught
/// up. An idle connection holds no buffer.
///
/// A buffer goes back to the ring at the engine's next wait after its last byte is copied out
/// (one store for all of them), and every buffer of a completion that names a closed or reopened
/// queue (a late one: a cancel does not stop the completions already made) goes back at once.
class receive_queues {
public:
    /// A queue may hold this many buffers before its receive is stopped.
    static constexpr std::uint32_t buffer_limit = 16;

    explicit receive_queues(uring::buffer_ring ring)
        : ring_(std::move(ring)),
          links_(ring_.count()) {}

    /// What a completion did to its queue.
    enum class news : unsigned char {
        stale,   // for a closed or reopened queue: dropped
        arrived, // data, an end or an error for the reader; the receive goes on
        stopped, // the same, and the receive has ended (armed again when wanted)
        too_full // data, and the queue has reached its limit: stop the receive
    };

    /// One outcome of `take`: bytes copied, 0 for the end of the stream, or -errno.
    using taken = std::optional<int>;

    [[nodiscard]] std::uint16_t group() const noexcept { return ring_.group(); }

    /// Opens `fd`'s queue (empty, not armed) and returns the token its receives complete under.
    std::uint64_t open(int fd) {
        queue& q = of(fd);
        drop(q);
        q = queue{.generation = (q.generation + 1) & generation_mask};
        q.open = true;
        return token(fd, q);
    }

    /// Closes `fd`'s queue if `token` is still its own: what it holds goes back to the ring.
    /// Returns true when its receive is in flight, which the caller then cancels.
    bool close(int fd, std::uint64_t token) noexcept {
        queue* q = find(fd);
        if (q == nullptr || !q->open || this->token(fd, *q) != token) {
            return false;
        }
        drop(*q);
        q->open = false;
        q->generation = (q->generation + 1) & generation_mask; // later completions are stale
        return std::exchange(q->armed, false) && !std::exchange(q->stopping, false);
    }

    /// The token of `fd`'s open queue, if it has one.
    [[nodiscard]] std::optional<std::uint64_t> token_of(int fd) const noexcept {
        const queue* q = find(fd);
        if (q == nullptr || !q->open) {
            return std::nullopt;
        }
        return token(fd, *q);
    }

    /// True when `fd`'s reader, finding its queue empty, should have a receive armed: the queue
    /// is open, has not ended, and no receive is in flight. `starved` says the last one ran out
    /// of buffers; the reader then receives into its own buffer once instead.
    [[nodiscard]] bool wants_receive(int fd) const noexcept {
        const queue* q = find(fd);
        return q != nullptr && q->open && !q->armed && q->ending == open_stream;
    }
    [[nodiscard]] bool starved(int fd) const noexcept {
        const queue* q = find(fd);
        return q != nullptr && q->starved;
    }
    void armed(int fd) noexcept {
        queue& q = *find(fd);
        q.armed = true;
        q.stopping = false;
        q.starved = false;
    }
    void stopping(int fd) noexcept { find(fd)->stopping = true; }
    // The starved reader was given a receive of its own: the next wait tries the ring again.
    void fed(int fd) noexcept { find(fd)->starved = false; }

    /// Files a completion of a multishot receive.
    news file(const uring::cqe& done) noexcept {
        const int fd = static_cast<int>(done.user_data & 0xffff'ffffU);
        const auto generation =
            static_cast<std::uint32_t>((done.user_data >> 32U) & generation_mask);
        const bool has_buffer = (done.flags & IORING_CQE_F_BUFFER) != 0;
        queue* q = find(fd);
        if (q == nullptr || !q->open || q->generation != generation) {
            if (has_buffer) {
                ring_.give_back(uring::buffer_id(done));
            }
            return news::stale;
        }
        const bool more = (done.flags & IORING_CQE_F_MORE) != 0;
        if (!more) {
            q->armed = false;
            q->stopping = false;
        }
        if (done.res > 0 && has_buffer) {
            append(*q, uring::buffer_id(done), static_cast<std::uint32_t>(done.res));
            if (more && q->buffers >= buffer_limit && !q->stopping) {
                return news::too_full;
            }
        } else if (has_buffer) {
            ring_.give_back(uring::buffer_id(done));
        }
        if (done.res == 0) {
            q->ending = 0;
        } else if (done.res == -ENOBUFS) {
            q->starved = true;
        } else if (done.res < 0 && done.res != -ECANCELED) {
            q->ending = done.res;
        }
        return more ? news::arrived : news::stopped;
    }

    /// Copies what `fd`'s queue holds into `into`, up to its size: the bytes copied, or else the
    /// end of the stream (0) or its error (-errno) once everything before it has been read, or
    /// none while the queue is empty and its stream goes on.
    taken take(int fd, std::span<std::byte> into) noexcept {
        taken instead;
        queue* q = readable(fd, instead);
        if (q == nullptr) {
            return instead;
        }
        std::size_t copied = 0;
        while (q->head != none && copied < into.size()) {
            link& first = links_[q->head];
            const std::size_t n =
                std::min<std::size_t>(first.length - q->offset, into.size() - copied);
            std::memcpy(into.data() + copied, ring_.buffer(q->head).data() + q->offset, n);
            copied += n;
            q->offset += static_cast<std::uint32_t>(n);
            q->bytes -= n;
            if (q->offset == first.length) {
                pop(*q);
            }
        }
        return static_cast<int>(copied); // the buffers emptied go back with `publish`
    }

    /// Lends the unread bytes of `fd`'s first buffer (`lent`), as `take` copies them: their
    /// count, or else the end (0), the error (-errno) or none, as for `take`. The buffer stays
    /// out of the ring until the queue's next `take` or `lend`, or its close: the reader may send
    /// from it meanwhile.
    taken lend(int fd, std::span<const std::byte>& lent) noexcept {
        taken instead;
        queue* q = readable(fd, instead);
        if (q == nullptr) {
            return instead;
        }
        const std::uint32_t length = links_[q->head].length;
        lent = std::span<const std::byte>(ring_.buffer(q->head))
                   .subspan(q->offset, length - q->offset);
        q->bytes -= lent.size();
        q->offset = length;
        q->lent = true;
        return static_cast<int>(lent.size());
    }

    /// Gives the ring the buffers `take` has emptied since the last call, in one store: the
    /// engine calls it before each wait, as the kernel takes buffers only while receiving.
    void publish() noexcept { ring_.publish(); }

    /// Bytes in `fd`'s queue.
    [[nodiscard]] std::size_t buffered(int fd) const noexcept {
        const queue* q = find(fd);
        return q != nullptr && q->open ? q->bytes : 0;
    }

    /// Buffers queued over every descriptor (for tests: back to 0 once the readers are gone).
    [[nodiscard]] std::uint32_t buffers_held() const noexcept { return held_; }
    [[nodiscard]] std::uint32_t buffer_count() const noexcept { return ring_.count(); }

private:
    static constexpr std::uint16_t none = 0xffff; // the ring holds at most 32768 buffers
    static constexpr std::uint32_t generation_mask = 0x3fff'ffffU; // bits 62/63 are taken
    static constexpr int open_stream = 1;                          // `ending` before any end

    struct link {
        std::uint16_t next = none;
        std::uint32_t length = 0;
    };
    struct queue {
        std::uint32_t generation = 0;
        std::uint16_t head = none;
        std::uint16_t tail = none;
        std::uint32_t offset = 0;  // bytes of `head` already read
        std::uint32_t buffers = 0; // in the queue
        std::size_t bytes = 0;     // unread, over the queue
        int ending = open_stream;  // 0: end of stream, -errno: its error, after the data
        bool open = false;
        bool armed = false;    // a multishot receive is in flight (until its last completion)
        bool stopping = false; // and its cancel has been asked for
        bool starved = false;  // the last one ended for want of buffers
        bool lent = false;     // `head` is read up and lent to the reader (`lend`)
    };

    static std::uint64_t token(int fd, const queue& q) noexcept {
        return stream_bit | (std::uint64_t{q.generation} << 32U) | static_cast<std::uint32_t>(fd);
    }

    queue& of(int fd) {
        const auto number = static_cast<std::size_t>(fd);
        if (number >= queues_.size()) {
            queues_.resize(number + 1);
        }
        return queues_[number];
    }
    [[nodiscard]] queue* find(int fd) noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < queues_.size()
                   ? &queues_[static_cast<std::size_t>(fd)]
                   : nullptr;
    }
    [[nodiscard]] const queue* find(int fd) const noexcept {
        return const_cast<receive_queues*>(this)->find(fd); // NOLINT: the same lookup
    }

    void append(queue& q, std::uint16_t id, std::uint32_t length) noexcept {
        links_[id] = link{none, length};
        if (q.tail == none) {
            q.head = id;
        } else {
            links_[q.tail].next = id;
        }
        q.tail = id;
        ++q.buffers;
        q.bytes += length;
        ++held_;
    }
    // Stages the head buffer for the ring (published by the caller).
    void pop(queue& q) noexcept {
        const std::uint16_t id = q.head;
        q.head = links_[id].next;
        if (q.head == none) {
            q.tail = none;
        }
        q.offset = 0;
        --q.buffers;
        --held_;
        ring_.stage(id);
    }
    // `fd`'s queue, its lent buffer given back, when it holds bytes to read; else null, and
    // `instead` says what the reader gets: -EBADF (closed), the end or error, or none.
    queue* readable(int fd, taken& instead) noexcept {
        queue* q = find(fd);
        if (q == nullptr || !q->open) {
            instead = -EBADF;
            return nullptr;
        }
        return_lent(*q);
        if (q->head == none) {
            instead = q->ending == open_stream ? taken{} : taken{q->ending};
            return nullptr;
        }
        return q;
    }
    void return_lent(queue& q) noexcept {
        if (std::exchange(q.lent, false)) {
            pop(q);
        }
    }
    void drop(queue& q) noexcept {
        q.lent = false; // its buffer is the head, popped with the rest
        while (q.head != none) {
            pop(q);
        }
        q.bytes = 0;
        ring_.publish();
    }

    uring::buffer_ring ring_;
    std::vector<link> links_; // per buffer id: the next in its queue, and its length
    std::vector<queue> queues_;
    std::uint32_t held_ = 0;
};

} // namespace netkit::async::detail
