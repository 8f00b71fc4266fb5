#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/loop.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/buffer/buffer.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/error_queue.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/msg/extended_error.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/option/socket.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>
#include <netkit/sys/syscall.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>

#include <linux/io_uring.h>
#include <poll.h>
#include <sys/socket.h>

// The zero-copy send of the coroutine layer: IORING_OP_SEND_ZC on io_uring, MSG_ZEROCOPY with
// its completions read from the error queue elsewhere. Either way the task is resumed only once
// the kernel no longer reads the caller's buffer. See docs/coroutines.md.

namespace netkit::async {

/// What `send_all_zero_copy` did.
struct zero_copy_sent {
    /// Bytes sent: all of the data.
    std::size_t bytes = 0;
    /// True when the kernel copied some of the data after all, as `zerocopy_range::copied` says
    /// of a range (io_uring's IORING_NOTIF_USAGE_ZC_COPIED, MSG_ZEROCOPY's
    /// SO_EE_CODE_ZEROCOPY_COPIED), or when a send was made as an ordinary copy (ENOBUFS): for
    /// those bytes zero-copy saved nothing and cost its bookkeeping. Always true on loopback,
    /// which copies every packet it delivers. A hint, as the kernel documents it.
    bool copied = false;
};

namespace detail {

// send_all_zero_copy's state: an `io_awaiter` whose operation also `holds`. On an engine that
// submits zero-copy sends (io_uring) it describes itself as IORING_OP_SEND_ZC of what is left,
// counts the notifications the results announce (the loop does), and holds until the last has
// come. Elsewhere, or when the deadline had passed before the start, it makes MSG_ZEROCOPY
// sends itself, counts them, and reads the error queue until the completions there cover as
// many sends: it needs no send numbers, only that no other zero-copy send is made on the socket
// while it runs.
template <class P>
class zero_copy_awaiter : public io_awaiter<zero_copy_awaiter<P>> {
    using base = io_awaiter<zero_copy_awaiter<P>>;

public:
    zero_copy_awaiter(basic_socket<P>& socket, const_buffer data, deadline when,
                      stop_token token) noexcept
        : base(socket.native_handle(), netkit::interest::writable, when, token),
          socket_(socket),
          data_(data) {
        this->holds = &held;
        this->notified = &take_notification;
        if (data.size() != 0 && loop::current().sends_zero_copy()) {
            this->describe = &describe_send; // (c): the engine makes the sends
            this->complete = &complete_send;
        }
    }
    zero_copy_awaiter(const zero_copy_awaiter&) = delete;
    zero_copy_awaiter& operator=(const zero_copy_awaiter&) = delete;
    // Before the members go: a wait for the kernel reads them (and the error queue through the
    // duplicate); the base's own call then has nothing left to do.
    ~zero_copy_awaiter() {
        this->abandon();
        this->holds = nullptr;
    }

    result<zero_copy_sent> outcome() const noexcept {
        if (sent_ == data_.size() && (sent_ != 0 || !this->ended)) { // a stop before the start
            return zero_copy_sent{sent_, copied_};
        }
        if (failed_) {
            return failure{*failed_};
        }
        return this->ended_as(name, sent_);
    }

    // Reads the completions queued now, then sends until the socket is full, unless the wait
    // has ended; true once everything is sent (or failed, or ended) and every send is complete.
    static bool try_now(operation& op) noexcept {
        auto& self = self_of(op);
        if (self.on_ring_) {
            return false; // a readiness event while the engine makes the sends: no news
        }
        // MSG_ZEROCOPY from here on: the engine does not submit zero-copy sends, or the
        // deadline had passed before the start, and the call is still tried once.
        op.describe = nullptr;
        op.complete = nullptr;
        if (self.data_.size() == 0) {
            return true;
        }
        if (!self.enabled_) {
            // Without SO_ZEROCOPY the kernel ignores MSG_ZEROCOPY, and no completion would come.
            if (auto on = self.socket_.set(so::zero_copy, true); !on) {
                self.failed_ = error(on.error().code(), name).with_bytes_transferred(self.sent_);
                return true;
            }
            self.enabled_ = true;
        }
        self.reap();
        while (!op.ended && !self.failed_ && self.sent_ < self.data_.size()) {
            if (!self.send_step()) {
                break;
            }
        }
        return !held(op, false) && (self.sent_ == self.data_.size() || self.failed_ || op.ended);
    }

private:
    static constexpr const char* name = "send_all_zero_copy";
    // One submission sends at most this much (a completion's result is an int).
    static constexpr std::size_t largest_send = 0x7fff'f000;

    static zero_copy_awaiter& self_of(operation& op) noexcept {
        return static_cast<zero_copy_awaiter&>(op);
    }

    // ---- io_uring: IORING_OP_SEND_ZC -------------------------------------------------------

    static submission describe_send(operation& op) noexcept {
        auto& self = self_of(op);
        self.on_ring_ = true;
        const std::size_t left = self.data_.size() - self.sent_;
        const_buffer rest = self.data_;
        rest += self.sent_;
        return {submission::kind::send_zero_copy, const_cast<void*>(rest.data()), // NOLINT
                left < largest_send ? left : largest_send, 0};
    }
    static bool complete_send(operation& op, int result) noexcept {
        auto& self = self_of(op);
        if (result < 0) {
            self.failed_ = error(std::error_code(-result, std::system_category()), name)
                               .with_bytes_transferred(self.sent_);
            return true;
        }
        self.sent_ += static_cast<std::size_t>(result);
        return self.sent_ == self.data_.size();
    }
    static void take_notification(operation& op, int usage) noexcept {
        auto& self = self_of(op);
        self.copied_ =
            self.copied_ || (static_cast<std::uint32_t>(usage) & IORING_NOTIF_USAGE_ZC_COPIED) != 0;
    }

