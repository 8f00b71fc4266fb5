#pragma once

// MSG_ZEROCOPY sends and the tracker that says when their buffers may be reused.

#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/concepts.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/error_queue.hpp>
#include <netkit/msg/extended_error.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/option/socket.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>

#include <sys/socket.h>

namespace netkit {

/// What one zero-copy send did.
struct zerocopy_send {
    /// Bytes sent (on a stream possibly fewer than offered, as with `send`).
    std::size_t bytes = 0;
    /// The send's number, when the kernel holds the caller's buffer until the completion of this
    /// number arrives (`zerocopy_tracker::is_complete`). Absent when the bytes were copied at
    /// once (the ENOBUFS fallback, or a tracker with `zerocopy_tracker::window` sends in
    /// flight), or when there were none (an empty send is made without MSG_ZEROCOPY): the
    /// buffer may then be reused at once.
    std::optional<std::uint64_t> id{};
};

/// A range of sends the kernel reports complete, inclusive, in the tracker's numbering.
struct zerocopy_range {
    std::uint64_t first = 0; ///< the first send of the range (the kernel's ee_info)
    std::uint64_t last = 0;  ///< the last send of the range (the kernel's ee_data)
    bool copied = false;     ///< SO_EE_CODE_ZEROCOPY_COPIED: the kernel copied these after all
    /// How many sends the range covers.
    [[nodiscard]] constexpr std::uint64_t count() const noexcept { return last - first + 1; }
};

/// What `zerocopy_tracker::reap` read.
struct zerocopy_reaped {
    std::size_t ranges = 0;      ///< completion entries read
    std::uint64_t completed = 0; ///< sends they completed
    std::size_t foreign = 0;     ///< other entries taken off the queue (ICMP errors, timestamps)
};

/// Numbers a socket's zero-copy sends as the kernel does and reads their completions, so that
/// the rule of MSG_ZEROCOPY is easy to keep: **a buffer passed to a zero-copy send must not be
/// changed or freed until its send is complete** (`is_complete(id)`, or `complete_below() > id`).
///
/// The kernel counts, per socket from 0, MSG_ZEROCOPY send calls, and reports completions on the
/// error queue as inclusive ranges of those numbers, merged when consecutive, in any order. On
/// TCP it counts a call that sends at least one byte (a partial send counts once; a failed or
/// empty one not at all). On UDP it counts a call that sends at least one byte, and also an
/// empty one that starts a datagram (its length includes the 8-byte UDP header), but not an
/// empty one added to a corked datagram (`send_flag::more`, `udp::cork`); a failed one it may or
/// may not count (`numbering_lost`). Since no call tells whether a datagram is corked, the send
/// calls make an empty send without MSG_ZEROCOPY, which the kernel never counts: it gets no
/// number. The tracker numbers each successful zero-copy send with bytes, as the kernel does,
/// with 64-bit numbers that do not wrap.
///
/// @par Example
/// @code
/// auto tracker = netkit::zerocopy_tracker::enable(sock).value(); // SO_ZEROCOPY
/// auto sent = netkit::send_zerocopy(sock, tracker, block).value();
/// tracker.reap_until(sock, tracker.sent(), 2s).value(); // every send so far is complete
/// @endcode
class zerocopy_tracker {
public:
    /// Sends that may be in flight at once; a send beyond them is copied (`window_copies`).
    static constexpr std::size_t window = 1024;

    /// Sets SO_ZEROCOPY on `sock` (without it the kernel ignores MSG_ZEROCOPY and no completion
    /// would ever come) and returns a tracker for it. Errors: the kernel's refusal (ENOPROTOOPT
    /// before Linux 4.14, EOPNOTSUPP for a protocol without zero-copy, EPERM in some sandboxes).
    template <protocol_tag P>
    static result<zerocopy_tracker> enable(basic_socket<P>& sock) noexcept {
        if (auto on = sock.set(so::zero_copy, true); !on) {
            return failure{on.error()};
        }
        return zerocopy_tracker(sock.native_handle());
    }

