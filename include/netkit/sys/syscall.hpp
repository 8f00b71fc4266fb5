#pragma once

// The socket system calls, wrapped here once each. The other wrappers are in sys/ too (file
// transfer in sys/file_syscalls.hpp, epoll and eventfd in sys/epoll.hpp), the one EINTR helper in
// sys/syscall_core.hpp; close(2) alone is in core/fd.hpp, with the descriptor that owns it.
// SOCK_CLOEXEC and MSG_NOSIGNAL are added here and nowhere else.

#include <netkit/core/deadline.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/sys/syscall_core.hpp>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <span>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

namespace netkit::detail {

/// Flags every send path carries: a closed peer must be an EPIPE error value, never a SIGPIPE
/// that kills the process.
inline constexpr int always_send_flags = MSG_NOSIGNAL;

/// socket(2) with SOCK_CLOEXEC.
inline result<file_descriptor> open_socket(int family, int type, int protocol) noexcept {
    const int fd = ::socket(family, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) [[unlikely]] {
        return errno_failure("socket");
    }
    return file_descriptor(fd);
}

/// socketpair(2) with SOCK_CLOEXEC on both ends.
inline result<std::pair<file_descriptor, file_descriptor>> open_socket_pair(int family, int type,
                                                                            int protocol) noexcept {
    int fds[2] = {-1, -1};
    if (::socketpair(family, type | SOCK_CLOEXEC, protocol, fds) != 0) [[unlikely]] {
        return errno_failure("socketpair");
    }
    return std::pair{file_descriptor(fds[0]), file_descriptor(fds[1])};
}

inline result<void> bind(int fd, const sockaddr* address, socklen_t length) noexcept {
    if (::bind(fd, address, length) != 0) [[unlikely]] {
        return errno_failure("bind", address, length);
    }
    return {};
}

inline result<void> listen(int fd, int backlog) noexcept {
    if (::listen(fd, backlog) != 0) [[unlikely]] {
        return errno_failure("listen");
    }
    return {};
}

/// accept4(2) with SOCK_CLOEXEC; retries EINTR, and ECONNABORTED (a connection that died while
/// queued is not the listener's failure: accept(2) advises trying again).
inline result<file_descriptor> accept(int fd, sockaddr* address, socklen_t* length,
                                      int flags = 0) noexcept {
    const socklen_t capacity = length != nullptr ? *length : 0;
    for (;;) {
        const int accepted = retry_on_interrupt([&] {
            if (length != nullptr) {
                *length = capacity; // the kernel wrote the last try's length here
            }
            return ::accept4(fd, address, length, flags | SOCK_CLOEXEC);
        });
        if (accepted >= 0) [[likely]] {
            return file_descriptor(accepted);
        }
        if (errno != ECONNABORTED) {
            return errno_failure("accept");
        }
    }
}

/// poll(2)'s timeout for a wait until `until`: -1 for none, else the milliseconds left rounded
/// up, so that a wait never ends before its deadline.
inline int poll_timeout_until(deadline until) noexcept {
    if (until.is_never()) {
        return -1;
    }
    const auto now = deadline::clock::now();
    if (until.at() <= now) {
        return 0; // compared before subtracting: a deadline at time_point::min() must not overflow
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until.at() - now);
    // Capped at INT_MAX ms (24.8 days): the callers wait again while the deadline is ahead.
    return static_cast<int>(min_of<std::chrono::milliseconds::rep>(left.count(), INT_MAX));
}

/// poll(2) on one descriptor until `until` (a deadline or a timeout). After EINTR it waits for
/// the time that is left, never the whole timeout again. Returns the revents, 0 when the deadline
/// passed first.
inline result<short> poll_one(int fd, short events, deadline until) noexcept {
    pollfd entry{fd, events, 0};
    int ready = 0;
    do { // a timeout capped at INT_MAX ms ends before a far deadline: then wait again
        ready = retry_on_interrupt([&] { return ::poll(&entry, 1, poll_timeout_until(until)); });
    } while (ready == 0 && !until.is_never() && !until.expired());
    if (ready < 0) [[unlikely]] {
        return errno_failure("poll");
    }
    return ready == 0 ? short{0} : entry.revents;
}

inline result<void> get_option(int fd, int level, int name, void* value, socklen_t* length,
                               const char* operation = "getsockopt") noexcept {
    if (::getsockopt(fd, level, name, value, length) != 0) [[unlikely]] {
        return errno_failure(operation);
    }
    return {};
}

inline result<void> set_option(int fd, int level, int name, const void* value, socklen_t length,
                               const char* operation = "setsockopt") noexcept {
    if (::setsockopt(fd, level, name, value, length) != 0) [[unlikely]] {
        return errno_failure(operation);
    }
    return {};
}

/// One connect(2) that never waits: on a non-blocking socket, EINPROGRESS (and EINTR, after
/// which the kernel goes on as well) is returned as `std::errc::operation_in_progress` for the
/// caller to wait for writability and read SO_ERROR, as a loop does.
inline result<void> connect_once(int fd, const sockaddr* address, socklen_t length) noexcept {
    if (::connect(fd, address, length) == 0) [[likely]] {
        return {};
    }
    if (errno == EINTR) {
        errno = EINPROGRESS;
    }
    return errno_failure("connect", address, length);
}

/// connect(2), within `until`. A connect that does not finish at once (EINPROGRESS on a
/// non-blocking socket, or EINTR: a blocking connect interrupted by a signal goes on in the
/// kernel, and calling connect again would fail with EALREADY) is waited for with poll and its
/// outcome read from SO_ERROR, as connect(2) describes. When `until` passes first the error is
/// `errc::deadline_passed` (equal to `std::errc::timed_out`), naming the endpoint; the connection
/// attempt is the caller's to close.
inline result<void> connect(int fd, const sockaddr* address, socklen_t length,
                            deadline until = {}) noexcept {
    if (::connect(fd, address, length) == 0) [[likely]] {
        return {};
    }
    if (errno != EINTR && errno != EINPROGRESS) {
        return errno_failure("connect", address, length);
    }
    auto ready = poll_one(fd, POLLOUT, until);
    if (!ready) {
        return failure{ready.error()};
    }
    if (*ready == 0) {
        return failure{error(make_error_code(errc::deadline_passed), "connect", address, length)};
    }
    int pending = 0;
    socklen_t pending_length = sizeof pending;
    if (auto got = get_option(fd, SOL_SOCKET, SO_ERROR, &pending, &pending_length); !got) {
        return got;
    }
    if (pending == 0) {
        return {};
    }
    errno = pending;
    return errno_failure("connect", address, length);
}

inline result<void> shutdown(int fd, int how) noexcept {
    if (::shutdown(fd, how) != 0) [[unlikely]] {
        return errno_failure("shutdown");
    }
    return {};
}

inline result<std::size_t> send(int fd, const void* data, std::size_t size, int flags) noexcept {
    return byte_count(
        retry_on_interrupt([&] { return ::send(fd, data, size, flags | always_send_flags); }),
        "send");
}

inline result<std::size_t> receive(int fd, void* data, std::size_t size, int flags) noexcept {
    return byte_count(retry_on_interrupt([&] { return ::recv(fd, data, size, flags); }), "receive");
}

inline result<std::size_t> send_to(int fd, const void* data, std::size_t size, int flags,
                                   const sockaddr* address, socklen_t length) noexcept {
    const ssize_t sent = retry_on_interrupt(
        [&] { return ::sendto(fd, data, size, flags | always_send_flags, address, length); });
    if (sent < 0) [[unlikely]] {
        return errno_failure("send_to", address, length);
    }
    return static_cast<std::size_t>(sent);
}

inline result<std::size_t> receive_from(int fd, void* data, std::size_t size, int flags,
                                        sockaddr* address, socklen_t* length) noexcept {
    const socklen_t capacity = length != nullptr ? *length : 0;
    return byte_count(retry_on_interrupt([&] {
                          if (length != nullptr) {
                              *length = capacity; // the kernel wrote the last try's length here
                          }
                          return ::recvfrom(fd, data, size, flags, address, length);
                      }),
                      "receive_from");
}

inline result<std::size_t> send_message(int fd, const msghdr& message, int flags) noexcept {
    const ssize_t sent =
        retry_on_interrupt([&] { return ::sendmsg(fd, &message, flags | always_send_flags); });
    if (sent < 0) [[unlikely]] {
        return errno_failure("sendmsg", static_cast<const sockaddr*>(message.msg_name),
                             message.msg_name != nullptr ? message.msg_namelen : 0);
    }
    return static_cast<std::size_t>(sent);
}

/// recvmsg(2). On EINTR nothing was received, so the retry starts from the same msghdr; the
/// caller's name and control lengths are restored because the kernel may have written them.
inline result<std::size_t> receive_message(int fd, msghdr& message, int flags) noexcept {
    const socklen_t name_capacity = message.msg_namelen;
    const std::size_t control_capacity = message.msg_controllen;
    return byte_count(retry_on_interrupt([&] {
                          message.msg_namelen = name_capacity;
                          message.msg_controllen = control_capacity;
                          return ::recvmsg(fd, &message, flags);
                      }),
                      "recvmsg");
}

/// sendmmsg(2): returns how many messages went (the first `returned` entries; each entry's msg_len
/// says how many bytes). A failure after some went is not an error here: the kernel returns the
/// count, and the next call meets the error. On EINTR nothing went, so the retry is the same call.
inline result<std::size_t> send_messages(int fd, mmsghdr* messages, unsigned count,
                                         int flags) noexcept {
    const int sent = retry_on_interrupt(
        [&] { return ::sendmmsg(fd, messages, count, flags | always_send_flags); });
    if (sent < 0) [[unlikely]] {
        const msghdr& first = messages[0].msg_hdr;
        return errno_failure("sendmmsg", static_cast<const sockaddr*>(first.msg_name),
                             first.msg_name != nullptr ? first.msg_namelen : 0);
    }
    return static_cast<std::size_t>(sent);
}

/// recvmmsg(2) with no timeout (its timeout is only checked after a message arrives; deadlines
/// are poll's). The caller resets every entry's name and control lengths before the call, and
/// passes MSG_WAITFORONE or MSG_DONTWAIT: a call that sleeps after a message arrived and is then
/// interrupted returns the count but leaves the interruption (ERESTARTSYS, which no caller can
/// interpret) as the socket's error for the next call. With those flags EINTR means nothing was
/// received, and the retry is the same call.
inline result<std::size_t> receive_messages(int fd, mmsghdr* messages, unsigned count,
                                            int flags) noexcept {
    return byte_count(
        retry_on_interrupt([&] { return ::recvmmsg(fd, messages, count, flags, nullptr); }),
        "recvmmsg");
}

inline result<void> local_name(int fd, sockaddr* address, socklen_t* length) noexcept {
    if (::getsockname(fd, address, length) != 0) [[unlikely]] {
        return errno_failure("getsockname");
    }
    return {};
}

inline result<void> peer_name(int fd, sockaddr* address, socklen_t* length) noexcept {
    if (::getpeername(fd, address, length) != 0) [[unlikely]] {
        return errno_failure("getpeername");
    }
    return {};
}

inline result<int> status_flags(int fd) noexcept {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) [[unlikely]] {
        return errno_failure("fcntl(F_GETFL)");
    }
    return flags;
}

inline result<void> set_non_blocking(int fd, bool enabled) noexcept {
    auto flags = status_flags(fd);
    if (!flags) {
        return failure{flags.error()};
    }
    const int wanted = enabled ? (*flags | O_NONBLOCK) : (*flags & ~O_NONBLOCK);
    if (wanted != *flags && ::fcntl(fd, F_SETFL, wanted) != 0) [[unlikely]] {
        return errno_failure("fcntl(F_SETFL)");
    }
    return {};
}

/// dup(2) with FD_CLOEXEC on the copy.
inline result<file_descriptor> duplicate(int fd) noexcept {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) [[unlikely]] {
        return errno_failure("dup");
    }
    return file_descriptor(copy);
}

} // namespace netkit::detail
