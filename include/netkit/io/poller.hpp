#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/sys/epoll.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>

#include <sys/epoll.h>

namespace netkit {

/// What a registration asks the poller to report: a set of EPOLL* request bits. A type of its own,
/// so that an event's bits cannot be passed where an interest is meant.
class poll_interest {
public:
    /// Nothing: the descriptor stays registered but reports only hang-ups and errors (which
    /// epoll always reports), as a connection whose reading is paused wants.
    constexpr poll_interest() noexcept = default;

    /// The escape hatch for an EPOLL* bit netkit has no name for (EPOLLWAKEUP, ...), unchecked.
    [[nodiscard]] static constexpr poll_interest from_native(std::uint32_t bits) noexcept {
        return poll_interest(bits);
    }
    /// The EPOLL* bits, as epoll_ctl(2) takes them.
    [[nodiscard]] constexpr std::uint32_t bits() const noexcept { return bits_; }
    /// True if every bit of `other` is set here.
    [[nodiscard]] constexpr bool contains(poll_interest other) const noexcept {
        return (bits_ & other.bits_) == other.bits_;
    }
    /// The bits of both: `interest::readable | interest::edge_triggered`.
    friend constexpr poll_interest operator|(poll_interest a, poll_interest b) noexcept {
        return poll_interest(a.bits_ | b.bits_);
    }
    /// True if both hold exactly the same bits.
    friend constexpr bool operator==(poll_interest, poll_interest) noexcept = default;

private:
    constexpr explicit poll_interest(std::uint32_t bits) noexcept : bits_(bits) {}
    std::uint32_t bits_ = 0;
};

/// The interests a registration can name. Hang-up and error need none: epoll always reports them.
namespace interest {
/// EPOLLIN: data to read, a connection to accept, or end of stream.
inline constexpr poll_interest readable = poll_interest::from_native(EPOLLIN);
/// EPOLLOUT: room to write, or a non-blocking connect that finished (either way).
inline constexpr poll_interest writable = poll_interest::from_native(EPOLLOUT);
/// EPOLLRDHUP: the peer shut down its writing (a half-close), reported as its own event.
inline constexpr poll_interest peer_closed_writing = poll_interest::from_native(EPOLLRDHUP);
/// EPOLLPRI: urgent data (TCP out-of-band) or an exceptional condition.
inline constexpr poll_interest urgent = poll_interest::from_native(EPOLLPRI);
/// EPOLLET: report a change of state once, not the state at every wait. The handler must then
/// read or write until `would_block()` (the EAGAIN-draining rule), or it may never hear of the
/// rest.
inline constexpr poll_interest edge_triggered =
    poll_interest::from_native(static_cast<std::uint32_t>(EPOLLET));
/// EPOLLONESHOT: report once, then disarm until `poller::modify` arms it again; with threads
/// sharing a poller, no two of them handle the same descriptor at once.
inline constexpr poll_interest one_shot = poll_interest::from_native(EPOLLONESHOT);
/// EPOLLEXCLUSIVE: with one descriptor (a listener) in several pollers, wake one of them, not
/// all. Only `add` takes it, combined with `readable`, `writable` and `edge_triggered` only (the
/// kernel refuses `one_shot`, `peer_closed_writing` and `urgent` beside it); a registration added
/// with it cannot be modified at all, only removed and added again (`std::errc::invalid_argument`).
inline constexpr poll_interest exclusive = poll_interest::from_native(EPOLLEXCLUSIVE);
} // namespace interest

/// Anything that has a descriptor a poller can watch: a socket, an acceptor (`native_handle()`).
template <class T>
concept has_native_handle = requires(const T& source) {
    { source.native_handle() } -> std::convertible_to<int>;
};

/// A readiness poller over epoll(7): registrations of sockets, acceptors and raw descriptors
/// (pipes, eventfd, timerfd, signalfd) with a typed interest and a 64-bit token of the caller's,
/// and a `wait` that fills the caller's array of events. Nothing here allocates.
///
/// **Tokens and reused descriptor numbers.** The kernel forgets a registration when the last
/// descriptor of its open file closes, but not before: a `dup`, a forked child or a descriptor
/// passed over a Unix socket keeps it alive, still reporting under the old token. And a batch that
/// `wait` already returned may hold events for a connection that the handling of an earlier event
/// closed, while an accept in between was given the same descriptor number. So a token must never
/// be the descriptor number alone: `remove` before closing, and make tokens that a closed
/// connection cannot share with its successor, as `slot_token` does (a table index and a
/// generation that the slot's reuse increments). An event whose token's generation is not the
/// slot's current one is stale: drop it.
///
/// @par Example
/// @code
/// auto poller = netkit::poller::open().value();
/// poller.add(acceptor, netkit::interest::readable, 0).value();
/// std::array<netkit::poller::event, 64> events;
/// for (;;) {
///     auto ready = poller.wait(events, timers.next()).value();
///     for (const auto& e : std::span(events).first(ready)) { handle(e.token(), e); }
/// }
/// @endcode
class poller {
public:
    /// The token `wake` is reported under inside `wait`, which keeps it to itself: no
    /// registration may use it.
    static constexpr std::uint64_t wake_token = std::numeric_limits<std::uint64_t>::max();

