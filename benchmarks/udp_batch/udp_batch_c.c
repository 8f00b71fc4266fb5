/* The UDP batching benchmark, C half: one process, a sender thread (pinned to CPU 0) and a
 * receiver thread (pinned to CPU 1 when there are two CPUs or more) over loopback UDP. The
 * receiver's socket is bound to 127.0.0.1:0 with an 8 MiB receive buffer (SO_RCVBUFFORCE, else
 * SO_RCVBUF, which the kernel caps at net.core.rmem_max); the sender's is connected to it.
 *
 * Send modes, one datagram of SIZE bytes each:
 *   sendto    one send(2) per datagram
 *   sendmmsg  sendmmsg(2) of BATCH datagrams, a partial batch resumed where it stopped
 *   gso       one sendmsg(2) of min(max_segments, 65507 / SIZE) datagrams with a UDP_SEGMENT
 *             cmsg of SIZE (none when a send holds one datagram only); max_segments is 128 when
 *             a probe send of 128 one-byte segments succeeds, 64 when it fails with EINVAL
 * Receive modes, every buffer 65535 bytes:
 *   recvfrom  one recv(2) per datagram
 *   recvmmsg  recvmmsg(2) of BATCH entries with MSG_WAITFORONE
 *   gro       UDP_GRO on; one recvmsg(2) and its UDP_GRO cmsg (an int, the segment size; none:
 *             one datagram): the buffer holds datagrams of that size, the last one maybe shorter
 *   gro_mmsg  the same through recvmmsg(2) of BATCH entries, each with its own control area
 *
 * Datagram SEQ (0, 1, 2, ...) holds SEQ in its first 8 bytes (host byte order) and
 * (SEQ * 31 + i) & 0xff at every byte i >= 8, filled and checked by pattern.h (the netkit
 * program can share it). The receiver checks the length and every byte of every datagram, and that
 * sequence numbers rise (loopback keeps order; a gap is loss); a datagram that fails is `bad`.
 * The sender stops after SECONDS or COUNT datagrams, whichever comes first; then the receiver
 * stops as soon as nothing has arrived for 200 ms (SO_RCVTIMEO). `seconds` runs from the first send
 * to the last datagram received. send_calls and recv_calls count the measured calls that moved data
 * (not the setup probe, not the receive that timed out at the end).
 *
 * Usage: udp_batch_c --send sendto|sendmmsg|gso --recv recvfrom|recvmmsg|gro|gro_mmsg
 *                    --size BYTES --seconds S [--batch 32] [--count N]
 * Prints one JSON line:
 *   {"impl":"c","send":S,"recv":R,"size":N,"sent":N,"received":N,"lost":N,"bad":N,"bytes":N,
 *    "seconds":F,"datagrams_per_s":F,"bytes_per_s":F,"max_segments":N,"send_calls":N,
 *    "recv_calls":N}
 * Exit status: 0, 1 when a datagram was bad or a system call failed (stderr names the call),
 * 2 for a bad command line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

enum {
    max_udp_payload = 65507,   /* 65535 - 8 (UDP header) - 20 (IPv4 header) */
    receive_buffer = 65535,    /* bytes per receive buffer, in every mode */
    max_batch = 1024,          /* UIO_MAXIOV: the most sendmmsg/recvmmsg take */
    drain_timeout_ms = 200,    /* the receiver stops after this long with nothing arriving */
    wanted_rcvbuf = 8 << 20,   /* SO_RCVBUFFORCE, then SO_RCVBUF */
    probe_segments = 128,      /* the GSO probe: 128 one-byte segments */
    fallback_max_segments = 64 /* UDP_MAX_SEGMENTS of older kernels */
};

enum send_mode {
    send_sendto,
    send_sendmmsg,
    send_gso
};
enum recv_mode {
    recv_recvfrom,
    recv_recvmmsg,
    recv_gro,
    recv_gro_mmsg
};
static const char* const send_names[] = {"sendto", "sendmmsg", "gso"};
static const char* const recv_names[] = {"recvfrom", "recvmmsg", "gro", "gro_mmsg"};

struct options {
    enum send_mode send;
    enum recv_mode recv;
    size_t size;
    double seconds;
    size_t batch;
    uint64_t count;
};