    /// The number the next zero-copy send will get: every send below it has been numbered.
    [[nodiscard]] std::uint64_t sent() const noexcept { return next_; }
    /// Every send numbered below this is complete: their buffers may be reused.
    [[nodiscard]] std::uint64_t complete_below() const noexcept { return below_; }
    /// Whether send `id` is complete (its buffer may be reused).
    [[nodiscard]] bool is_complete(std::uint64_t id) const noexcept {
        return id < below_ || (id < next_ && id - below_ < window && is_done(id));
    }
    /// Sends numbered and not yet complete.
    [[nodiscard]] std::uint64_t in_flight() const noexcept { return next_ - below_ - ahead_; }
    /// Sends reported complete so far.
    [[nodiscard]] std::uint64_t completed() const noexcept { return completed_; }
    /// Of those, the sends the kernel reported copied (SO_EE_CODE_ZEROCOPY_COPIED): when it
    /// equals `completed()`, zero-copy saved nothing (on loopback it always does). A hint, as
    /// the kernel documents it: merging a new range into a queued one keeps the older code.
    [[nodiscard]] std::uint64_t copied() const noexcept { return copied_; }
    /// Sends refused with ENOBUFS (the optmem limit: too many notifications outstanding, or
    /// the locked-pages limit) and then made as ordinary sends of the same bytes.
    [[nodiscard]] std::uint64_t enobufs_copies() const noexcept { return enobufs_; }
    /// Sends made as ordinary copies because `window` sends were in flight.
    [[nodiscard]] std::uint64_t window_copies() const noexcept { return window_full_; }
    /// Completions for numbers never given or already complete: 0 unless the numbering was
    /// broken (zero-copy sends on this socket made without this tracker).
    [[nodiscard]] std::uint64_t anomalies() const noexcept { return anomalies_; }
    /// The descriptor this tracker numbers the sends of.
    [[nodiscard]] int native_handle() const noexcept { return fd_; }
    /// True once a zero-copy send with bytes on a datagram socket failed (an empty send is made
    /// without MSG_ZEROCOPY and never ends the numbering): the kernel may have numbered it
    /// (a packet built, then dropped by a queue or a firewall) or not (refused before), and no
    /// call tells which. From then on completions cannot be matched to sends, so the tracker
    /// declares nothing more complete (`reap_until` fails with `state_not_recoverable`): keep
    /// the buffers of sends in flight, and make later sends on a new socket with a new tracker.
    [[nodiscard]] bool numbering_lost() const noexcept { return numbering_lost_; }

    zerocopy_tracker(const zerocopy_tracker&) = delete;
    zerocopy_tracker& operator=(const zerocopy_tracker&) = delete;
    /// A tracker moves with the socket it serves; two copies would number the same sends twice.
    zerocopy_tracker(zerocopy_tracker&&) noexcept = default;
    /// See the move constructor.
    zerocopy_tracker& operator=(zerocopy_tracker&&) noexcept = default;
    ~zerocopy_tracker() = default;

    /// Records one error-queue entry's `extended_error`, as read by `read_error_queue` from the
    /// tracker's socket: the range it completes, or nothing for an entry of another origin.
    std::optional<zerocopy_range> record(const extended_error& entry) noexcept {
        using outcome = std::optional<zerocopy_range>;
        if (entry.origin != error_origin::zerocopy) {
            return outcome();
        }
        // The kernel's 32-bit numbers, placed at or above the lowest incomplete send.
        const std::uint64_t first =
            below_ + static_cast<std::uint32_t>(entry.info - static_cast<std::uint32_t>(below_));
        const zerocopy_range range{
            first, first + static_cast<std::uint32_t>(entry.data - entry.info), entry.copied()};
        if (range.last >= next_ || numbering_lost_) {
            ++anomalies_; // numbers never given, or no longer matched: nothing in it is trusted
            return outcome();
        }
        for (std::uint64_t id = range.first; id <= range.last; ++id) {
            mark(id, range.copied);
        }
        while (below_ < next_ && is_done(below_)) {
            set_done(below_, false);
            ++below_;
            --ahead_;
        }
        return outcome(range);
    }

