/* The echo benchmark's io_uring baseline: the same server as c_server.c written with liburing, the
 * way its own examples do it. One thread, one ring (SINGLE_ISSUER|DEFER_TASKRUN where the kernel
 * has them), a multishot accept, a multishot receive per connection into a provided buffer ring
 * (4096 buffers of 16 KiB, the size of c_server.c's per-connection buffer), and one send in
 * flight per connection: the received buffers wait in the connection's queue, in order, and a
 * short send is resubmitted for the rest. A buffer goes back to the ring once its bytes are sent.
 * A receive that runs out of buffers (ENOBUFS) is armed again once buffers come back. Closing
 * a connection cancels what is in flight on it; the descriptor is closed when the last
 * completion of it has come.
 * With IDLE_MS it keeps c_server.c's idle deadline per connection (a min-heap, the deadline moved
 * on every receive and send, the wait bounded by the earliest), so that c_uring and c_idle do the
 * same work; an idle connection is then closed as above.
 * Usage: echo_c_uring_server HOST:PORT [IDLE_MS] (port 0 allowed); prints the bound endpoint
 * first, stops on SIGTERM or SIGINT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    BUFFER_COUNT = 4096,
    BUFFER_SIZE = 16384,
    BUFFER_GROUP = 0,
    QUEUE = 64
};
/* user_data: the descriptor in the upper bits, what completed in the low three. */
enum {
    OP_ACCEPT = 1,
    OP_SIGNAL,
    OP_RECV,
    OP_SEND,
    OP_CANCEL
};

struct pending { /* a received buffer waiting to be echoed */
    uint16_t bid;
    uint32_t len, off;
};

struct connection {
    struct pending queue[QUEUE]; /* FIFO of received buffers, oldest at head */
    unsigned head, count;
    int receiving, sending, closing, starved;
    uint64_t idle_until;
    uint32_t generation;
};

struct timer {
    uint64_t due;
    int fd;
    uint32_t generation;
};

static struct io_uring ring;
static struct io_uring_buf_ring* buffers;
static unsigned char* buffer_memory;
static int returned; /* buffers added to the ring since the last advance */
static struct connection** conns;
static size_t capacity;
static int* starved; /* connections whose receive ended with ENOBUFS */
static size_t starved_count;
static uint64_t idle_ns;
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

static struct io_uring_sqe* get_sqe(void) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    while (sqe == NULL) { /* the SQ is full: hand it to the kernel and take a slot again */
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void give_back(uint16_t bid) {
    io_uring_buf_ring_add(buffers, buffer_memory + (size_t)bid * BUFFER_SIZE, BUFFER_SIZE, bid,
                          io_uring_buf_ring_mask(BUFFER_COUNT), returned++);
}

static void arm_accept(int lfd) {
    struct io_uring_sqe* sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, OP_ACCEPT);
}

static void arm_receive(int fd) {
    struct io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUFFER_GROUP;
    io_uring_sqe_set_data64(sqe, (uint64_t)fd << 3 | OP_RECV);
    conns[fd]->receiving = 1;
}

static void send_head(int fd) {
    struct connection* c = conns[fd];
    struct pending* p = &c->queue[c->head];
    struct io_uring_sqe* sqe = get_sqe();
    io_uring_prep_send(sqe, fd, buffer_memory + (size_t)p->bid * BUFFER_SIZE + p->off,
                       p->len - p->off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)fd << 3 | OP_SEND);
    c->sending = 1;
}

/* Starts closing: cancels what is in flight; the descriptor is closed by finish_if_done once
 * the last completion of it has come. */
static void start_closing(int fd) {
    struct connection* c = conns[fd];
    if (c->closing) {
        return;
    }
    c->closing = 1;
    ++c->generation;
    if (c->receiving || c->sending) {
        struct io_uring_sqe* sqe = get_sqe();
        io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, OP_CANCEL);
    }
}

static void finish_if_done(int fd) {
    struct connection* c = conns[fd];
    if (!c->closing || c->receiving || c->sending) {
        return;
    }
    for (; c->count > 0; --c->count, c->head = (c->head + 1) % QUEUE) {
        give_back(c->queue[c->head].bid);
    }
    c->starved = 0;
    close(fd);
}

static void on_receive(int fd, const struct io_uring_cqe* cqe) {
    struct connection* c = conns[fd];
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        c->receiving = 0;
    }
    if (cqe->res > 0) {
        const uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        if (c->closing || c->count == QUEUE) { /* the queue is full only if the peer never reads */
            give_back(bid);
            start_closing(fd);
        } else {
            c->queue[(c->head + c->count) % QUEUE] = (struct pending){bid, (uint32_t)cqe->res, 0};
            ++c->count;
            if (idle_ns != 0) {
                c->idle_until = now_ns() + idle_ns;
            }
            if (!c->sending) {
                send_head(fd);
            }
            if (!c->receiving) { /* ended with data (the kernel's multishot limits): go on */
                arm_receive(fd);
            }
        }
    } else if (cqe->res == -ENOBUFS && !c->closing) {
        c->starved = 1; /* armed again when buffers come back */
        if (starved_count < capacity) {
            starved[starved_count++] = fd;
        }
    } else if (!c->receiving) { /* end of stream, an error, or cancelled */
        start_closing(fd);
    }
    finish_if_done(fd);
}

