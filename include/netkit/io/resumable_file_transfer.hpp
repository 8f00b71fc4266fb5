#pragma once

// The resumable tier of file transfer: sendfile(2), file -> pipe -> socket and socket -> pipe ->
// socket, each an object that a readiness loop (or the coroutine layer) steps whenever the socket
// is ready. A step never waits: it moves what fits and returns `would_block()` with its progress.

#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/file_transfer_loops.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/detail/transfer_guards.hpp>
#include <netkit/io/file_transfer.hpp>
#include <netkit/io/pipe.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>
#include <netkit/sys/file_syscalls.hpp>
#include <netkit/sys/syscall.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <system_error>

#include <fcntl.h>
#include <sys/types.h>

namespace netkit {

namespace detail {
// Neither sendfile nor splice takes MSG_DONTWAIT: only the socket's own O_NONBLOCK keeps a step
// from sleeping in the kernel, so a step refuses a blocking socket rather than stall its loop.
inline result<void> require_non_blocking(int sock, const char* operation) noexcept {
    auto flags = status_flags(sock);
    if (!flags) {
        return failure{flags.error()};
    }
    if ((*flags & O_NONBLOCK) == 0) {
        return errc_failure(std::errc::invalid_argument, operation);
    }
    return {};
}

inline failure stopped_at(const error& failed, std::size_t moved) noexcept {
    error stopped = failed;
    return failure{stopped.with_bytes_transferred(moved)};
}
} // namespace detail

/// A `send_file` that a readiness loop drives: `range` of the regular file `file` to a
/// non-blocking stream socket by sendfile(2), each `step` sending what the socket has room for.
///
/// The file is checked once, at the first step, as `send_file` checks it (a directory, what is
/// not a regular file, a range past the end: nothing is sent), and the socket must be
/// non-blocking (`std::errc::invalid_argument` otherwise: sendfile has no MSG_DONTWAIT, and a
/// blocking socket would stall the loop). The file's own offset is not moved.
///
/// SIGPIPE is blocked during each step and a raised one taken away (two pthread_sigmask calls per
/// step, not per sendfile call): the thread's mask is not held across steps, since the loop runs
/// other code between them, which must see its own signals as they were.
///
/// @par Example
/// @code
/// netkit::resumable_send_file out(file, {.offset = 0, .length = size});
/// // at first, and each time the poller says the socket is writable:
/// auto sent = out.step(client);
/// if (sent) { done(); }
/// else if (!sent.error().would_block()) { fail(sent.error()); } // bytes_transferred() went
/// @endcode
class resumable_send_file {
public:
    /// Sends `range` of `file` (a descriptor that must stay open until the transfer ends).
    explicit resumable_send_file(int file, file_range range = {}) noexcept
        : file_(file),
          offset_(range.offset),
          length_(range.length) {}

    /// sendfile(2) from where the last step stopped, call after call, until the range has gone
    /// (true) or the socket is full: a `would_block()` error, whose `bytes_transferred()` is the
    /// total sent so far; step again once it is writable. A step never returns false: it goes
    /// on while the socket takes bytes. Other errors are final, with the same count: those of
    /// the first step's checks, `broken_pipe` or `connection_reset` for a closed peer (never a
    /// SIGPIPE), `errc::end_of_stream` for a file that shrank under the transfer.
    template <can_stream P>
    result<bool> step(basic_socket<P>& socket) noexcept {
        const int sock = socket.native_handle();
        if (!checked_) {
            if (auto ready = start(sock); !ready) {
                return failure{ready.error()};
            }
        }
        if (sent_ == length_) {
            return true;
        }
        detail::sigpipe_guard no_signal;
        while (sent_ < length_) {
            const auto left = static_cast<std::size_t>(length_ - sent_);
            auto went = detail::send_file(sock, file_, &at_,
                                          detail::min_of(left, detail::max_transfer_step));
            if (!went) {
                no_signal.after(went.error());
                return detail::stopped_at(went.error(), bytes_transferred());
            }
            if (*went == 0) {
                return detail::file_ended(bytes_transferred(), "sendfile");
            }
            sent_ += *went;
        }
        return true;
    }