    /// One readiness report: exactly a `struct epoll_event` (asserted below), so `wait` hands the
    /// caller's array to the kernel as it is, with no copy and no allocation.
    class event {
    public:
        /// An event with no bits and token 0.
        constexpr event() noexcept = default;

        /// The token the descriptor was registered with.
        [[nodiscard]] std::uint64_t token() const noexcept { return native_.data.u64; }
        /// The EPOLL* bits the kernel reported.
        [[nodiscard]] std::uint32_t bits() const noexcept { return native_.events; }
        /// EPOLLIN: data, a connection, or end of stream can be read without waiting.
        [[nodiscard]] bool readable() const noexcept { return has(EPOLLIN); }
        /// EPOLLOUT: there is room to write.
        [[nodiscard]] bool writable() const noexcept { return has(EPOLLOUT); }
        /// EPOLLHUP: both directions are closed (reported whatever the interest). Data may still
        /// be waiting to be read.
        [[nodiscard]] bool hang_up() const noexcept { return has(EPOLLHUP); }
        /// EPOLLERR: the socket has a pending error (read it with `so::error` or the next call),
        /// or entries on its error queue (ICMP errors, zero-copy completions, transmit
        /// timestamps: read them with `read_error_queue`, io/error_queue.hpp).
        [[nodiscard]] bool error() const noexcept { return has(EPOLLERR); }
        /// EPOLLRDHUP: the peer shut down its writing; what it sent before is still readable.
        [[nodiscard]] bool peer_closed_writing() const noexcept { return has(EPOLLRDHUP); }
        /// EPOLLPRI: urgent data or an exceptional condition.
        [[nodiscard]] bool urgent() const noexcept { return has(EPOLLPRI); }
        /// The kernel's entry.
        [[nodiscard]] const epoll_event& native() const noexcept { return native_; }

    private:
        [[nodiscard]] bool has(std::uint32_t bit) const noexcept {
            return (native_.events & bit) != 0;
        }
        epoll_event native_{};
    };

    /// A poller that owns nothing; `open` makes a working one.
    poller() noexcept = default;

    /// epoll_create1(EPOLL_CLOEXEC), and the eventfd (CLOEXEC, non-blocking) that `wake` uses,
    /// registered under `wake_token`.
    static result<poller> open() noexcept {
        auto epoll = detail::epoll_open();
        if (!epoll) {
            return failure{epoll.error()};
        }
        auto wakeup = detail::eventfd_open();
        if (!wakeup) {
            return failure{wakeup.error()};
        }
        if (auto added = detail::epoll_control(epoll->get(), EPOLL_CTL_ADD, wakeup->get(), EPOLLIN,
                                               wake_token, "poller add");
            !added) {
            return failure{added.error()};
        }
        return poller(std::move(*epoll), std::move(*wakeup));
    }

