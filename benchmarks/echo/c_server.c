/* The echo benchmark's baseline: the same server as examples/echo_server.cpp written against raw
 * epoll by hand. One thread, level-triggered, a 16 KiB buffer per connection, one recv per
 * readiness event, the echo sent at once and, when the socket is full, reading paused (interest
 * EPOLLOUT only) until the rest has gone. The connection table is indexed by descriptor, which
 * is safe here only because nothing but the loop closes a descriptor and it handles one event at
 * a time.
 * With IDLE_MS it also keeps an idle deadline per connection the way examples/echo_server.cpp
 * does, so that the two do the same work: the deadline moves on every read or write (a clock
 * read), a min-heap holds one entry per connection, re-armed when it fires on a connection that
 * was active since, epoll_wait's timeout is the heap's earliest, and every round of events ends
 * with one clock read and the expiry of what is due. Without it, no timer at all (the load never
 * idles).
 * Usage: echo_c_server HOST:PORT [IDLE_MS] (port 0 allowed); prints the bound endpoint first,
 * stops on SIGTERM or SIGINT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct connection {
    unsigned char buffer[16384];
    size_t len, off;     /* pending echo */
    int writing;         /* registered for EPOLLOUT only */
    uint64_t idle_until; /* ns on CLOCK_MONOTONIC */
    uint32_t generation; /* tells a timer entry of a closed connection from its successor's */
};

struct timer {
    uint64_t due;
    int fd;
    uint32_t generation;
};

static struct timer* heap;
static size_t heap_size, heap_capacity;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void heap_push(struct timer t) {
    if (heap_size == heap_capacity) {
        heap_capacity = heap_capacity ? heap_capacity * 2 : 1024;
        heap = realloc(heap, heap_capacity * sizeof *heap);
    }
    size_t i = heap_size++;
    while (i > 0 && heap[(i - 1) / 2].due > t.due) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = t;
}

static struct timer heap_pop(void) {
    struct timer top = heap[0];
    struct timer last = heap[--heap_size];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap_size) {
            break;
        }
        if (child + 1 < heap_size && heap[child + 1].due < heap[child].due) {
            ++child;
        }
        if (heap[child].due >= last.due) {
            break;
        }
        heap[i] = heap[child];
        i = child;
    }
    if (heap_size > 0) {
        heap[i] = last;
    }
    return top;
}

int main(int argc, char** argv) {
    char host[64] = "127.0.0.1";
    int port = 0;
    const uint64_t idle_ns = argc > 2 ? (uint64_t)atol(argv[2]) * 1000000u : 0;
    if (argc > 1) {
        const char* colon = strrchr(argv[1], ':');
        if (colon == NULL || (size_t)(colon - argv[1]) >= sizeof host) {
            return 2;
        }
        memcpy(host, argv[1], (size_t)(colon - argv[1]));
        host[colon - argv[1]] = '\0';
        port = atoi(colon + 1);
    }
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, SOMAXCONN) != 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr*)&addr, &alen);
    printf("%s:%d\n", host, ntohs(addr.sin_port));
    fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    e.data.fd = sfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e);
    size_t capacity = (size_t)files.rlim_cur < 1u << 20 ? (size_t)files.rlim_cur : 1u << 20;
    struct connection** conns = calloc(capacity, sizeof *conns);
    struct epoll_event events[256];
    for (int running = 1; running;) {
        int timeout = -1;
        if (idle_ns != 0 && heap_size > 0) {
            const uint64_t now = now_ns();
            timeout = heap[0].due <= now ? 0 : (int)((heap[0].due - now + 999999u) / 1000000u);
        }
        int n = epoll_wait(ep, events, 256, timeout);
        for (int k = 0; k < n; ++k) {
            int fd = events[k].data.fd;
            if (fd == sfd) {
                running = 0;
                continue;
            }
            if (fd == lfd) {
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                    if (cfd < 0) {
                        break;
                    }
                    if ((size_t)cfd >= capacity) {
                        close(cfd);
                        continue;
                    }
                    if (conns[cfd] == NULL) {
                        conns[cfd] = malloc(sizeof **conns);
                    }
                    conns[cfd]->len = conns[cfd]->off = 0;
                    conns[cfd]->writing = 0;
                    if (idle_ns != 0) {
                        conns[cfd]->idle_until = now_ns() + idle_ns;
                        ++conns[cfd]->generation;
                        heap_push(
                            (struct timer){conns[cfd]->idle_until, cfd, conns[cfd]->generation});
                    }
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
                }
                continue;
            }
            struct connection* c = conns[fd];
            int close_it = 0;
            if (c->off == c->len) { /* nothing pending: read */
                ssize_t got = recv(fd, c->buffer, sizeof c->buffer, 0);
                if (got <= 0) {
                    close_it = got == 0 || errno != EAGAIN;
                    if (!close_it) {
                        continue;
                    }
                } else {
                    c->len = (size_t)got;
                    c->off = 0;
                    if (idle_ns != 0) {
                        c->idle_until = now_ns() + idle_ns;
                    }
                }
            }
            while (!close_it && c->off < c->len) {
                ssize_t sent = send(fd, c->buffer + c->off, c->len - c->off, MSG_NOSIGNAL);
                if (sent < 0) {
                    if (errno != EAGAIN) {
                        close_it = 1;
                    }
                    break;
                }
                c->off += (size_t)sent;
                if (idle_ns != 0) {
                    c->idle_until = now_ns() + idle_ns; /* progress, even if not done */
                }
            }
            if (close_it) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                ++c->generation;
                continue;
            }
            /* Backpressure: EPOLLOUT only while an echo is pending, EPOLLIN again once it went. */
            int pending = c->off < c->len;
            if (pending != c->writing) {
                struct epoll_event ce = {.events = pending ? EPOLLOUT : EPOLLIN, .data.fd = fd};
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
                c->writing = pending;
            }
        }
        if (idle_ns != 0) {
            const uint64_t now = now_ns();
            while (heap_size > 0 && heap[0].due <= now) {
                struct timer t = heap_pop();
                struct connection* c = conns[t.fd];
                if (c == NULL || c->generation != t.generation) {
                    continue; /* closed since */
                }
                if (c->idle_until <= now) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, t.fd, NULL);
                    close(t.fd);
                    ++c->generation;
                } else {
                    heap_push((struct timer){c->idle_until, t.fd, t.generation});
                }
            }
        }
    }
    printf("shut down\n");
    return 0;
}
