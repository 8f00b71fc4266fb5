#define _GNU_SOURCE
#include "file_transfer_c.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEP ((size_t)0x7ffff000)

static size_t smaller(uint64_t a, size_t b) { return a < b ? (size_t)a : b; }

int64_t c_read_send(int sock, int file, uint64_t length, char* buffer, size_t buffer_size) {
    uint64_t sent = 0;
    while (sent < length) {
        ssize_t got = pread(file, buffer, smaller(length - sent, buffer_size), (off_t)sent);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return -1;
        }
        size_t done = 0;
        while (done < (size_t)got) {
            ssize_t n = send(sock, buffer + done, (size_t)got - done, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return -1;
            }
            done += (size_t)n;
        }
        sent += (uint64_t)got;
    }
    return (int64_t)sent;
}

/* The range check a careful sender makes (the benchmark's ranges always pass). */
static int check(int file, uint64_t length) {
    struct stat status;
    if (fstat(file, &status) != 0) {
        return -1;
    }
    if (!S_ISREG(status.st_mode) || (uint64_t)status.st_size < length) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* Blocks SIGPIPE; on EPIPE takes away the SIGPIPE the kernel raised; restores the mask. */
static sigset_t block_sigpipe(void) {
    sigset_t pipe_only, before;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
    return before;
}

static void after_failure(void) {
    if (errno == EPIPE) {
        int saved = errno;
        sigset_t pipe_only;
        struct timespec zero = {0, 0};
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        sigtimedwait(&pipe_only, NULL, &zero);
        errno = saved;
    }
}

int64_t c_sendfile(int sock, int file, uint64_t length) {
    if (check(file, length) != 0) {
        return -1;
    }
    sigset_t before = block_sigpipe();
    off_t at = 0;
    uint64_t sent = 0;
    int64_t result = 0;
    while (sent < length) {
        ssize_t n = sendfile(sock, file, &at, smaller(length - sent, MAX_STEP));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            after_failure();
            result = -1;
            break;
        }
        sent += (uint64_t)n;
    }
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return result < 0 ? -1 : (int64_t)sent;
}

int64_t c_splice(int sock, int file, uint64_t length, int pipe_read, int pipe_write,
                 size_t pipe_capacity) {
    if (check(file, length) != 0) {
        return -1;
    }
    sigset_t before = block_sigpipe();
    loff_t at = 0;
    uint64_t taken = 0, sent = 0;
    size_t in_pipe = 0;
    int64_t result = 0;
    while (sent < length) {
        if (in_pipe == 0) {
            ssize_t in = splice(file, &at, pipe_write, NULL, smaller(length - taken, pipe_capacity),
                                SPLICE_F_MOVE);
            if (in < 0 && errno == EINTR) {
                continue;
            }
            if (in <= 0) {
                result = -1;
                break;
            }
            in_pipe += (size_t)in;
            taken += (uint64_t)in;
        }
        unsigned more = taken < length ? SPLICE_F_MORE : 0;
        ssize_t out = splice(pipe_read, NULL, sock, NULL, in_pipe, SPLICE_F_MOVE | more);
        if (out < 0 && errno == EINTR) {
            continue;
        }
        if (out <= 0) {
            after_failure();
            result = -1;
            break;
        }
        in_pipe -= (size_t)out;
        sent += (uint64_t)out;
    }
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return result < 0 ? -1 : (int64_t)sent;
}