    /// Reads every entry now on the error queue of `sock` (never blocking) and records the
    /// completions. Other entries are taken off the queue and counted in `foreign`: on a socket
    /// that also gets ICMP errors or timestamps, read with `read_error_queue` and `record` instead.
    /// Errors: `std::errc::invalid_argument` if `sock` is not the tracker's socket.
    template <protocol_tag P>
    result<zerocopy_reaped> reap(basic_socket<P>& sock) noexcept {
        if (sock.native_handle() != fd_) {
            return detail::errc_failure(std::errc::invalid_argument, "zerocopy reap (not the "
                                                                     "tracker's socket)");
        }
        zerocopy_reaped reaped;
        for (;;) {
            auto entry = read_error_queue(sock);
            if (!entry) {
                if (entry.error().would_block()) {
                    return reaped;
                }
                return failure{entry.error()};
            }
            take(*entry, reaped);
        }
    }

    /// Reaps until every send numbered below `target` is complete (waiting for POLLERR), or
    /// until `until`: `std::errc::timed_out` then. `reap_until(sock, sent(), 2s)` waits for all.
    template <protocol_tag P>
    result<zerocopy_reaped> reap_until(basic_socket<P>& sock, std::uint64_t target,
                                       deadline until) noexcept {
        zerocopy_reaped reaped;
        while (below_ < target && below_ < next_) {
            if (numbering_lost_) {
                return detail::errc_failure(std::errc::state_not_recoverable,
                                            "zerocopy reap (numbering lost after a failed "
                                            "datagram send)");
            }
            auto entry = read_error_queue(sock, {}, until);
            if (!entry) {
                return failure{entry.error()};
            }
            take(*entry, reaped);
        }
        return reaped;
    }

    /// For the send calls: the number a send that went through gets.
    std::uint64_t number_send() noexcept { return next_++; }
    /// For the send calls: whether a send may be numbered now (fewer than `window` in flight).
    [[nodiscard]] bool has_room() const noexcept { return next_ - below_ < window; }
    /// For the send calls: a send that was copied, and why.
    void copied_send(bool enobufs) noexcept { ++(enobufs ? enobufs_ : window_full_); }
    /// For the send calls: a datagram send failed, numbered by the kernel or not.
    void lose_numbering() noexcept { numbering_lost_ = true; }

private:
    explicit zerocopy_tracker(int fd) noexcept : fd_(fd) {}

    // One bit per send in the window, by its number modulo the window.
    static constexpr std::size_t bits_per_word = 64;
    static_assert(window % bits_per_word == 0);
    [[nodiscard]] bool is_done(std::uint64_t id) const noexcept {
        const std::uint64_t slot = id % window;
        return ((done_[slot / bits_per_word] >> (slot % bits_per_word)) & 1U) != 0;
    }
    void set_done(std::uint64_t id, bool done) noexcept {
        const std::uint64_t slot = id % window;
        const std::uint64_t bit = std::uint64_t{1} << (slot % bits_per_word);
        std::uint64_t& word = done_[slot / bits_per_word];
        word = done ? (word | bit) : (word & ~bit);
    }
    void mark(std::uint64_t id, bool copied) noexcept {
        if (id < below_ || id >= next_ || is_done(id)) {
            ++anomalies_;
            return;
        }
        set_done(id, true);
        ++ahead_;
        ++completed_;
        copied_ += copied ? 1 : 0;
    }
    template <class Entry> // an error_queue_entry
    void take(const Entry& entry, zerocopy_reaped& reaped) noexcept {
        if (!entry.error) {
            ++reaped.foreign;
            return;
        }
        const auto range = record(*entry.error);
        if (!range) {
            ++reaped.foreign;
            return;
        }
        ++reaped.ranges;
        reaped.completed += range->count();
    }