/* A control area for one int or one uint16_t cmsg, aligned for struct cmsghdr. */
union control {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

struct run {
    struct options opt;
    int tx, rx;
    size_t gso_segments; /* datagrams per gso send */
    atomic_int sender_done;
    /* The sender's, read after it is joined. */
    uint64_t first_send_ns, last_send_ns, sent, send_calls;
    /* The receiver's, read after it is joined. */
    uint64_t last_receive_ns, received, bytes, bad, recv_calls;
    uint64_t next_seq; /* one past the last sequence number received */
};

static void die(const char* call) {
    fprintf(stderr, "udp_batch_c: %s: %s\n", call, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) {
        errno = rc;
        die("pthread_setaffinity_np");
    }
}

static int udp_socket(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        die("socket");
    }
    return fd;
}

/* Binds FD to 127.0.0.1:0 and returns the address it got. */
static struct sockaddr_in bind_loopback(int fd) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(fd, (struct sockaddr*)&address, sizeof address) != 0) {
        die("bind");
    }
    if (getsockname(fd, (struct sockaddr*)&address, &length) != 0) {
        die("getsockname");
    }
    return address;
}

static void connect_to(int fd, const struct sockaddr_in* address) {
    if (connect(fd, (const struct sockaddr*)address, sizeof *address) != 0) {
        die("connect");
    }
}

/* Attaches a UDP_SEGMENT cmsg of SEGMENT bytes to MESSAGE, in CONTROL. */
static void attach_segment(struct msghdr* message, union control* control, uint16_t segment) {
    memset(control, 0, sizeof *control);
    message->msg_control = control->bytes;
    message->msg_controllen = CMSG_SPACE(sizeof segment);
    struct cmsghdr* header = CMSG_FIRSTHDR(message);
    header->cmsg_level = IPPROTO_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof segment);
    memcpy(CMSG_DATA(header), &segment, sizeof segment);
}

/* The most segments one GSO send may carry (UDP_MAX_SEGMENTS): 128 one-byte segments to a
 * scratch receiver succeed on kernels with 128, fail with EINVAL on those with 64. */
static unsigned detect_max_segments(void) {
    int rx = udp_socket(), tx = udp_socket();
    const struct sockaddr_in address = bind_loopback(rx);
    connect_to(tx, &address);
    unsigned char payload[probe_segments];
    memset(payload, 0, sizeof payload);
    struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload};
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};
    union control control;
    attach_segment(&message, &control, 1);
    unsigned result = probe_segments;
    if (sendmsg(tx, &message, 0) < 0) {
        if (errno != EINVAL) {
            die("sendmsg (UDP_SEGMENT probe)");
        }
        result = fallback_max_segments;
    }
    close(tx);
    close(rx);
    return result;
}

