/* The echo benchmark's load generator: plain C over raw epoll, the same for every server, so it
 * favours none. C connections, each keeping DEPTH requests of SIZE bytes in flight (1: ping-pong,
 * 16: pipelined), for at most SECONDS or REQUESTS; every echoed byte is checked against the
 * pattern it was sent with. Prints one JSON object:
 *   {"requests": N, "seconds": T, "requests_per_s": R, "p50_us": A, "p99_us": B, "errors": E}
 * Usage: echo_load HOST PORT CONNECTIONS SIZE DEPTH SECONDS [MAX_REQUESTS [WARMUP]]
 * MAX_REQUESTS 0 is no limit. With WARMUP, the same connections first make WARMUP requests
 * (which the figures leave out: they are "warmup_requests"), let every echo come back, print
 * "warm" and wait for a line on standard input; then comes the measured phase, which also ends
 * with every echo back, and after the JSON another line on standard input before the connections
 * close. Between those lines the server is idle with every connection open: run.py reads the
 * server's allocation count there. */
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
static uint64_t in_flight; /* requests sent whose echo has not fully come back */
static struct connection* conns;
static unsigned count;
static int ep;
static unsigned char in[65536];

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
        ++in_flight;
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

/* Handles events until `stop` (ns) passes or `max_requests` have completed; when `draining`, sends
 * nothing new and stops as soon as no echo is in flight. */
static void pump(uint64_t stop, uint64_t max_requests, int draining) {
    struct epoll_event events[256];
    uint64_t t = now_ns();
    while (t < stop && completed < max_requests && !(draining && in_flight == 0)) {
        int n = epoll_wait(ep, events, 256, 100);
        t = now_ns();
        for (int k = 0; k < n; ++k) {
            struct connection* c = events[k].data.ptr;
            if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t got = recv(c->fd, in, sizeof in, 0);
                if (got <= 0) {
                    if (got == 0 || errno != EAGAIN) {
                        ++errors;
                        in_flight -= c->sent_seq - c->received_seq; /* never coming back */
                        c->received_seq = c->sent_seq;
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
                        --in_flight;
                        ++c->received_seq;
                        c->received_off = 0;
                    }
                }
                if (!draining) {
                    refill(c, t);
                }
            }
            if (flush(c) != 0) {
                ++errors;
            }
            arm(ep, c);
        }
    }
}

/* Every connection sends its first requests. */
static void begin(uint64_t t) {
    for (unsigned i = 0; i < count; ++i) {
        refill(&conns[i], t);
        if (flush(&conns[i]) != 0) {
            ++errors;
        }
        arm(ep, &conns[i]);
    }
}

/* Waits for run.py: a line on standard input. */
static void pause_for_reader(void) {
    char line[16];
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL) {
        ++errors;
    }
}

int main(int argc, char** argv) {
    if (argc < 7) {
        fprintf(stderr,
                "usage: %s HOST PORT CONNECTIONS SIZE DEPTH SECONDS [MAX_REQUESTS [WARMUP]]\n",
                argv[0]);
        return 2;
    }
    count = (unsigned)atoi(argv[3]);
    size = (size_t)atol(argv[4]);
    depth = (size_t)atol(argv[5]);
    const double seconds = atof(argv[6]);
    const uint64_t max_requests =
        argc > 7 && atoll(argv[7]) > 0 ? (uint64_t)atoll(argv[7]) : UINT64_MAX;
    const uint64_t warmup = argc > 8 ? (uint64_t)atoll(argv[8]) : 0;

    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);

    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    ep = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc(count, sizeof *conns);
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
    /* A server that stops answering ends a warm-up or a drain after this long, as an error. */
    const uint64_t patience = 30000000000u;
    uint64_t warmup_requests = 0;
    if (warmup > 0) {
        begin(now_ns());
        pump(now_ns() + patience, warmup, 0);
        pump(now_ns() + patience, UINT64_MAX, 1);
        errors += in_flight;
        warmup_requests = completed;
        completed = 0;
        memset(histogram, 0, sizeof histogram);
        printf("warm\n");
        pause_for_reader();
    }
    const uint64_t start = now_ns();
    begin(start);
    pump(start + (uint64_t)(seconds * 1e9), max_requests, 0);
    if (warmup > 0) {
        pump(now_ns() + patience, UINT64_MAX, 1);
        errors += in_flight;
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
           "\"p99_us\": %llu, \"errors\": %llu, \"warmup_requests\": %llu}\n",
           (unsigned long long)completed, elapsed, (double)completed / elapsed,
           (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)errors,
           (unsigned long long)warmup_requests);
    if (warmup > 0) {
        pause_for_reader();
    }
    for (unsigned i = 0; i < count; ++i) {
        close(conns[i].fd);
    }
    return errors == 0 ? 0 : 1;
}
