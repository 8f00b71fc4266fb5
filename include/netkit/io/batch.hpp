#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/message_calls.hpp>
#include <netkit/detail/readiness_wait.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/msg/batch.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/socket/socket.hpp>
#include <netkit/sys/syscall.hpp>

#include <cstddef>
#include <span>

#include <poll.h>
#include <sys/socket.h>

namespace netkit {

namespace detail {

inline mmsghdr* native_entries(std::span<message_header> messages) noexcept {
    return &messages.front().native_entry();
}

inline unsigned entry_count(std::span<message_header> messages) noexcept {
    return static_cast<unsigned>(messages.size());
}

// Bytes of the first `count` messages: what a batch that stopped had moved.
inline std::size_t bytes_of(std::span<message_header> messages, std::size_t count) noexcept {
    std::size_t total = 0;
    for (std::size_t i = 0; i < count && i < messages.size(); ++i) {
        total += messages[i].transferred();
    }
    return total;
}

// Flags every batch receive adds: the real size of a truncated datagram, and descriptors that
// arrive closed on exec like every other netkit descriptor.
template <protocol_tag P>
inline constexpr int batch_receive_flags = truncation_flag<P> | MSG_CMSG_CLOEXEC;

} // namespace detail

/// Sends the batch's messages not yet sent, in one sendmmsg(2); returns how many went this call
/// (0 when none was pending, without a system call). The batch remembers them (`completed()`),
/// so calling again after a partial send carries on from the first message that did not go:
/// none is sent twice. Errors: those of sendmmsg for the first pending message (for instance
/// `would_block` on a non-blocking socket whose buffer is full).
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K>
result<std::size_t> send_batch(basic_socket<P>& sock, message_batch<P, N, B, K>& batch,
                               send_flags flags = {}) noexcept {
    const auto pending = batch.pending();
    if (pending.empty()) {
        return std::size_t{0};
    }
    auto sent = detail::send_messages(sock.native_handle(), detail::native_entries(pending),
                                      detail::entry_count(pending), flags.bits());
    if (sent) {
        batch.mark_completed(*sent, false);
    }
    return sent;
}

/// Sends every message of the batch not yet sent, in as many sendmmsg(2) calls as it takes, by
/// `until`; returns how many went. On a non-blocking socket a full buffer is waited out (with
/// poll, bounded by the deadline). On failure `completed()` says which messages went and the
/// error's `bytes_transferred()` how many bytes this call moved; a later call carries on.
/// Errors: `timed_out` when the deadline passes first; those of sendmmsg.
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K>
result<std::size_t> send_batch_all(basic_socket<P>& sock, message_batch<P, N, B, K>& batch,
                                   send_flags flags = {},
                                   deadline until = deadline::never()) noexcept {
    detail::readiness_wait wait(sock.native_handle(), POLLOUT, flags.bits(), until, "sendmmsg");
    const std::size_t first = batch.completed();
    while (!batch.pending().empty()) {
        const auto pending = batch.pending();
        auto sent =
            detail::send_messages(sock.native_handle(), detail::native_entries(pending),
                                  detail::entry_count(pending), flags.bits() | wait.step_flags());
        if (!sent) {
            if (auto go_on = wait.after(sent.error()); !go_on) {
                error stopped = go_on.error();
                const auto moved =
                    std::span<message_header>(&batch.header(0), batch.size()).subspan(first);
                return failure{stopped.with_bytes_transferred(
                    detail::bytes_of(moved, batch.completed() - first))};
            }
            continue;
        }
        batch.mark_completed(*sent, false);
    }
    return batch.completed() - first;
}

/// `send_batch_all` with a timeout from now.
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K, class Rep, class Period>
result<std::size_t> send_batch_all(basic_socket<P>& sock, message_batch<P, N, B, K>& batch,
                                   send_flags flags,
                                   std::chrono::duration<Rep, Period> timeout) noexcept {
    return send_batch_all(sock, batch, flags, deadline::after(timeout));
}

/// Receives up to the batch's size of messages in one recvmmsg(2) with MSG_WAITFORONE: the first
/// is waited for, then every one already queued is taken, up to the batch's size. Returns how
/// many arrived; message `i` is then read with `info(i)`, `bytes(i)` and `control(i)`. Every
/// message added is received into anew: the previous receive's results are gone.
///
/// Like every one-call operation it waits as the socket does: a blocking socket blocks for the
/// first message, a non-blocking one (or `receive_flag::dont_wait`) returns `would_block` when
/// none is queued. With a deadline it waits for the first until then, whatever the mode.
/// Errors: `timed_out` when the deadline passes with nothing received; those of recvmmsg.
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K>
result<std::size_t> receive_batch(basic_socket<P>& sock, message_batch<P, N, B, K>& batch,
                                  receive_flags flags = {},
                                  deadline until = deadline::never()) noexcept {
    batch.prepare_receive();
    if (batch.empty()) {
        return std::size_t{0};
    }
    const int fd = sock.native_handle();
    const int call_flags = flags.bits() | detail::batch_receive_flags<P> | MSG_WAITFORONE;
    const auto pending = batch.pending();
    if (until.is_never()) {
        auto got = detail::receive_messages(fd, detail::native_entries(pending),
                                            detail::entry_count(pending), call_flags);
        if (got) {
            batch.mark_completed(*got, true);
        }
        return got;
    }
    detail::readiness_wait wait(fd, POLLIN, flags.bits(), until, "recvmmsg");
    for (;;) {
        auto got =
            detail::receive_messages(fd, detail::native_entries(pending),
                                     detail::entry_count(pending), call_flags | wait.step_flags());
        if (got) {
            batch.mark_completed(*got, true);
            return got;
        }
        if (auto go_on = wait.after(got.error()); !go_on) {
            return failure{go_on.error()};
        }
    }
}

/// `receive_batch` with a timeout from now.
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K, class Rep, class Period>
result<std::size_t> receive_batch(basic_socket<P>& sock, message_batch<P, N, B, K>& batch,
                                  receive_flags flags,
                                  std::chrono::duration<Rep, Period> timeout) noexcept {
    return receive_batch(sock, batch, flags, deadline::after(timeout));
}

/// Receives until every message the batch holds has arrived, by `until`; returns how many
/// (the batch's size). Like `send_all` it finishes what it promised: on a non-blocking socket it
/// waits with poll. Each call is made with MSG_WAITFORONE, so the kernel never sleeps after a
/// message arrived, where a signal would leave an error behind for the next call.
/// Errors: `timed_out` when the deadline passes first, with `completed()` saying how many
/// arrived (they are there to read); those of recvmmsg.
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K>
result<std::size_t> receive_batch_all(basic_socket<P>& sock, message_batch<P, N, B, K>& batch,
                                      receive_flags flags = {},
                                      deadline until = deadline::never()) noexcept {
    batch.prepare_receive();
    detail::readiness_wait wait(sock.native_handle(), POLLIN, flags.bits(), until, "recvmmsg");
    while (!batch.pending().empty()) {
        const auto pending = batch.pending();
        auto got = detail::receive_messages(
            sock.native_handle(), detail::native_entries(pending), detail::entry_count(pending),
            flags.bits() | detail::batch_receive_flags<P> | MSG_WAITFORONE | wait.step_flags());
        if (got) {
            batch.mark_completed(*got, true);
            continue;
        }
        if (auto go_on = wait.after(got.error()); !go_on) {
            return failure{go_on.error()};
        }
    }
    return batch.completed();
}

/// `receive_batch_all` with a timeout from now.
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K, class Rep, class Period>
result<std::size_t> receive_batch_all(basic_socket<P>& sock, message_batch<P, N, B, K>& batch,
                                      receive_flags flags,
                                      std::chrono::duration<Rep, Period> timeout) noexcept {
    return receive_batch_all(sock, batch, flags, deadline::after(timeout));
}

} // namespace netkit