static void* sender(void* arg) {
    struct run* r = arg;
    const struct options* opt = &r->opt;
    pin(0);
    const size_t per_call = opt->send == send_sendto     ? 1
                            : opt->send == send_sendmmsg ? opt->batch
                                                         : r->gso_segments;
    unsigned char* buffer = malloc(per_call * opt->size);
    struct mmsghdr* messages = calloc(per_call, sizeof *messages);
    struct iovec* iovs = calloc(per_call, sizeof *iovs);
    if (buffer == NULL || messages == NULL || iovs == NULL) {
        die("malloc");
    }
    for (size_t k = 0; k < per_call; ++k) {
        iovs[k].iov_base = buffer + k * opt->size;
        iovs[k].iov_len = opt->size;
        messages[k].msg_hdr.msg_iov = &iovs[k];
        messages[k].msg_hdr.msg_iovlen = 1;
    }
    union control control;
    struct iovec iov = {.iov_base = buffer, .iov_len = 0};
    struct msghdr gso = {.msg_iov = &iov, .msg_iovlen = 1};
    attach_segment(&gso, &control, (uint16_t)opt->size);
    const uint64_t start = now_ns();
    const uint64_t stop = start + (uint64_t)(opt->seconds * 1e9);
    uint64_t seq = 0, calls = 0, t = start;
    r->first_send_ns = start;
    while (seq < opt->count && t < stop) {
        const size_t n = opt->count - seq < per_call ? (size_t)(opt->count - seq) : per_call;
        for (size_t k = 0; k < n; ++k) {
            udp_batch_fill(buffer + k * opt->size, opt->size, seq + k);
        }
        if (opt->send == send_sendto) {
            ssize_t sent = send(r->tx, buffer, opt->size, 0);
            if (sent < 0 && errno != EINTR) {
                die("send");
            }
            if (sent < 0) {
                continue;
            }
            ++calls;
        } else if (opt->send == send_sendmmsg) {
            for (size_t done = 0; done < n;) {
                int sent = sendmmsg(r->tx, messages + done, (unsigned)(n - done), 0);
                if (sent < 0 && errno != EINTR) {
                    die("sendmmsg");
                }
                if (sent > 0) {
                    done += (size_t)sent;
                    ++calls;
                }
            }
        } else {
            /* The cmsg is built once; a send of one datagram goes without it. */
            iov.iov_len = n * opt->size;
            gso.msg_control = n > 1 ? control.bytes : NULL;
            gso.msg_controllen = n > 1 ? CMSG_SPACE(sizeof(uint16_t)) : 0;
            ssize_t sent = sendmsg(r->tx, &gso, 0);
            if (sent < 0 && errno != EINTR) {
                die("sendmsg (UDP_SEGMENT)");
            }
            if (sent < 0) {
                continue;
            }
            if ((size_t)sent != iov.iov_len) {
                errno = EMSGSIZE;
                die("sendmsg (UDP_SEGMENT): short send");
            }
            ++calls;
        }
        seq += n;
        t = now_ns();
    }
    r->last_send_ns = t;
    r->sent = seq;
    r->send_calls = calls;
    atomic_store(&r->sender_done, 1);
    free(iovs);
    free(messages);
    free(buffer);
    return NULL;
}

/* Counts and checks the datagrams in one received buffer: SEGMENT bytes each, the last one maybe
 * shorter (0: the buffer is one datagram). An empty datagram counts, as a bad one. */
static void account(struct run* r, const unsigned char* p, size_t length, size_t segment,
                    int truncated) {
    if (segment == 0 || segment > length) {
        segment = length;
    }
    size_t offset = 0;
    do {
        const size_t here = length - offset < segment ? length - offset : segment;
        ++r->received;
        r->bytes += here;
        if (truncated || !udp_batch_intact(p + offset, here, r->opt.size)) {
            ++r->bad;
        } else {
            /* The pattern bytes follow SEQ modulo 256 only: SEQ must also move forward (loopback
             * keeps a flow's order; a gap is loss). */
            uint64_t seq;
            memcpy(&seq, p + offset, sizeof seq);
            if (seq < r->next_seq) {
                ++r->bad;
            }
            r->next_seq = seq + 1;
        }
        offset += here;
    } while (offset < length);
}

/* The UDP_GRO segment size in MESSAGE's control data, 0 when there is none. */
static size_t gro_segment(struct msghdr* message) {
    for (struct cmsghdr* header = CMSG_FIRSTHDR(message); header != NULL;
         header = CMSG_NXTHDR(message, header)) {
        if (header->cmsg_level == IPPROTO_UDP && header->cmsg_type == UDP_GRO) {
            int segment;
            memcpy(&segment, CMSG_DATA(header), sizeof segment);
            return segment > 0 ? (size_t)segment : 0;
        }
    }
    return 0;
}