static void on_send(int fd, const struct io_uring_cqe* cqe) {
    struct connection* c = conns[fd];
    c->sending = 0;
    if (cqe->res < 0 || c->closing) {
        start_closing(fd);
        finish_if_done(fd);
        return;
    }
    struct pending* p = &c->queue[c->head];
    p->off += (uint32_t)cqe->res;
    if (idle_ns != 0) {
        c->idle_until = now_ns() + idle_ns; /* progress, even if not done */
    }
    if (p->off == p->len) {
        give_back(p->bid);
        c->head = (c->head + 1) % QUEUE;
        --c->count;
    }
    if (c->count > 0) {
        send_head(fd); /* the rest of a short send, or the next buffer */
    }
}

static void on_accept(int lfd, const struct io_uring_cqe* cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        arm_accept(lfd);
    }
    const int fd = cqe->res;
    if (fd < 0) {
        return;
    }
    if ((size_t)fd >= capacity) {
        close(fd);
        return;
    }
    if (conns[fd] == NULL) {
        conns[fd] = calloc(1, sizeof **conns);
    }
    struct connection* c = conns[fd];
    c->head = c->count = 0;
    c->receiving = c->sending = c->closing = c->starved = 0;
    ++c->generation;
    if (idle_ns != 0) {
        c->idle_until = now_ns() + idle_ns;
        heap_push((struct timer){c->idle_until, fd, c->generation});
    }
    arm_receive(fd);
}

int main(int argc, char** argv) {
    char host[64] = "127.0.0.1";
    int port = 0;
    idle_ns = argc > 2 ? (uint64_t)atol(argv[2]) * 1000000u : 0;
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

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, SOMAXCONN) != 0) {
        perror("bind/listen");
        return 1;
    }

    /* A CQ with room for every completion that can be outstanding: one per buffer, one send and
     * one cancel per connection, the accept and the signal. */
    struct io_uring_params params = {
        .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
        .cq_entries = 4 * BUFFER_COUNT,
    };
    int err = io_uring_queue_init_params(1024, &ring, &params);
    if (err == -EINVAL) { /* before Linux 6.1 */
        params = (struct io_uring_params){
            .flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE,
            .cq_entries = 4 * BUFFER_COUNT,
        };
        err = io_uring_queue_init_params(1024, &ring, &params);
    }
    if (err != 0) {
        fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-err));
        return 1;
    }
    const size_t ring_bytes = BUFFER_COUNT * sizeof(struct io_uring_buf);
    buffers = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* Populated at once: the ring hands the buffers out in turn, so without it each of the
     * first 4096 receives would take page faults in the kernel's copy. */
    buffer_memory = mmap(NULL, (size_t)BUFFER_COUNT * BUFFER_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (buffers == MAP_FAILED || buffer_memory == MAP_FAILED) {
        perror("buffers");
        return 1;
    }
    io_uring_buf_ring_init(buffers);
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)buffers, .ring_entries = BUFFER_COUNT, .bgid = BUFFER_GROUP};
    err = io_uring_register_buf_ring(&ring, &reg, 0);
    if (err != 0) {
        fprintf(stderr, "io_uring_register_buf_ring: %s\n", strerror(-err));
        return 1;
    }
    for (int bid = 0; bid < BUFFER_COUNT; ++bid) {
        give_back((uint16_t)bid);
    }
    io_uring_buf_ring_advance(buffers, returned);
    returned = 0;

    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr*)&addr, &alen);
    printf("%s:%d\n", host, ntohs(addr.sin_port));
    fflush(stdout);

    capacity = (size_t)files.rlim_cur < 1u << 20 ? (size_t)files.rlim_cur : 1u << 20;
    conns = calloc(capacity, sizeof *conns);
    starved = calloc(capacity, sizeof *starved);
    arm_accept(lfd);
    struct io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, sfd, POLLIN);
    io_uring_sqe_set_data64(sqe, OP_SIGNAL);

    for (int running = 1; running;) {
        struct __kernel_timespec timeout, *wait_for = NULL;
        if (idle_ns != 0 && heap_size > 0) {
            const uint64_t now = now_ns();
            const uint64_t left = heap[0].due <= now ? 0 : heap[0].due - now;
            timeout.tv_sec = (long long)(left / 1000000000u);
            timeout.tv_nsec = (long long)(left % 1000000000u);
            wait_for = &timeout;
        }
        struct io_uring_cqe* cqe;
        io_uring_submit_and_wait_timeout(&ring, &cqe, 1, wait_for, NULL);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            const uint64_t data = io_uring_cqe_get_data64(cqe);
            const int fd = (int)(data >> 3);
            switch (data & 7) {
            case OP_ACCEPT:
                on_accept(lfd, cqe);
                break;
            case OP_SIGNAL:
                running = 0;
                break;
            case OP_RECV:
                on_receive(fd, cqe);
                break;
            case OP_SEND:
                on_send(fd, cqe);
                break;
            default:
                break; /* OP_CANCEL */
            }
        }
        io_uring_cq_advance(&ring, seen);
        if (returned > 0) { /* every buffer given back in this round, in one release store */
            io_uring_buf_ring_advance(buffers, returned);
            returned = 0;
            while (starved_count > 0) {
                const int fd = starved[--starved_count];
                if (conns[fd]->starved && !conns[fd]->closing && !conns[fd]->receiving) {
                    conns[fd]->starved = 0;
                    arm_receive(fd);
                }
            }
        }
        if (idle_ns != 0) {
            const uint64_t now = now_ns();
            while (heap_size > 0 && heap[0].due <= now) {
                struct timer t = heap_pop();
                struct connection* c = conns[t.fd];
                if (c == NULL || c->generation != t.generation || c->closing) {
                    continue; /* closed since */
                }
                if (c->idle_until <= now) {
                    start_closing(t.fd);
                    finish_if_done(t.fd);
                } else {
                    heap_push((struct timer){c->idle_until, t.fd, t.generation});
                }
            }
        }
    }
    printf("shut down\n");
    return 0;
}