    int fd_ = -1;
    std::uint64_t next_ = 0;
    std::uint64_t below_ = 0;
    std::uint64_t ahead_ = 0; // complete sends at or above below_
    std::uint64_t completed_ = 0;
    std::uint64_t copied_ = 0;
    std::uint64_t enobufs_ = 0;
    std::uint64_t window_full_ = 0;
    std::uint64_t anomalies_ = 0;
    bool numbering_lost_ = false;
    std::array<std::uint64_t, window / bits_per_word> done_{};
};

namespace detail {
// Whether a send of `data` would offer the kernel no byte.
template <class Data>
bool offers_no_bytes(const Data& data) noexcept {
    if constexpr (buffer_sequence<Data>) {
        for (const auto& piece : data) {
            if (length_of(piece) != 0) {
                return false;
            }
        }
        return true;
    } else {
        return buffer(data).size() == 0;
    }
}

// One zero-copy send through `send` (a call of the socket taking the flags), numbered when the
// kernel numbered it; ENOBUFS is answered by the same bytes again, copied (on a datagram socket
// the packet may also have been built and dropped: the numbering then ends).
template <class Send>
result<zerocopy_send> zerocopy_step(int fd, zerocopy_tracker& tracker, send_flags flags,
                                    bool datagram, bool empty, Send send) noexcept {
    if (fd != tracker.native_handle()) {
        return errc_failure(std::errc::invalid_argument,
                            "send_zerocopy (not the tracker's socket)");
    }
    if (empty) {
        // Nothing for the kernel to hold, so no MSG_ZEROCOPY: with it, UDP would number an
        // empty send that starts a datagram and not one added to a corked datagram, which the
        // tracker cannot tell apart. Without it no protocol numbers the send, succeeded or not.
        auto sent = send(flags);
        if (!sent) {
            return failure{sent.error()};
        }
        return zerocopy_send{*sent, std::nullopt};
    }
    if (!tracker.has_room()) {
        auto copied = send(flags);
        if (!copied) {
            return failure{copied.error()};
        }
        tracker.copied_send(false);
        return zerocopy_send{*copied, std::nullopt};
    }
    auto sent = send(flags | send_flags::from_native(MSG_ZEROCOPY));
    if (sent) {
        return zerocopy_send{*sent, tracker.number_send()}; // at least one byte: numbered
    }
    if (datagram) {
        // TCP gives a number back when a send fails; a datagram socket may keep it for a packet
        // it built and then dropped (ENOBUFS from a full queue with IP_RECVERR, EPERM from a
        // firewall), and report that packet's completion later.
        tracker.lose_numbering();
    }
    if (sent.error().code() != std::error_code(ENOBUFS, std::system_category())) {
        return failure{sent.error()};
    }
    auto copied = send(flags);
    if (!copied) {
        return failure{copied.error()};
    }
    tracker.copied_send(true);
    return zerocopy_send{*copied, std::nullopt};
}
} // namespace detail

/// One MSG_ZEROCOPY send(2)/sendmsg(2) on a connected socket (TCP, or UDP after `connect_to`):
/// the kernel sends from `data` in place, so `data` must stay unchanged and alive until the
/// send is complete (`result.id`, `tracker.is_complete`). ENOBUFS is answered by an ordinary
/// send of the same bytes, counted in `tracker.enobufs_copies()`; on a datagram socket any
/// failed send with bytes also ends the tracker's numbering (`numbering_lost()`). On a stream
/// the count may be short, as with `send`: send the rest with another call. An empty send (no
/// bytes in `data`) is made without MSG_ZEROCOPY: it gets no number, and its failure leaves the
/// numbering intact.
/// Errors: those of `send`; `std::errc::invalid_argument` if `tracker` is another socket's.
template <protocol_tag P, sendable_data Data>
result<zerocopy_send> send_zerocopy(basic_socket<P>& sock, zerocopy_tracker& tracker,
                                    const Data& data,
                                    send_flags flags = {}) noexcept requires opens_by_family<P> {
    return detail::zerocopy_step(sock.native_handle(), tracker, flags, !can_stream<P>,
                                 detail::offers_no_bytes(data),
                                 [&](send_flags f) noexcept { return sock.send(data, f); });
}

/// `send_zerocopy` of one datagram to `peer`, on an unconnected socket.
template <protocol_tag P, sendable_data Data>
result<zerocopy_send>
send_zerocopy_to(basic_socket<P>& sock, zerocopy_tracker& tracker, const Data& data,
                 const typename P::endpoint_type& peer,
                 send_flags flags = {}) noexcept requires opens_by_family<P> && can_send_to<P> {
    return detail::zerocopy_step(
        sock.native_handle(), tracker, flags, !can_stream<P>, detail::offers_no_bytes(data),
        [&](send_flags f) noexcept { return sock.send_to(data, peer, f); });
}

} // namespace netkit
