#pragma once

// The blocking tier's loops (send_all, receive_exact, a one-call operation with a deadline) as
// free functions of a descriptor: basic_socket's members are one line each over these, and the
// waiting machinery stays out of line (see docs/design.md, "System calls").

#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/cursor.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/coalesce.hpp>
#include <netkit/detail/iovec_io.hpp>
#include <netkit/detail/readiness_wait.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/sys/syscall.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit::detail {

// The loop's failure, saying how far it got.
inline failure stopped_after(error failed, std::size_t bytes) noexcept {
    return failure{failed.with_bytes_transferred(bytes)};
}

// A sequence that is not one array (a std::deque, a list, a view) has no iovec array to
// hand over: its descriptors are copied to the stack a window of IOV_MAX at a time, and
// each window is transferred whole before the next, which on a stream keeps the byte order.
template <class S, class Transfer>
[[gnu::noinline]] inline result<std::size_t> transfer_in_windows(const S& buffers,
                                                                 Transfer transfer) noexcept {
    std::array<iovec, max_buffers_per_call> window; // NOLINT: filled before it is read
    std::size_t filled = 0;
    std::size_t done = 0;
    auto flush = [&]() noexcept -> result<void> {
        auto moved = transfer(std::span<const iovec>(window.data(), filled));
        filled = 0;
        if (!moved) {
            return stopped_after(moved.error(), done + moved.error().bytes_transferred());
        }
        done += *moved;
        return {};
    };
    for (const auto& piece : buffers) {
        window[filled++] = to_iovec(piece);
        if (filled == window.size()) {
            if (auto flushed = flush(); !flushed) {
                return failure{flushed.error()};
            }
        }
    }
    if (filled != 0) {
        if (auto flushed = flush(); !flushed) {
            return failure{flushed.error()};
        }
    }
    return done;
}

// Under a deadline each step of a loop passes MSG_DONTWAIT, so that none blocks past it.
template <class Flags, class Until>
Flags step_flags(Flags flags, Until until) noexcept {
    if constexpr (std::is_same_v<Until, no_deadline_t>) {
        return flags;
    } else {
        const deadline d(until);
        return d.is_never() ? flags : flags | Flags::from_native(MSG_DONTWAIT);
    }
}

// One call at a time until `step` succeeds or fails for a reason other than EAGAIN, waiting
// for readiness in between until `until`: the blocking-with-a-deadline form of a one-call
// operation. `step(extra)` makes the call with `extra` added to its flags.
template <class Step>
auto with_deadline(int fd, short events, deadline until, const char* operation, Step step) noexcept
    -> decltype(step(0)) {
    if (until.is_never()) {
        return step(0);
    }
    for (;;) {
        auto done = step(MSG_DONTWAIT);
        if (done || !done.error().would_block()) {
            return done;
        }
        auto ready = poll_one(fd, events, until);
        if (!ready) {
            return failure{ready.error()};
        }
        if (*ready == 0) {
            return errc_failure(errc::deadline_passed, operation);
        }
    }
}

// The rest of send_all_bytes after a step failed: out of line, so that the loop that sends
// at once carries no waiting machinery.
[[gnu::noinline]] inline result<std::size_t>
send_all_bytes_after(int fd, const char* data, std::size_t size, std::size_t sent, send_flags flags,
                     deadline until, error failed) noexcept {
    readiness_wait wait(fd, POLLOUT, flags.bits(), until, "send_all");
    const int step = step_flags(flags, until).bits();
    for (;;) {
        if (auto go_on = wait.after(failed); !go_on) {
            return stopped_after(go_on.error(), sent);
        }
        for (;;) {
            auto more = send(fd, data + sent, size - sent, step);
            if (!more) {
                failed = more.error();
                break;
            }
            sent += *more;
            if (sent == size) {
                return sent;
            }
        }
    }
}

// A contiguous range: the same loop as hand-written C (send until done), no iovec at all.
// Always inlined, as that loop would be: g++ otherwise keeps it out of line, which callgrind
// shows as a quarter more instructions per message than C.
template <class Until>
[[gnu::always_inline]] inline result<std::size_t>
send_all_bytes(int fd, const char* data, std::size_t size, send_flags flags, Until until) noexcept {
    const int step = step_flags(flags, until).bits();
    std::size_t sent = 0;
    while (sent < size) {
        auto more = send(fd, data + sent, size - sent, step);
        if (!more) [[unlikely]] {
            return send_all_bytes_after(fd, data, size, sent, flags, until, more.error());
        }
        sent += *more;
    }
    return sent;
}

