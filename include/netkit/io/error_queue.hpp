#pragma once

// Reading the socket's error queue (recvmsg with MSG_ERRQUEUE): ICMP errors with IP_RECVERR,
// MSG_ZEROCOPY completions, transmit timestamps. One entry per call, typed.

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/msg/cmsg.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/extended_error.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/option/socket.hpp>
#include <netkit/socket/socket.hpp>
#include <netkit/sys/syscall.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <system_error>

#include <poll.h>
#include <sys/socket.h>

namespace netkit {

/// One entry of a socket's error queue.
struct error_queue_entry {
    /// Bytes of the offending packet placed in the caller's buffer (0 with no buffer, and for
    /// zero-copy completions and timestamps taken with `timestamping_flag::opt_tsonly`).
    std::size_t size = 0;
    /// The length the kernel reports for the packet. On the error queue it reports the bytes it
    /// copied, not the real length, so this equals `size`; `truncated()` reads the flags.
    std::size_t message_size = 0;
    /// recvmsg's flags out (MSG_ERRQUEUE always; MSG_TRUNC, MSG_CTRUNC when something was cut).
    message_flags flags{};
    /// The extended error (IP_RECVERR or IPV6_RECVERR), absent only if the kernel sent none (a
    /// control area cut so short that it was lost is an error of `read_error_queue` instead).
    std::optional<extended_error> error{};
    /// SCM_TIMESTAMPING, for a transmit timestamp (`so::timestamping`).
    std::optional<cmsg::timestamping> timestamps{};
    /// IP_PKTINFO, with `timestamping_flag::opt_cmsg` on an IPv4 socket.
    std::optional<cmsg::ip_packet_info> packet_info{};

    /// The packet did not fit the buffer given (its tail is not in it).
    [[nodiscard]] constexpr bool truncated() const noexcept {
        return flags.truncated() || message_size > size;
    }
};

namespace detail {
// Room for everything one entry carries: the extended error (the IPv6 form is the larger), the
// three timestamps, IP_PKTINFO with opt_cmsg, and 384 bytes more for what else the socket may
// have enabled (TTL, TOS, options, the original destination), which the kernel writes before
// the extended error: cut short, the area would lose the error first.
inline constexpr std::size_t error_queue_control_space =
    control_space<cmsg::ipv6_extended_error, cmsg::timestamping, cmsg::ip_packet_info> +
    cmsg_space(384);

// A template on the messages' type: with it dependent, the payloads' decoding (each a
// std::optional of its own type) is compiled only by a program that reads an error queue.
template <class Messages>
void decode_error_queue_messages(error_queue_entry& entry, const Messages& messages) noexcept {
    for (const auto m : messages) {
        if (auto v4 = m.template as<cmsg::ip_extended_error>()) {
            entry.error = *v4;
        } else if (auto v6 = m.template as<cmsg::ipv6_extended_error>()) {
            entry.error = *v6;
        } else if (auto times = m.template as<cmsg::timestamping>()) {
            entry.timestamps = *times;
        } else if (auto info = m.template as<cmsg::ip_packet_info>()) {
            entry.packet_info = *info;
        }
    }
}
} // namespace detail

/// Reads one entry of the error queue into a typed result: recvmsg(2) with MSG_ERRQUEUE through
/// `receive_message`, never blocking (the error queue never does: an empty queue is an error
/// whose `would_block()` is true, on a blocking socket too). `payload` receives the bytes of the
/// packet the entry is about, if the kernel keeps them (a UDP datagram that drew an ICMP error);
/// leave it empty to take the entry without them (`truncated()` then says they were there).
///
/// A pending entry is signalled by POLLERR (in a `poller`, an event whose `error()` is true),
/// which poll and epoll report whatever the interest; it stays set while entries remain.
/// A pending ICMP error also sets SO_ERROR, which the next ordinary send or receive on a
/// connected socket reports once; reading the entry clears it.
///
/// Errors: `would_block()` when the queue is empty; the socket's own errors otherwise.
template <protocol_tag P>
result<error_queue_entry> read_error_queue(basic_socket<P>& sock,
                                           std::span<std::byte> payload = {}) noexcept {
    control_buffer<detail::error_queue_control_space> control;
    auto got =
        sock.receive_message(payload, control, receive_flag::error_queue | receive_flag::dont_wait);
    if (!got) {
        return failure{got.error()};
    }
    error_queue_entry entry;
    entry.size = got->size;
    // On a stream receive_info carries no message size; the entry's bytes are a whole packet.
    entry.message_size = detail::max_of(got->message_size, got->size);
    entry.flags = got->flags;
    detail::decode_error_queue_messages(entry, control.messages());
    if (!entry.error && entry.flags.control_truncated()) {
        // The entry is off the queue and its error is lost: say so, never hand over an entry
        // that looks like one without an error (a completion would be lost unnoticed).
        return detail::errc_failure(
            std::errc::no_buffer_space,
            "read_error_queue (control data cut short: the error was lost)");
    }
    return entry;
}

/// `read_error_queue` that waits until `until` for an entry (poll(2) for POLLERR): for a caller
/// that expects one (a completion, a timestamp) and has nothing else to do meanwhile. POLLERR
/// also stands for a pending socket error (SO_ERROR: a refused port on a connected UDP socket
/// without IP_RECVERR); with no entry queued, that error is returned, and cleared as reading
/// SO_ERROR clears it, rather than waited past. After a hang-up (POLLHUP, which wakes every
/// poll) it keeps looking every millisecond until the deadline: completions and timestamps of
/// data the kernel still holds may come after the connection is down.
/// Errors: `std::errc::timed_out` when no entry arrived by then; the pending socket error.
template <protocol_tag P>
result<error_queue_entry> read_error_queue(basic_socket<P>& sock, std::span<std::byte> payload,
                                           deadline until) noexcept {
    bool woken = false;
    for (;;) {
        auto entry = read_error_queue(sock, payload);
        if (entry || !entry.error().would_block()) {
            return entry;
        }
        if (woken) {
            auto pending = sock.get(so::error);
            if (pending && *pending != 0) {
                return failure{
                    error(std::error_code(*pending, std::system_category()), "read_error_queue")};
            }
            if (until.expired()) {
                return detail::errc_failure(errc::deadline_passed, "read_error_queue");
            }
        }
        // No interest: poll reports POLLERR (and POLLHUP) whatever it is asked for.
        auto ready = detail::poll_one(sock.native_handle(), 0, until);
        if (!ready) {
            return failure{ready.error()};
        }
        if (*ready == 0) {
            return detail::errc_failure(errc::deadline_passed, "read_error_queue");
        }
        woken = true;
        if ((*ready & POLLERR) == 0) {
            // A hang-up wakes every poll at once, yet entries can still come: the completion of
            // data the kernel still holds, a timestamp. Look again a millisecond later, until
            // the deadline, rather than spin or give up.
            const auto now = deadline::clock::now();
            const auto next = now + std::chrono::milliseconds(1);
            (void)detail::poll_one(-1, 0, deadline(until.at() < next ? until.at() : next));
        }
    }
}

} // namespace netkit