    // ---- elsewhere: MSG_ZEROCOPY and the error queue ---------------------------------------

    // One send of what is left; false when the socket is full or the send failed.
    bool send_step() noexcept {
        const_buffer rest = data_;
        rest += sent_;
        auto sent =
            socket_.send(rest, send_flag::dont_wait | send_flags::from_native(MSG_ZEROCOPY));
        if (sent) {
            sent_ += *sent;
            ++sends_; // at least one byte: the kernel numbered it
            return true;
        }
        if (sent.error().code() == std::error_code(ENOBUFS, std::system_category())) {
            // Too many notifications outstanding (optmem) or too many pages pinned: nothing was
            // sent, so the same bytes go as an ordinary send, which copies them.
            sent = socket_.send(rest, send_flag::dont_wait);
            if (sent) {
                sent_ += *sent;
                copied_ = true;
                return true;
            }
        }
        if (!sent.error().would_block()) {
            failed_ = error(sent.error().code(), name).with_bytes_transferred(sent_);
        }
        return false;
    }

    // Takes every entry off the error queue now, counting the sends the zero-copy completions
    // cover (inclusive ranges, never overlapping); other entries are dropped.
    void reap() noexcept {
        basic_socket<P>& from = duplicate_ ? *duplicate_ : socket_;
        for (;;) {
            auto entry = netkit::read_error_queue(from);
            if (!entry) {
                return; // empty (or failing: the next wakeup reads again)
            }
            if (entry->error && entry->error->origin == error_origin::zerocopy) {
                completed_ += std::uint64_t{entry->error->data - entry->error->info} + 1;
                copied_ = copied_ || entry->error->copied();
            }
        }
    }

    // ---- both ------------------------------------------------------------------------------

    // Whether the kernel may still read the buffer. A descriptor about to close takes its error
    // queue with it: the completions are then read through a duplicate, which keeps the socket
    // open until they are in (or, if none can be made, waited for here, blocking the thread).
    static bool held(operation& op, bool closing) noexcept {
        auto& self = self_of(op);
        if (op.notifications > 0) {
            return true; // io_uring: its completions come whatever happens to the descriptor
        }
        if (self.completed_ >= self.sends_) {
            return false;
        }
        if (closing && !self.duplicate_) {
            if (auto copy = self.socket_.duplicate()) {
                self.duplicate_.emplace(std::move(*copy));
                op.fd = self.duplicate_->native_handle();
            } else {
                self.reap_until_complete();
                return false;
            }
        }
        return true;
    }

    void reap_until_complete() noexcept {
        basic_socket<P>& from = duplicate_ ? *duplicate_ : socket_;
        while (completed_ < sends_) {
            auto polled = netkit::detail::poll_one(from.native_handle(), 0, deadline::never());
            if (!polled || (*polled & POLLNVAL) != 0) {
                return;
            }
            reap();
        }
    }

    basic_socket<P>& socket_;
    const_buffer data_;
    std::optional<basic_socket<P>> duplicate_; // after a close: the error queue's reader
    std::optional<error> failed_;
    std::size_t sent_ = 0;
    std::uint64_t sends_ = 0;     // MSG_ZEROCOPY sends that took bytes (the kernel numbers them)
    std::uint64_t completed_ = 0; // of those, the ones the error queue said are complete
    bool copied_ = false;
    bool enabled_ = false; // SO_ZEROCOPY
    bool on_ring_ = false; // submitted as SEND_ZC at least once
};

} // namespace detail

/// Sends all of `data` (a byte range) without copying it into the kernel, and resumes the task
/// only once the kernel no longer reads it: the caller may then change or free the buffer at
/// once. The value says whether the kernel copied after all (`zero_copy_sent::copied`: always on
/// loopback; on a real NIC only where the device cannot send from user pages). On io_uring
/// (Linux 6.2 and later) each send is an IORING_OP_SEND_ZC, whose notification says when the
/// buffer is free; elsewhere a MSG_ZEROCOPY send(2), with SO_ZEROCOPY turned on by the
/// operation, whose completions it reads from the socket's error queue (EPOLLERR wakes it).
///
/// Errors carry in `bytes_transferred()` how much went, as `send_all`'s: the send's own error,
/// `deadline_passed`, `operation_canceled` and `bad_file_descriptor` (the socket closed). TCP
/// only: a Unix stream socket has no zero-copy send, and is refused at compile time. A deadline, a
/// stop or a close ends the sending at once, but not the wait for the kernel to let go of what it
/// took: bytes already handed over are still delivered, and the task is resumed once they have
/// been acknowledged, which a peer that does not read can put off. Once every byte is handed
/// over, none of them changes the value. Destroying the frame while the kernel holds the buffer
/// blocks the thread until it lets go.
///
/// One zero-copy sender per socket at a time, with every earlier zero-copy send complete: on
/// epoll the operation counts the completions the error queue reports and takes them all, so
/// another's sends would be counted as its own, and other entries there (timestamps, ICMP
/// errors) are dropped. Worth it for large sends (tens of kilobytes and more) on a real device.
///
/// @par Example
/// @code
/// auto sent = co_await netkit::async::send_all_zero_copy(sock, block, 5s);
/// if (sent) { block.assign(block.size(), std::byte{0}); } // the kernel has let go of it
/// @endcode
template <can_stream P, class Data>
auto send_all_zero_copy(basic_socket<P>& socket, const Data& data, deadline until = {},
                        stop_token stop = {}) requires opens_by_family<P> {
    return detail::zero_copy_awaiter<P>(socket, buffer(data), until, stop);
}

} // namespace netkit::async
