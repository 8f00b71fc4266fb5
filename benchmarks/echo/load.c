/* The echo benchmark's load generator: plain C over raw epoll, the same for every server, so it
 * favours none. C connections, each keeping DEPTH requests of SIZE bytes in flight (1: ping-pong,
 * 16: pipelined), for at most SECONDS or REQUESTS; every echoed byte is checked against the
 * pattern it was sent with. Prints one JSON object:
 *   {"requests": N, "seconds": T, "requests_per_s": R, "p50_us": A, "p99_us": B, "errors": E}
 * Usage: echo_load HOST PORT CONNECTIONS SIZE DEPTH SECONDS [MAX_REQUESTS] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    histogram_us = 200000
}; /* 1 us buckets up to 200 ms, then one overflow bucket */

struct connection {
    int fd;
    unsigned id;
    uint64_t sent_seq;     /* messages queued for sending */
    uint64_t received_seq; /* messages fully echoed */
    size_t received_off;   /* bytes of the current echoed message */
    unsigned char* out;    /* DEPTH * SIZE bytes */
    size_t out_len, out_off;
    uint64_t* sent_at; /* ns, per message slot (seq % DEPTH) */
    int want_out;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned char pattern(unsigned id, uint64_t seq, size_t j) {
    return (unsigned char)(id * 31u + seq * 7u + j);
}

static size_t size, depth;
static uint64_t histogram[histogram_us + 1];
static uint64_t completed, errors;

/* Queues as many messages as may be in flight, once the previous batch has gone. */
static void refill(struct connection* c, uint64_t t) {
    if (c->out_off < c->out_len) {
        return;
    }
    c->out_len = c->out_off = 0;
    while (c->sent_seq - c->received_seq < depth) {
        for (size_t j = 0; j < size; ++j) {
            c->out[c->out_len + j] = pattern(c->id, c->sent_seq, j);
        }
        c->sent_at[c->sent_seq % depth] = t;
        c->out_len += size;
        ++c->sent_seq;
    }
}

static int flush(struct connection* c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            return errno == EAGAIN ? 0 : -1;
        }
        c->out_off += (size_t)n;
    }
    return 0;
}

static void arm(int ep, struct connection* c) {
    int want = c->out_off < c->out_len;
    if (want != c->want_out) {
        struct epoll_event e = {.events = EPOLLIN | (want ? EPOLLOUT : 0u), .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        c->want_out = want;
    }
}

int main(int argc, char** argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SIZE DEPTH SECONDS [MAX_REQUESTS]\n",
                argv[0]);
        return 2;
    }
    const unsigned count = (unsigned)atoi(argv[3]);
    size = (size_t)atol(argv[4]);
    depth = (size_t)atol(argv[5]);
    const double seconds = atof(argv[6]);
    const uint64_t max_requests = argc > 7 ? (uint64_t)atoll(argv[7]) : UINT64_MAX;

    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);

    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct connection* conns = calloc(count, sizeof *conns);
    for (unsigned i = 0; i < count; ++i) {
        struct connection* c = &conns[i];
        c->id = i;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr*)&to, sizeof to) != 0) {
            perror("connect");
            return 1;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
            perror("fcntl");
            return 1;
        }
        c->out = malloc(size * depth);
        c->sent_at = calloc(depth, sizeof *c->sent_at);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    }
    unsigned char* in = malloc(65536);
    struct epoll_event events[256];
    const uint64_t start = now_ns();
    const uint64_t stop = start + (uint64_t)(seconds * 1e9);
    for (unsigned i = 0; i < count; ++i) {
        refill(&conns[i], start);
        if (flush(&conns[i]) != 0) {
            ++errors;
        }
        arm(ep, &conns[i]);
    }
    uint64_t t = start;
    while (t < stop && completed < max_requests) {
        int n = epoll_wait(ep, events, 256, 100);
        t = now_ns();
        for (int k = 0; k < n; ++k) {
            struct connection* c = events[k].data.ptr;
            if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t got = recv(c->fd, in, 65536, 0);
                if (got <= 0) {
                    if (got == 0 || errno != EAGAIN) {
                        ++errors;
                        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    }
                    continue;
                }
                for (ssize_t j = 0; j < got; ++j) {
                    if (in[j] != pattern(c->id, c->received_seq, c->received_off)) {
                        ++errors;
                    }
                    if (++c->received_off == size) {
                        uint64_t us = (t - c->sent_at[c->received_seq % depth]) / 1000u;
                        ++histogram[us < histogram_us ? us : histogram_us];
                        ++completed;
                        ++c->received_seq;
                        c->received_off = 0;
                    }
                }
                refill(c, t);
            }
            if (flush(c) != 0) {
                ++errors;
            }
            arm(ep, c);
        }
    }
    const double elapsed = (double)(now_ns() - start) / 1e9;
    uint64_t seen = 0, p50 = 0, p99 = 0;
    for (uint64_t us = 0; us <= histogram_us; ++us) {
        seen += histogram[us];
        if (p50 == 0 && seen * 2 >= completed) {
            p50 = us + 1;
        }
        if (seen * 100 >= completed * 99) {
            p99 = us + 1;
            break;
        }
    }
    printf("{\"requests\": %llu, \"seconds\": %.3f, \"requests_per_s\": %.0f, \"p50_us\": %llu, "
           "\"p99_us\": %llu, \"errors\": %llu}\n",
           (unsigned long long)completed, elapsed, (double)completed / elapsed,
           (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)errors);
    for (unsigned i = 0; i < count; ++i) {
        close(conns[i].fd);
    }
    return errors == 0 ? 0 : 1;
}
