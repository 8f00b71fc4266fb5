#pragma once

// The system calls of file transfer, wrapped once each: sendfile(2), splice(2), pipe2(2), fstat(2),
// the pipe size fcntls, and the signal-mask calls that keep sendfile and splice from raising
// SIGPIPE (neither takes MSG_NOSIGNAL: see sigpipe_guard in detail/transfer_guards.hpp).

#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/sys/syscall_core.hpp>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <ctime>
#include <utility>

#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace netkit::detail {

/// sendfile(2) from `file` at `*offset` (advanced by the kernel) to `out`. Returns 0 at the end
/// of the file. EINTR is retried: nothing went, or the kernel returned the count instead.
inline result<std::size_t> send_file(int out, int file, off_t* offset, std::size_t count) noexcept {
    return byte_count(retry_on_interrupt([&] { return ::sendfile(out, file, offset, count); }),
                      "sendfile");
}

/// splice(2). Offsets are null for pipes and sockets; a file's offset is advanced by the kernel.
inline result<std::size_t> splice(int in, loff_t* in_offset, int out, loff_t* out_offset,
                                  std::size_t count, unsigned flags) noexcept {
    return byte_count(
        retry_on_interrupt([&] { return ::splice(in, in_offset, out, out_offset, count, flags); }),
        "splice");
}

/// pipe2(2) with O_CLOEXEC (and `extra`, such as O_NONBLOCK): the read end, then the write end.
inline result<std::pair<file_descriptor, file_descriptor>> open_pipe(int extra) noexcept {
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC | extra) != 0) [[unlikely]] {
        return errno_failure("pipe2");
    }
    return std::pair{file_descriptor(fds[0]), file_descriptor(fds[1])};
}

/// fstat(2).
inline result<struct stat> file_status(int fd, const char* operation = "fstat") noexcept {
    struct stat status {};
    if (::fstat(fd, &status) != 0) [[unlikely]] {
        return errno_failure(operation);
    }
    return status;
}

/// fcntl(F_GETPIPE_SZ): a pipe's capacity in bytes.
inline result<std::size_t> pipe_size(int fd) noexcept {
    const int size = ::fcntl(fd, F_GETPIPE_SZ);
    if (size < 0) [[unlikely]] {
        return errno_failure("fcntl(F_GETPIPE_SZ)");
    }
    return static_cast<std::size_t>(size);
}

/// fcntl(F_SETPIPE_SZ): the capacity the kernel chose (a power of two of pages, at least `size`).
inline result<std::size_t> set_pipe_size(int fd, int size) noexcept {
    const int set = ::fcntl(fd, F_SETPIPE_SZ, size);
    if (set < 0) [[unlikely]] {
        return errno_failure("fcntl(F_SETPIPE_SZ)");
    }
    return static_cast<std::size_t>(set);
}

/// ioctl(FIONREAD): bytes waiting to be read (in a pipe: all it holds).
inline result<std::size_t> bytes_readable(int fd) noexcept {
    int count = 0;
    if (::ioctl(fd, FIONREAD, &count) != 0) [[unlikely]] {
        return errno_failure("ioctl(FIONREAD)");
    }
    return static_cast<std::size_t>(count);
}

/// pthread_sigmask(SIG_BLOCK, {SIGPIPE}): the calling thread's mask before.
inline sigset_t block_sigpipe() noexcept {
    sigset_t pipe_only;
    sigset_t before;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    // Cannot fail with a valid `how` and set.
    (void)::pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
    return before;
}

/// pthread_sigmask(SIG_SETMASK, `mask`).
inline void restore_signal_mask(const sigset_t& mask) noexcept {
    (void)::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
}

/// sigpending(2): whether a SIGPIPE waits for this thread or the process.
inline bool sigpipe_pending() noexcept {
    sigset_t pending;
    sigemptyset(&pending);
    (void)::sigpending(&pending);
    return sigismember(&pending, SIGPIPE) == 1;
}

/// sigtimedwait(2) with a zero timeout: takes a pending SIGPIPE away, if there is one.
inline void consume_sigpipe() noexcept {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    const timespec now{0, 0};
    (void)retry_on_interrupt([&] { return ::sigtimedwait(&pipe_only, nullptr, &now); });
}

} // namespace netkit::detail
