#pragma once

// What the sendfile and splice loops hold while they run: no SIGPIPE (neither call takes
// MSG_NOSIGNAL, and the kernel raises SIGPIPE on a closed peer as it does for a plain write), and,
// under a deadline, non-blocking sockets (neither call has MSG_DONTWAIT, and SPLICE_F_NONBLOCK
// reaches the socket on some protocols only: Unix stream sockets honour it, TCP does not).

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/sys/file_syscalls.hpp>
#include <netkit/sys/syscall.hpp>

#include <cerrno>
#include <csignal>
#include <system_error>

#include <fcntl.h>

namespace netkit::detail {

/// Blocks SIGPIPE in the calling thread for its lifetime (one pthread_sigmask each way per loop,
/// not per call), and takes away the SIGPIPE that a broken pipe raised, so that the caller sees
/// EPIPE as a value and no signal afterwards. The kernel directs that SIGPIPE at the thread that
/// made the call, so the thread's mask holds it. A SIGPIPE that was pending before the guard
/// (the caller had blocked it already) is left alone: signals of one number do not queue, and
/// taking it would take the caller's.
class sigpipe_guard {
public:
    sigpipe_guard() noexcept
        : before_(block_sigpipe()),
          was_blocked_(sigismember(&before_, SIGPIPE) == 1),
          was_pending_(was_blocked_ && sigpipe_pending()) {}
    sigpipe_guard(const sigpipe_guard&) = delete;
    sigpipe_guard& operator=(const sigpipe_guard&) = delete;
    ~sigpipe_guard() {
        if (!was_blocked_) {
            restore_signal_mask(before_);
        }
    }

    /// After a call failed with `failed`: a broken pipe raised SIGPIPE as well; take it.
    void after(const error& failed) noexcept {
        if (failed.code() == std::errc::broken_pipe && !was_pending_) {
            consume_sigpipe();
        }
    }

private:
    sigset_t before_;
    bool was_blocked_;
    bool was_pending_;
};

/// Under a deadline, makes a blocking socket non-blocking for the lifetime of the object and
/// blocking again afterwards, so that no sendfile or splice sleeps past the deadline. Without a
/// deadline it makes no call. Other users of the same descriptor see it non-blocking meanwhile.
class non_blocking_while {
public:
    non_blocking_while(int fd, deadline until) noexcept {
        if (until.is_never()) {
            return;
        }
        auto flags = status_flags(fd);
        if (!flags) {
            failed_ = flags.error();
            return;
        }
        if ((*flags & O_NONBLOCK) == 0) {
            if (auto set = set_non_blocking(fd, true); !set) {
                failed_ = set.error();
                return;
            }
            fd_ = fd;
        }
    }
    non_blocking_while(const non_blocking_while&) = delete;
    non_blocking_while& operator=(const non_blocking_while&) = delete;
    ~non_blocking_while() {
        if (fd_ >= 0) {
            (void)set_non_blocking(fd_, false);
        }
    }

    /// The fcntl error that kept the socket as it was, if any.
    [[nodiscard]] result<void> status() const noexcept {
        if (failed_.code()) {
            return failure{failed_};
        }
        return {};
    }

private:
    int fd_ = -1;
    error failed_{std::error_code(), "fcntl"};
};

} // namespace netkit::detail
