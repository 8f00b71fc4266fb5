/* The baseline: the same system calls netkit makes, written by hand in C, with the same
 * guarantees (MSG_NOSIGNAL, EINTR retried, short writes resumed), and nothing else. */
#define _GNU_SOURCE /* IOV_MAX */
#include "raw_baseline.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

long raw_send(int fd, const void* data, size_t size) {
    for (;;) {
        ssize_t sent = send(fd, data, size, MSG_NOSIGNAL);
        if (sent >= 0)
            return (long)sent;
        if (errno != EINTR)
            return -1;
    }
}

int raw_send_all(int fd, const void* data, size_t size) {
    const char* at = (const char*)data;
    while (size > 0) {
        long sent = raw_send(fd, at, size);
        if (sent < 0)
            return -1;
        at += sent;
        size -= (size_t)sent;
    }
    return 0;
}

long raw_sendmsg(int fd, const struct iovec* iov, size_t count) {
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = (struct iovec*)iov;
    message.msg_iovlen = count;
    for (;;) {
        ssize_t sent = sendmsg(fd, &message, MSG_NOSIGNAL);
        if (sent >= 0)
            return (long)sent;
        if (errno != EINTR)
            return -1;
    }
}

/* Same contract as netkit's send_all over a buffer sequence: the caller hands over iovecs, not
 * their total, so the total is summed here -- a function told the total by a caller that already
 * knows it saves these K additions (docs/benchmarks.md gives the count). */
int raw_sendmsg_all(int fd, const struct iovec* iov, size_t count) {
    size_t total = 0;
    for (size_t i = 0; i < count; ++i)
        total += iov[i].iov_len;
    long sent = raw_sendmsg(fd, iov, count);
    if (sent < 0)
        return -1;
    if ((size_t)sent == total)
        return 0;
    /* Short write: resume from the exact byte, on a copy of the descriptors. */
    struct iovec rest[IOV_MAX];
    size_t n = count < IOV_MAX ? count : IOV_MAX;
    memcpy(rest, iov, n * sizeof *iov);
    size_t first = 0, done = (size_t)sent, left = total - (size_t)sent;
    while (left > 0) {
        while (done >= rest[first].iov_len) {
            done -= rest[first].iov_len;
            ++first;
        }
        rest[first].iov_base = (char*)rest[first].iov_base + done;
        rest[first].iov_len -= done;
        sent = raw_sendmsg(fd, rest + first, n - first);
        if (sent < 0)
            return -1;
        done = (size_t)sent;
        left -= (size_t)sent;
    }
    return 0;
}