    /// Registers `fd` (a raw descriptor: pipe, eventfd, timerfd, signalfd) for `what`, reported
    /// under `token`. A negative descriptor is `std::errc::bad_file_descriptor`; a number that is
    /// not open is the kernel's EBADF; one already registered here is EEXIST
    /// (`std::errc::file_exists`); a regular file is EPERM; `wake_token` is
    /// `std::errc::invalid_argument`.
    result<void> add(int fd, poll_interest what, std::uint64_t token) noexcept {
        return control(EPOLL_CTL_ADD, fd, what, token, "poller add");
    }
    /// Registers a socket or acceptor (anything with `native_handle()`); a closed one is
    /// `std::errc::bad_file_descriptor`.
    template <has_native_handle Source>
    result<void> add(const Source& source, poll_interest what, std::uint64_t token) noexcept {
        return add(static_cast<int>(source.native_handle()), what, token);
    }
    /// Registers an owned descriptor.
    result<void> add(const file_descriptor& fd, poll_interest what, std::uint64_t token) noexcept {
        return add(fd.get(), what, token);
    }

    /// Changes the interest and token of a registered descriptor (and re-arms a `one_shot`
    /// one). Not registered: ENOENT (`std::errc::no_such_file_or_directory`).
    result<void> modify(int fd, poll_interest what, std::uint64_t token) noexcept {
        return control(EPOLL_CTL_MOD, fd, what, token, "poller modify");
    }
    /// `modify` for a socket or acceptor.
    template <has_native_handle Source>
    result<void> modify(const Source& source, poll_interest what, std::uint64_t token) noexcept {
        return modify(static_cast<int>(source.native_handle()), what, token);
    }
    /// `modify` for an owned descriptor.
    result<void> modify(const file_descriptor& fd, poll_interest what,
                        std::uint64_t token) noexcept {
        return modify(fd.get(), what, token);
    }

    /// Ends a registration. Call it before closing the descriptor: closing removes the
    /// registration only when no other descriptor (a `dup`, a child's copy) shares the open file.
    result<void> remove(int fd) noexcept {
        return control(EPOLL_CTL_DEL, fd, poll_interest(), 0, "poller remove");
    }
    /// `remove` for a socket or acceptor.
    template <has_native_handle Source>
    result<void> remove(const Source& source) noexcept {
        return remove(static_cast<int>(source.native_handle()));
    }
    /// `remove` for an owned descriptor.
    result<void> remove(const file_descriptor& fd) noexcept { return remove(fd.get()); }

    /// Waits until a registered descriptor is ready, `wake` is called, or `until` passes (a
    /// deadline; none by default), and fills the front of `events`. Returns how many were
    /// filled: 0 when the deadline passed or only a wake arrived. A passed deadline still
    /// collects what is ready now. After EINTR the wait goes on with the time that is left.
    /// An empty `events` is `std::errc::invalid_argument`. Allocates nothing.
    result<std::size_t> wait(std::span<event> events, deadline until = {}) noexcept {
        if (events.empty()) [[unlikely]] {
            return detail::errc_failure(std::errc::invalid_argument, "poller wait (no room)");
        }
        if (!epoll_.is_open()) [[unlikely]] {
            return detail::errc_failure(std::errc::bad_file_descriptor, "poller wait");
        }
        auto filled = detail::epoll_wait_until(epoll_.get(), native(events), events.size(), until);
        if (!filled) {
            return filled;
        }
        std::size_t count = *filled;
        // The wake event is the poller's own: drain the eventfd (so that it stops being ready)
        // and close the gap with the last event, which keeps the caller's events contiguous.
        for (std::size_t i = 0; i < count; ++i) {
            if (events[i].token() == wake_token) {
                if (auto drained = detail::eventfd_drain(wake_.get()); !drained) {
                    return failure{drained.error()};
                }
                events[i] = events[count - 1];
                --count;
                break;
            }
        }
        return count;
    }
    /// `wait` for at most `timeout`. A negative timeout is `std::errc::invalid_argument`; one
    /// longer than the steady clock can represent from now is `std::errc::value_too_large` (to
    /// wait without a limit, pass no timeout).
    template <class Rep, class Period>
    result<std::size_t> wait(std::span<event> events,
                             std::chrono::duration<Rep, Period> timeout) noexcept {
        // Written as "not at least zero" so that a NaN duration is refused too.
        if (!(timeout >= std::chrono::duration<Rep, Period>::zero())) [[unlikely]] {
            return detail::errc_failure(std::errc::invalid_argument,
                                        "poller wait (negative or NaN timeout)");
        }
        const auto now = deadline::clock::now();
        if (std::chrono::duration<long double>(timeout) >=
            std::chrono::duration<long double>(deadline::clock::time_point::max() - now))
            [[unlikely]] {
            return detail::errc_failure(std::errc::value_too_large, "poller wait (timeout)");
        }
        return wait(events, deadline(now + std::chrono::ceil<deadline::clock::duration>(timeout)));
    }