    /// True once the whole range has been sent.
    [[nodiscard]] bool done() const noexcept { return checked_ && sent_ == length_; }
    /// Bytes of the range sent so far: resume elsewhere from `range.offset` plus this.
    [[nodiscard]] std::size_t bytes_transferred() const noexcept {
        return static_cast<std::size_t>(sent_);
    }

private:
    result<void> start(int sock) noexcept {
        auto range = detail::check_range(file_, offset_, length_, "sendfile");
        if (!range) {
            return failure{range.error()};
        }
        if (auto mode = detail::require_non_blocking(sock, "sendfile (the socket must be "
                                                           "non-blocking)");
            !mode) {
            return mode;
        }
        length_ = range->length;
        at_ = static_cast<off_t>(range->offset);
        checked_ = true;
        return {};
    }

    int file_;
    std::uint64_t offset_;
    std::uint64_t length_;
    std::uint64_t sent_ = 0;
    off_t at_ = 0;
    bool checked_ = false;
};

/// `resumable_send_file` by splice(2) through `through` (file to pipe, pipe to socket): the same
/// contract, checks and errors, and `send_file_spliced`'s handling of the pipe: what it holds
/// when the first step starts is taken for the range's first bytes, and what had not reached the
/// socket when a step fails stays in it (`through.buffered()`), next in line.
///
/// The file side never waits (a regular file is always readable, and the pipe is filled only
/// once it is empty), so the socket's writability is the only readiness a step waits for.
class resumable_send_file_spliced {
public:
    /// Sends `range` of `file` through `through`; both must outlive the transfer.
    resumable_send_file_spliced(int file, pipe& through, file_range range = {}) noexcept
        : file_(file),
          through_(through),
          offset_(range.offset),
          length_(range.length) {}

    /// splice(2) calls from where the last step stopped until the range has gone (true) or the
    /// socket is full (`would_block()`, with `bytes_transferred()` the bytes that reached the
    /// socket); as `resumable_send_file::step`.
    template <can_stream P>
    result<bool> step(basic_socket<P>& socket) noexcept {
        const int sock = socket.native_handle();
        std::size_t& buffered = detail::pipe_access::buffered(through_);
        if (!checked_) {
            if (auto ready = start(sock, buffered); !ready) {
                return failure{ready.error()};
            }
        }
        if (sent_ == length_) {
            return true;
        }
        detail::sigpipe_guard no_signal;
        while (sent_ < length_) {
            if (sent_ == taken_) { // the pipe holds none of the range: refill it from the file
                const auto left = static_cast<std::size_t>(length_ - taken_);
                auto in = detail::splice(file_, &at_, through_.write_end(), nullptr,
                                         detail::min_of(left, through_.capacity()), SPLICE_F_MOVE);
                if (!in) {
                    return detail::stopped_at(in.error(), bytes_transferred());
                }
                if (*in == 0) {
                    return detail::file_ended(bytes_transferred(), "splice");
                }
                buffered += *in;
                taken_ += *in;
            }
            const unsigned more = taken_ < length_ ? SPLICE_F_MORE : 0U;
            auto out =
                detail::drain_pipe(through_.read_end(), sock, buffered, taken_ - sent_, more);
            if (!out) {
                no_signal.after(out.error());
                return detail::stopped_at(out.error(), bytes_transferred());
            }
            sent_ += *out;
        }
        return true;
    }

    /// True once the whole range has reached the socket.
    [[nodiscard]] bool done() const noexcept { return checked_ && sent_ == length_; }
    /// Bytes of the range that reached the socket so far.
    [[nodiscard]] std::size_t bytes_transferred() const noexcept {
        return static_cast<std::size_t>(sent_);
    }

private:
    result<void> start(int sock, std::size_t buffered) noexcept {
        auto range = detail::check_range(file_, offset_, length_, "splice");
        if (!range) {
            return failure{range.error()};
        }
        if (auto mode =
                detail::require_non_blocking(sock, "splice (the socket must be non-blocking)");
            !mode) {
            return mode;
        }
        length_ = range->length;
        taken_ = detail::min_of<std::uint64_t>(buffered, length_);
        at_ = static_cast<loff_t>(range->offset + taken_);
        checked_ = true;
        return {};
    }

