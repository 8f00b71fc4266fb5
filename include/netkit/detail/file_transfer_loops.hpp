#pragma once

// The loops of sendfile and splice: a file range checked against the file before anything is
// sent, and each loop advanced over short transfers, waiting for readiness as send_all does
// (detail/readiness_wait.hpp), stopping with the count of what went.

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/readiness_wait.hpp>
#include <netkit/detail/transfer_guards.hpp>
#include <netkit/sys/file_syscalls.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>

namespace netkit::detail {

// The most one sendfile or splice moves (MAX_RW_COUNT): asking for more only gets this.
inline constexpr std::size_t max_transfer_step = 0x7ffff000;

inline constexpr std::uint64_t whole_rest = std::numeric_limits<std::uint64_t>::max();

struct checked_range {
    std::uint64_t offset;
    std::uint64_t length;
};

// The range to send, from what fstat says of `file`: refused before a byte goes when the file is
// not a regular file (only a regular file has a size to check a range against, and sendfile
// refuses pipes, sockets and directories anyway), when `offset` is past the end, or when
// `length` runs past it.
inline result<checked_range> check_range(int file, std::uint64_t offset, std::uint64_t length,
                                         const char* operation) noexcept {
    auto status = file_status(file, operation);
    if (!status) {
        return failure{status.error()};
    }
    if (S_ISDIR(status->st_mode)) {
        return errc_failure(std::errc::is_a_directory, operation);
    }
    if (!S_ISREG(status->st_mode)) {
        return failure{error(std::make_error_code(std::errc::invalid_argument),
                             "send_file: not a regular file")};
    }
    const auto size = static_cast<std::uint64_t>(status->st_size);
    if (offset > size) {
        return failure{error(std::make_error_code(std::errc::invalid_argument),
                             "send_file: offset past the end of the file")};
    }
    if (length == whole_rest) {
        return checked_range{offset, size - offset};
    }
    if (length > size - offset) {
        return failure{error(std::make_error_code(std::errc::invalid_argument),
                             "send_file: range past the end of the file")};
    }
    return checked_range{offset, length};
}

// A transfer that made no progress although bytes were promised: the file shrank after it was
// checked. Its own error, so that the loop ends instead of asking again forever.
inline failure file_ended(std::size_t sent, const char* operation) noexcept {
    error ended(make_error_code(errc::end_of_stream), operation);
    return failure{ended.with_bytes_transferred(sent)};
}

// sendfile(2) until `range` is sent, waiting for room as send_all does.
inline result<std::size_t> send_file_loop(int sock, int file, checked_range range,
                                          deadline until) noexcept {
    non_blocking_while mode(sock, until);
    if (auto ok = mode.status(); !ok) {
        return failure{ok.error()};
    }
    sigpipe_guard no_signal;
    readiness_wait wait(sock, POLLOUT, 0, until, "sendfile");
    auto at = static_cast<off_t>(range.offset);
    std::size_t sent = 0;
    while (sent < range.length) {
        const auto left = static_cast<std::size_t>(range.length - sent);
        auto step = send_file(sock, file, &at, min_of(left, max_transfer_step));
        if (!step) {
            no_signal.after(step.error());
            if (auto go_on = wait.after(step.error()); !go_on) {
                error stopped = go_on.error();
                return failure{stopped.with_bytes_transferred(sent)};
            }
            continue;
        }
        if (*step == 0) {
            return file_ended(sent, "sendfile");
        }
        sent += *step;
    }
    return sent;
}

// Moves to `to` up to `max` of the `buffered` bytes the pipe holds; on failure the pipe keeps
// what did not go.
inline result<std::size_t> drain_pipe(int read_end, int to, std::size_t& buffered,
                                      std::uint64_t max, unsigned flags) noexcept {
    const auto most = static_cast<std::size_t>(min_of<std::uint64_t>(buffered, max));
    auto out = splice(read_end, nullptr, to, nullptr, most, SPLICE_F_MOVE | flags);
    if (out) {
        buffered -= *out;
    }
    return out;
}

// file -> pipe -> socket until `range` is sent: sendfile's loop made of two splices, for what
// sendfile cannot do (and to measure against it). SPLICE_F_MORE goes with every part but the
// last, as sendfile does inside the kernel.
//
// What the pipe holds when the loop starts (`buffered`, left by an earlier call that failed) is
// taken for the range's first bytes: an earlier call counted only what reached the socket, so
// those bytes are the file's next ones after `offset + bytes_transferred()`, where a resume
// starts. They go first, and the file is read from where they end. A range shorter than what the
// pipe holds takes only its first `length` bytes from it; the rest stay there, next in line.
// Throughout, the pipe holds the range's bytes [sent, taken), then those it held beyond the range.
inline result<std::size_t> send_file_spliced_loop(int sock, int file, checked_range range,
                                                  int read_end, int write_end, std::size_t capacity,
                                                  std::size_t& buffered, deadline until) noexcept {
    non_blocking_while mode(sock, until);
    if (auto ok = mode.status(); !ok) {
        return failure{ok.error()};
    }
    sigpipe_guard no_signal;
    readiness_wait wait(sock, POLLOUT, 0, until, "splice");
    std::uint64_t taken = min_of<std::uint64_t>(buffered, range.length);
    auto at = static_cast<loff_t>(range.offset + taken);
    std::size_t sent = 0;
    while (sent < range.length) {
        if (sent == taken) {
            const auto left = static_cast<std::size_t>(range.length - taken);
            auto in = splice(file, &at, write_end, nullptr, min_of(left, capacity), SPLICE_F_MOVE);
            if (!in) {
                error stopped = in.error();
                return failure{stopped.with_bytes_transferred(sent)};
            }
            if (*in == 0) {
                return file_ended(sent, "splice");
            }
            buffered += *in;
            taken += *in;
        }
        const unsigned more = taken < range.length ? SPLICE_F_MORE : 0;
        auto out = drain_pipe(read_end, sock, buffered, taken - sent, more);
        if (!out) {
            no_signal.after(out.error());
            if (auto go_on = wait.after(out.error()); !go_on) {
                error stopped = go_on.error();
                return failure{stopped.with_bytes_transferred(sent)};
            }
            continue;
        }
        sent += *out;
    }
    return sent;
}

// socket -> pipe -> socket until the source ends, `limit` bytes reached the destination, or
// `until` passed. The pipe is filled only when empty, so a failing source never strands bytes
// in it; bytes it holds when the destination fails stay there (`buffered`), and the next call
// delivers them first, as part of its `limit`: of those, it moves no more than `limit`, and the
// rest stay in the pipe.
inline result<std::size_t> splice_all_loop(int from, int to, int read_end, int write_end,
                                           std::size_t capacity, std::size_t& buffered,
                                           std::uint64_t limit, deadline until) noexcept {
    non_blocking_while from_mode(from, until);
    non_blocking_while to_mode(to, until);
    if (auto ok = from_mode.status(); !ok) {
        return failure{ok.error()};
    }
    if (auto ok = to_mode.status(); !ok) {
        return failure{ok.error()};
    }
    sigpipe_guard no_signal;
    readiness_wait readable(from, POLLIN, 0, until, "splice");
    readiness_wait writable(to, POLLOUT, 0, until, "splice");
    std::size_t moved = 0;
    while (moved < limit) {
        const std::uint64_t left = limit - moved;
        if (buffered > 0) {
            auto out = drain_pipe(read_end, to, buffered, left, 0);
            if (!out) {
                no_signal.after(out.error());
                if (auto go_on = writable.after(out.error()); !go_on) {
                    error stopped = go_on.error();
                    return failure{stopped.with_bytes_transferred(moved)};
                }
                continue;
            }
            moved += *out;
            continue;
        }
        const auto want = static_cast<std::size_t>(min_of<std::uint64_t>(left, capacity));
        auto in = splice(from, nullptr, write_end, nullptr, want, SPLICE_F_MOVE);
        if (!in) {
            if (auto go_on = readable.after(in.error()); !go_on) {
                error stopped = go_on.error();
                return failure{stopped.with_bytes_transferred(moved)};
            }
            continue;
        }
        if (*in == 0) {
            return moved; // end of stream
        }
        buffered += *in;
    }
    return moved;
}

} // namespace netkit::detail
