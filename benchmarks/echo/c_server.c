/* The echo benchmark's baseline: the same server as examples/echo_server.cpp written against raw
 * epoll by hand. One thread, level-triggered, a 16 KiB buffer per connection, one recv per
 * readiness event, the echo sent at once and, when the socket is full, reading paused (interest
 * EPOLLOUT only) until the rest has gone. No idle timer (the load never idles), and the
 * connection table is indexed by descriptor, which is safe here only because nothing but the
 * loop closes a descriptor and it handles one event at a time.
 * Usage: echo_c_server HOST:PORT (port 0 allowed); prints the bound endpoint first, stops on
 * SIGTERM or SIGINT. */
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
#include <unistd.h>

struct connection {
    unsigned char buffer[16384];
    size_t len, off; /* pending echo */
    int writing;     /* registered for EPOLLOUT only */
};

int main(int argc, char** argv) {
    char host[64] = "127.0.0.1";
    int port = 0;
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
        int n = epoll_wait(ep, events, 256, -1);
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
            }
            if (close_it) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
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
    }
    printf("shut down\n");
    return 0;
}