// Out of line: the cursor's window (IOV_MAX iovecs) would otherwise enlarge, and probe, the
// stack frame of every send_all, although only short writes and huge sequences need it.
[[gnu::noinline]] inline result<std::size_t> send_rest(int fd, std::span<const iovec> iov,
                                                       std::size_t sent, send_flags step,
                                                       readiness_wait& wait) noexcept {
    buffer_cursor cursor(iov);
    cursor.consume(sent);
    while (!cursor.done()) {
        auto more = send_gathered(fd, cursor.next(), step.bits());
        if (!more) {
            if (auto go_on = wait.after(more.error()); !go_on) {
                return stopped_after(go_on.error(), sent);
            }
            continue;
        }
        sent += *more;
        cursor.consume(*more);
    }
    return sent;
}

// A message of small fragments: copied into one stack buffer (out of line, so that the gather
// path's frame does not carry it) and sent as one range. False, with nothing sent, when a
// fragment turns out too large to copy.
template <class Until>
[[gnu::noinline]] bool send_all_coalesced(int fd, std::span<const iovec> iov, send_flags flags,
                                          Until until, result<std::size_t>& sent) noexcept {
    const coalesced_bytes bytes(iov);
    if (bytes.size() == 0) {
        return false;
    }
    sent = send_all_bytes(fd, bytes.data(), bytes.size(), flags, until);
    if (!sent && std::string_view(sent.error().operation()) == "send") {
        sent = as_sendmsg_failure(sent.error(), nullptr, 0);
    }
    return true;
}

// `Coalesce`: whether a message of small fragments may be copied into one buffer (false for
// `exact_gather`).
template <bool Coalesce, class Until>
result<std::size_t> send_all_iovecs(int fd, std::span<const iovec> iov, send_flags flags,
                                    Until until) noexcept {
    if constexpr (Coalesce) {
        if (may_copy(iov, flags.bits())) {
            result<std::size_t> sent;
            if (send_all_coalesced(fd, iov, flags, until, sent)) {
                return sent;
            }
        }
    }
    // The common case: everything leaves in one call, straight from the caller's array. The
    // sum of the lengths is the one cost hand-written C can skip when it knows its total.
    if (iov.size() <= max_buffers_per_call) [[likely]] {
        auto first = send_gathered(fd, iov, step_flags(flags, until).bits());
        if (first && *first == iovec_total(iov)) [[likely]] {
            return *first; // not `first`: that would copy the whole error-capable storage
        }
        readiness_wait wait(fd, POLLOUT, flags.bits(), until, "send_all");
        if (!first) {
            if (auto go_on = wait.after(first.error()); !go_on) {
                return failure{go_on.error()};
            }
        }
        return send_rest(fd, iov, first ? *first : 0, step_flags(flags, until), wait);
    }
    readiness_wait wait(fd, POLLOUT, flags.bits(), until, "send_all");
    return send_rest(fd, iov, 0, step_flags(flags, until), wait);
}

template <class Until>
result<std::size_t> receive_exact_iovecs(int fd, std::span<const iovec> iov, receive_flags flags,
                                         Until until) noexcept {
    buffer_cursor cursor(iov);
    std::size_t received = 0;
    readiness_wait wait(fd, POLLIN, flags.bits(), until, "receive_exact");
    const receive_flags step = step_flags(flags, until);
    while (!cursor.done()) {
        const std::span<const iovec> next = cursor.next();
        auto got = receive_scattered(fd, next, step.bits());
        if (!got) {
            if (auto go_on = wait.after(got.error()); !go_on) {
                return stopped_after(go_on.error(), received);
            }
            continue;
        }
        if (*got == 0) {
            return stopped_after(error(make_error_code(errc::end_of_stream), "receive_exact"),
                                 received);
        }
        received += *got;
        cursor.consume(*got);
    }
    return received;
}

} // namespace netkit::detail