    /// Makes a `wait` in another thread (or the next one) return. Safe from any thread and from
    /// a signal handler (it is one write(2) to an eventfd); wakes that arrive before the wait
    /// collapse into one.
    result<void> wake() const noexcept {
        if (!wake_.is_open()) [[unlikely]] {
            return detail::errc_failure(std::errc::bad_file_descriptor, "poller wake");
        }
        return detail::eventfd_signal(wake_.get());
    }

    /// The epoll descriptor (to nest this poller in another one, say).
    [[nodiscard]] int native_handle() const noexcept { return epoll_.get(); }
    /// True once `open` succeeded.
    [[nodiscard]] bool is_open() const noexcept { return epoll_.is_open(); }

private:
    poller(file_descriptor epoll, file_descriptor wakeup) noexcept
        : epoll_(std::move(epoll)),
          wake_(std::move(wakeup)) {}

    static epoll_event* native(std::span<event> events) noexcept {
        // `event` is exactly an epoll_event (asserted below): the array is the kernel's.
        return reinterpret_cast<epoll_event*>(events.data());
    }

    result<void> control(int op, int fd, poll_interest what, std::uint64_t token,
                         const char* operation) noexcept {
        if (fd < 0) [[unlikely]] {
            return detail::errc_failure(std::errc::bad_file_descriptor, operation);
        }
        if (token == wake_token && op != EPOLL_CTL_DEL) [[unlikely]] {
            return detail::errc_failure(std::errc::invalid_argument, operation);
        }
        return detail::epoll_control(epoll_.get(), op, fd, what.bits(), token, operation);
    }

    file_descriptor epoll_;
    file_descriptor wake_;
};

static_assert(sizeof(poller::event) == sizeof(epoll_event) &&
                  alignof(poller::event) == alignof(epoll_event) &&
                  std::is_standard_layout_v<poller::event>,
              "poller::event must be exactly an epoll_event: wait hands the array to the kernel");

/// A token that a closed connection cannot share with its successor: a slot index in the
/// caller's connection table and the slot's generation, which the caller increments each time
/// the slot is reused. Packed into the 64 bits a registration carries.
struct slot_token {
    std::uint32_t index = 0;      ///< the slot in the caller's table
    std::uint32_t generation = 0; ///< how many times the slot had been reused at registration

    /// The 64-bit token for `poller::add` (never `poller::wake_token` while generation is below
    /// 2^32 - 1).
    [[nodiscard]] constexpr std::uint64_t pack() const noexcept {
        return (std::uint64_t{generation} << 32U) | index;
    }
    /// The slot and generation a packed token names.
    [[nodiscard]] static constexpr slot_token unpack(std::uint64_t token) noexcept {
        return {static_cast<std::uint32_t>(token & 0xffff'ffffU),
                static_cast<std::uint32_t>(token >> 32U)};
    }
    /// Same slot and generation.
    friend constexpr bool operator==(slot_token, slot_token) noexcept = default;
};

} // namespace netkit
