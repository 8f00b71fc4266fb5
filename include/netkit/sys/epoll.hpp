#pragma once

// The system calls of the readiness poller (epoll(7) and the eventfd that wakes it), wrapped once
// each as sys/syscall.hpp wraps the socket calls: CLOEXEC on every descriptor, errno turned into
// an error value, EINTR retried through retry_on_interrupt only.

#include <netkit/core/deadline.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/sys/syscall.hpp>
#include <netkit/sys/syscall_core.hpp>

#include <climits>
#include <cstddef>
#include <cstdint>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace netkit::detail {

/// epoll_create1(2) with EPOLL_CLOEXEC.
inline result<file_descriptor> epoll_open() noexcept {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) [[unlikely]] {
        return errno_failure("epoll_create1");
    }
    return file_descriptor(fd);
}

/// epoll_ctl(2). `operation` names the call in the error ("poller add", ...).
inline result<void> epoll_control(int epoll_fd, int op, int fd, std::uint32_t events,
                                  std::uint64_t token, const char* operation) noexcept {
    epoll_event entry{};
    entry.events = events;
    entry.data.u64 = token;
    if (::epoll_ctl(epoll_fd, op, fd, op == EPOLL_CTL_DEL ? nullptr : &entry) != 0) [[unlikely]] {
        return errno_failure(operation);
    }
    return {};
}

/// epoll_wait(2) until `until`. After EINTR it waits for the time that is left, never the whole
/// timeout again (the timeout is recomputed inside the retried call, rounded up so that a wait
/// never ends before its deadline). Returns how many entries the kernel filled.
inline result<std::size_t> epoll_wait_until(int epoll_fd, epoll_event* events, std::size_t room,
                                            deadline until) noexcept {
    const int capacity =
        room > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(room);
    int ready = 0;
    do { // a timeout capped at INT_MAX ms ends before a far deadline: then wait again
        ready = retry_on_interrupt(
            [&] { return ::epoll_wait(epoll_fd, events, capacity, poll_timeout_until(until)); });
    } while (ready == 0 && !until.is_never() && !until.expired());
    if (ready < 0) [[unlikely]] {
        return errno_failure("poller wait");
    }
    return static_cast<std::size_t>(ready);
}

/// eventfd(2), CLOEXEC and non-blocking: a wake that finds the counter full, or a drain that finds
/// it empty, must not block.
inline result<file_descriptor> eventfd_open() noexcept {
    const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) [[unlikely]] {
        return errno_failure("eventfd");
    }
    return file_descriptor(fd);
}

/// Adds one to an eventfd's counter. EAGAIN (the counter is at its maximum) already means "a wake
/// is pending", so it is success.
/// Leaves errno as it found it on success, since a signal handler may call it.
inline result<void> eventfd_signal(int fd) noexcept {
    const int saved_errno = errno;
    const std::uint64_t one = 1;
    const ssize_t wrote = retry_on_interrupt([&] { return ::write(fd, &one, sizeof one); });
    if (wrote < 0 && errno != EAGAIN) [[unlikely]] {
        return errno_failure("poller wake");
    }
    errno = saved_errno;
    return {};
}

/// Resets an eventfd's counter to zero; an empty counter (EAGAIN) is not an error.
inline result<void> eventfd_drain(int fd) noexcept {
    std::uint64_t count = 0;
    const ssize_t got = retry_on_interrupt([&] { return ::read(fd, &count, sizeof count); });
    if (got < 0 && errno != EAGAIN) [[unlikely]] {
        return errno_failure("poller wait");
    }
    return {};
}

} // namespace netkit::detail