static void* receiver(void* arg) {
    struct run* r = arg;
    const struct options* opt = &r->opt;
    pin(1);
    const int gro = opt->recv == recv_gro || opt->recv == recv_gro_mmsg;
    const size_t entries =
        opt->recv == recv_recvmmsg || opt->recv == recv_gro_mmsg ? opt->batch : 1;
    unsigned char* buffer = malloc(entries * receive_buffer);
    struct mmsghdr* messages = calloc(entries, sizeof *messages);
    struct iovec* iovs = calloc(entries, sizeof *iovs);
    union control* controls = calloc(entries, sizeof *controls);
    if (buffer == NULL || messages == NULL || iovs == NULL || controls == NULL) {
        die("malloc");
    }
    for (size_t k = 0; k < entries; ++k) {
        iovs[k].iov_base = buffer + k * receive_buffer;
        iovs[k].iov_len = receive_buffer;
        messages[k].msg_hdr.msg_iov = &iovs[k];
        messages[k].msg_hdr.msg_iovlen = 1;
    }
    uint64_t calls = 0;
    for (;;) {
        int got;
        if (opt->recv == recv_recvfrom) {
            ssize_t length = recv(r->rx, buffer, receive_buffer, 0);
            if (length >= 0) {
                messages[0].msg_len = (unsigned)length;
                messages[0].msg_hdr.msg_flags = 0;
            }
            got = length < 0 ? -1 : 1;
        } else if (opt->recv == recv_gro) {
            messages[0].msg_hdr.msg_control = controls[0].bytes;
            messages[0].msg_hdr.msg_controllen = sizeof controls[0].bytes;
            ssize_t length = recvmsg(r->rx, &messages[0].msg_hdr, 0);
            if (length >= 0) {
                messages[0].msg_len = (unsigned)length;
            }
            got = length < 0 ? -1 : 1;
        } else {
            if (gro) {
                for (size_t k = 0; k < entries; ++k) {
                    messages[k].msg_hdr.msg_control = controls[k].bytes;
                    messages[k].msg_hdr.msg_controllen = sizeof controls[k].bytes;
                }
            }
            got = recvmmsg(r->rx, messages, (unsigned)entries, MSG_WAITFORONE, NULL);
        }
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (atomic_load(&r->sender_done)) {
                    break;
                }
                continue;
            }
            if (errno == EINTR) {
                continue;
            }
            die(opt->recv == recv_recvfrom ? "recv"
                : opt->recv == recv_gro    ? "recvmsg"
                                           : "recvmmsg");
        }
        r->last_receive_ns = now_ns();
        ++calls;
        for (size_t k = 0; k < (size_t)got; ++k) {
            struct msghdr* header = &messages[k].msg_hdr;
            account(r, iovs[k].iov_base, messages[k].msg_len, gro ? gro_segment(header) : 0,
                    (header->msg_flags & MSG_TRUNC) != 0);
        }
    }
    r->recv_calls = calls;
    free(controls);
    free(iovs);
    free(messages);
    free(buffer);
    return NULL;
}

static void usage(const char* program) {
    fprintf(stderr,
            "usage: %s --send sendto|sendmmsg|gso --recv recvfrom|recvmmsg|gro|gro_mmsg\n"
            "          --size BYTES --seconds S [--batch 32] [--count N]\n",
            program);
    exit(2);
}