    int file_;
    pipe& through_;
    std::uint64_t offset_;
    std::uint64_t length_;
    std::uint64_t sent_ = 0;  // reached the socket
    std::uint64_t taken_ = 0; // reached the pipe (or were in it at the start)
    loff_t at_ = 0;
    bool checked_ = false;
};

/// The side a `resumable_splice` waits for after a `would_block()` step.
enum class splice_side : unsigned char {
    /// The source had nothing to read: wait until it is readable.
    source,
    /// The destination had no room: wait until it is writable.
    destination,
};

/// A `splice_all` that a readiness loop drives: bytes from one non-blocking stream socket to
/// another through `through`, without copying them into the process, until the source's stream
/// ends, `limit` bytes reached the destination, or the caller stops stepping. Each step splices
/// until one side would block; `waiting_for()` then says which one to wait for.
///
/// The pipe is filled only when empty, so a failing source never strands bytes in it; bytes it
/// holds when the destination fails stay there (`through.buffered()`) and go first at the next
/// step, or with the next `splice_all` given the same pipe.
class resumable_splice {
public:
    /// Relays up to `limit` bytes (by default, until end of stream) through `through`, which
    /// must outlive the operation.
    explicit resumable_splice(
        pipe& through, std::uint64_t limit = std::numeric_limits<std::uint64_t>::max()) noexcept
        : through_(through),
          limit_(limit) {}

    /// splice(2) calls from `from` into the pipe and from the pipe to `to` until the source's
    /// stream ended or `limit` bytes went (true: `bytes_transferred()` says how many), or one
    /// side would block: a `would_block()` error with the count so far, and `waiting_for()`
    /// naming the side. Both sockets must be non-blocking (`invalid_argument` otherwise, checked
    /// at the first step). Other errors are final: a closed or reset destination is
    /// `broken_pipe` or `connection_reset`, never a SIGPIPE.
    template <can_stream P, can_stream Q>
    result<bool> step(basic_socket<P>& from, basic_socket<Q>& to) noexcept {
        const int source = from.native_handle();
        const int destination = to.native_handle();
        if (!checked_) {
            const char* why = "splice (both sockets must be non-blocking)";
            if (auto mode = detail::require_non_blocking(source, why); !mode) {
                return failure{mode.error()};
            }
            if (auto mode = detail::require_non_blocking(destination, why); !mode) {
                return failure{mode.error()};
            }
            checked_ = true;
        }
        std::size_t& buffered = detail::pipe_access::buffered(through_);
        detail::sigpipe_guard no_signal;
        while (!ended_ && moved_ < limit_) {
            const std::uint64_t left = limit_ - moved_;
            if (buffered > 0) {
                auto out = detail::drain_pipe(through_.read_end(), destination, buffered, left, 0);
                if (!out) {
                    no_signal.after(out.error());
                    waiting_ = splice_side::destination;
                    return detail::stopped_at(out.error(), bytes_transferred());
                }
                moved_ += *out;
                continue;
            }
            const auto want =
                static_cast<std::size_t>(detail::min_of<std::uint64_t>(left, through_.capacity()));
            auto in =
                detail::splice(source, nullptr, through_.write_end(), nullptr, want, SPLICE_F_MOVE);
            if (!in) {
                waiting_ = splice_side::source;
                return detail::stopped_at(in.error(), bytes_transferred());
            }
            if (*in == 0) {
                ended_ = true;
                break;
            }
            buffered += *in;
        }
        return true;
    }

    /// After a `would_block()` step: the side to wait for.
    [[nodiscard]] splice_side waiting_for() const noexcept { return waiting_; }
    /// True once the source's stream ended or `limit` bytes went.
    [[nodiscard]] bool done() const noexcept { return ended_ || moved_ >= limit_; }
    /// True once the source's stream ended.
    [[nodiscard]] bool source_ended() const noexcept { return ended_; }
    /// Bytes that reached the destination so far.
    [[nodiscard]] std::size_t bytes_transferred() const noexcept {
        return static_cast<std::size_t>(moved_);
    }

private:
    pipe& through_;
    std::uint64_t limit_;
    std::uint64_t moved_ = 0;
    splice_side waiting_ = splice_side::source;
    bool checked_ = false;
    bool ended_ = false;
};

} // namespace netkit