static int lookup(const char* value, const char* const* names, int count) {
    for (int i = 0; i < count; ++i) {
        if (strcmp(value, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* A whole decimal number in [low, high], else -1 (never in range here). */
static long long number(const char* text, long long low, long long high) {
    char* end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
        return -1;
    }
    return value;
}

static struct options parse(int argc, char** argv) {
    struct options opt = {.send = send_sendto,
                          .recv = recv_recvfrom,
                          .size = 0,
                          .seconds = 0,
                          .batch = 32,
                          .count = UINT64_MAX};
    int have_send = 0, have_recv = 0;
    for (int i = 1; i < argc; i += 2) {
        const char* name = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) {
            usage(argv[0]);
        }
        if (strcmp(name, "--send") == 0) {
            int mode = lookup(value, send_names, 3);
            if (mode < 0) {
                usage(argv[0]);
            }
            opt.send = (enum send_mode)mode;
            have_send = 1;
        } else if (strcmp(name, "--recv") == 0) {
            int mode = lookup(value, recv_names, 4);
            if (mode < 0) {
                usage(argv[0]);
            }
            opt.recv = (enum recv_mode)mode;
            have_recv = 1;
        } else if (strcmp(name, "--size") == 0) {
            long long size = number(value, 8, max_udp_payload);
            if (size < 0) {
                fprintf(stderr, "%s: --size must be 8 to %d bytes\n", argv[0], max_udp_payload);
                exit(2);
            }
            opt.size = (size_t)size;
        } else if (strcmp(name, "--seconds") == 0) {
            char* end;
            opt.seconds = strtod(value, &end);
            if (end == value || *end != '\0' || !(opt.seconds > 0) || opt.seconds > 86400) {
                usage(argv[0]);
            }
        } else if (strcmp(name, "--batch") == 0) {
            long long batch = number(value, 1, max_batch);
            if (batch < 0) {
                fprintf(stderr, "%s: --batch must be 1 to %d\n", argv[0], max_batch);
                exit(2);
            }
            opt.batch = (size_t)batch;
        } else if (strcmp(name, "--count") == 0) {
            long long count = number(value, 1, INT64_MAX);
            if (count < 0) {
                usage(argv[0]);
            }
            opt.count = (uint64_t)count;
        } else {
            usage(argv[0]);
        }
    }
    if (!have_send || !have_recv || opt.size == 0 || opt.seconds == 0) {
        usage(argv[0]);
    }
    return opt;
}

int main(int argc, char** argv) {
    struct run r;
    memset(&r, 0, sizeof r);
    r.opt = parse(argc, argv);
    atomic_init(&r.sender_done, 0);

    const unsigned max_segments = detect_max_segments();
    r.gso_segments = max_udp_payload / r.opt.size;
    if (r.gso_segments > max_segments) {
        r.gso_segments = max_segments;
    }

    r.rx = udp_socket();
    const int rcvbuf = wanted_rcvbuf;
    if (setsockopt(r.rx, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0 &&
        setsockopt(r.rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
        die("setsockopt(SO_RCVBUF)");
    }
    const struct timeval timeout = {.tv_sec = 0, .tv_usec = drain_timeout_ms * 1000};
    if (setsockopt(r.rx, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
        die("setsockopt(SO_RCVTIMEO)");
    }
    if (r.opt.recv == recv_gro || r.opt.recv == recv_gro_mmsg) {
        const int on = 1;
        if (setsockopt(r.rx, IPPROTO_UDP, UDP_GRO, &on, sizeof on) != 0) {
            die("setsockopt(UDP_GRO)");
        }
    }
    const struct sockaddr_in address = bind_loopback(r.rx);
    r.tx = udp_socket();
    connect_to(r.tx, &address);

    pthread_t receiving, sending;
    int rc = pthread_create(&receiving, NULL, receiver, &r);
    if (rc != 0) {
        errno = rc;
        die("pthread_create");
    }
    rc = pthread_create(&sending, NULL, sender, &r);
    if (rc != 0) {
        errno = rc;
        die("pthread_create");
    }
    pthread_join(sending, NULL);
    pthread_join(receiving, NULL);
    close(r.tx);
    close(r.rx);

    if (r.next_seq > r.sent) {
        ++r.bad; /* a sequence number that was never sent */
    }
    const uint64_t end = r.received > 0 ? r.last_receive_ns : r.last_send_ns;
    const double seconds = end > r.first_send_ns ? (double)(end - r.first_send_ns) / 1e9 : 0.0;
    const uint64_t lost = r.sent > r.received ? r.sent - r.received : 0;
    printf("{\"impl\":\"c\",\"send\":\"%s\",\"recv\":\"%s\",\"size\":%zu,\"sent\":%llu,"
           "\"received\":%llu,\"lost\":%llu,\"bad\":%llu,\"bytes\":%llu,\"seconds\":%.6f,"
           "\"datagrams_per_s\":%.1f,\"bytes_per_s\":%.1f,\"max_segments\":%u,"
           "\"send_calls\":%llu,\"recv_calls\":%llu}\n",
           send_names[r.opt.send], recv_names[r.opt.recv], r.opt.size, (unsigned long long)r.sent,
           (unsigned long long)r.received, (unsigned long long)lost, (unsigned long long)r.bad,
           (unsigned long long)r.bytes, seconds, seconds > 0 ? (double)r.received / seconds : 0.0,
           seconds > 0 ? (double)r.bytes / seconds : 0.0, max_segments,
           (unsigned long long)r.send_calls, (unsigned long long)r.recv_calls);
    if (fflush(stdout) != 0) {
        die("write");
    }
    if (r.bad > 0) {
        fprintf(stderr, "udp_batch_c: %llu bad datagrams\n", (unsigned long long)r.bad);
        return 1;
    }
    return 0;
}
