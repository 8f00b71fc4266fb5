// The UDP batching benchmark, netkit half: the same threads, placement, sockets, modes, command
// line and JSON line as udp_batch_c.c (see there), with every socket call made through netkit:
//   sendto    sock.send(bytes)                     -> send(2)
//   sendmmsg  send_batch_all(sock, batch)          -> sendmmsg(2), a partial batch resumed
//   gso       udp::segmenter::send(sock, bytes, n) -> sendmsg(2) with UDP_SEGMENT
//   recvfrom  sock.receive(bytes)                  -> recv(2)
//   recvmmsg  receive_batch(sock, batch)           -> recvmmsg(2) with MSG_WAITFORONE
//   gro       sock.receive_message(bytes, control) -> recvmsg(2), split by udp::datagrams_of
//   gro_mmsg  receive_batch with a control area per message, each split by udp::datagrams_of
//   uring_gro one multishot IORING_OP_RECVMSG (sys/io_uring*.hpp, no liburing) with UDP_GRO into
//             a provided buffer ring of 16 buffers that each take a coalesced receive whole,
//             each split by udp::datagrams_of; completions waited for with io_uring_enter. The
//             C program has no such mode. Where io_uring is forbidden or absent (EPERM, ENOSYS)
//             or lacks what the mode needs, the JSON line says "skipped" and why, and the exit
//             status is 0.
// Datagrams are filled and checked by pattern.h, shared with the C program, so that the two
// differ in their socket calls only.
#include <netkit/netkit.hpp>
#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_buffer_ring.hpp>
#include <netkit/sys/io_uring_multishot.hpp>
#include <netkit/sys/io_uring_ops.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

namespace nk = netkit;
namespace uring = netkit::detail::uring;

namespace {

constexpr std::size_t receive_buffer = 65535;
constexpr std::size_t max_batch = 1024;
constexpr int wanted_rcvbuf = 8 << 20;

enum class send_mode {
    sendto,
    sendmmsg,
    gso
};
enum class recv_mode {
    recvfrom,
    recvmmsg,
    gro,
    gro_mmsg,
    uring_gro
};
constexpr std::array<std::string_view, 3> send_names{"sendto", "sendmmsg", "gso"};
constexpr std::array<std::string_view, 5> recv_names{"recvfrom", "recvmmsg", "gro", "gro_mmsg",
                                                     "uring_gro"};

struct options {
    send_mode send = send_mode::sendto;
    recv_mode recv = recv_mode::recvfrom;
    std::size_t size = 0;
    double seconds = 0;
    std::size_t batch = 32;
    std::uint64_t count = UINT64_MAX;
};

using send_batch_type = nk::udp::batch<max_batch>;
using plain_batch_type = nk::udp::batch<max_batch>;
using gro_batch_type = nk::udp::batch<max_batch, 1, nk::control_space<nk::cmsg::udp_gro>>;

struct run {
    options opt;
    nk::udp::socket tx;
    nk::udp::socket rx;
    std::atomic<bool> sender_done{false};
    std::uint64_t first_send_ns = 0, last_send_ns = 0, sent = 0, send_calls = 0;
    std::uint64_t last_receive_ns = 0, received = 0, bytes = 0, bad = 0, recv_calls = 0;
    std::uint64_t next_seq = 0;
    std::size_t max_segments = 0;
};

[[noreturn]] void die(const char* what, const nk::error& failed) {
    std::fprintf(stderr, "udp_batch_netkit: %s: %s\n", what, failed.message().c_str());
    std::exit(1);
}

std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

void pin(int cpu) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<std::size_t>(cpu), &set);
    if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0) {
        die("pthread_setaffinity_np", nk::error::from_errno(rc, "pthread_setaffinity_np"));
    }
}

unsigned char* bytes_of(std::vector<std::byte>& buffer, std::size_t offset) {
    return reinterpret_cast<unsigned char*>(buffer.data() + offset);
}

void sender(run& r) {
    const options& opt = r.opt;
    pin(0);
    nk::udp::segmenter segmenter;
    const std::size_t per_call = opt.send == send_mode::sendto     ? 1
                                 : opt.send == send_mode::sendmmsg ? opt.batch
                                                                   : r.max_segments;
    std::vector<std::byte> buffer(per_call * opt.size);
    auto batch = std::make_unique<send_batch_type>();
    auto fill_batch = [&](std::size_t n) {
        batch->clear();
        for (std::size_t k = 0; k < n; ++k) {
            batch->add(std::span(buffer).subspan(k * opt.size, opt.size)).value();
        }
    };
    if (opt.send == send_mode::sendmmsg) {
        fill_batch(per_call);
    }
    unsigned char* const base = bytes_of(buffer, 0); // as the C program's loop: no reloads
    const std::size_t size = opt.size;
    const std::uint64_t start = now_ns();
    const std::uint64_t stop = start + static_cast<std::uint64_t>(opt.seconds * 1e9);
    std::uint64_t seq = 0;
    std::uint64_t calls = 0;
    std::uint64_t t = start;
    r.first_send_ns = start;
    while (seq < opt.count && t < stop) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(opt.count - seq, per_call));
        for (std::size_t k = 0; k < n; ++k) {
            udp_batch_fill(base + k * size, size, seq + k);
        }
        if (opt.send == send_mode::sendto) {
            if (auto went = r.tx.send(std::span(buffer).first(opt.size)); !went) {
                die("send", went.error());
            }
            ++calls;
        } else if (opt.send == send_mode::sendmmsg) {
            if (n != batch->size()) {
                fill_batch(n); // the last round only
            }
            batch->restart();
            while (batch->completed() < n) {
                if (auto went = nk::send_batch(r.tx, *batch); !went) {
                    die("sendmmsg", went.error());
                }
                ++calls;
            }
        } else {
            auto went = segmenter.send(r.tx, std::span(buffer).first(n * opt.size), opt.size);
            if (!went) {
                die("sendmsg (UDP_SEGMENT)", went.error());
            }
            ++calls;
        }
        seq += n;
        t = now_ns();
    }
    r.last_send_ns = t;
    r.sent = seq;
    r.send_calls = calls;
    r.sender_done.store(true);
}

// Inlined, as the C program's account() is, so that both loops cost the same around the check.
[[gnu::always_inline]] inline void account(run& r, std::span<const std::byte> datagram,
                                           bool truncated) {
    ++r.received;
    r.bytes += datagram.size();
    const auto* p = reinterpret_cast<const unsigned char*>(datagram.data());
    if (truncated || udp_batch_intact(p, datagram.size(), r.opt.size) == 0) {
        ++r.bad;
        return;
    }
    std::uint64_t seq = 0;
    std::memcpy(&seq, p, sizeof seq);
    if (seq < r.next_seq) {
        ++r.bad;
    }
    r.next_seq = seq + 1;
}

// One recvmmsg per call into `batch` (with control areas for GRO, none otherwise, as the C
// program); false once the sender is done and nothing came for 200 ms.
template <class Batch>
bool receive_batched(run& r, Batch& batch, std::uint64_t& calls) {
    auto got = nk::receive_batch(r.rx, batch);
    if (!got) {
        if (!got.error().would_block()) {
            die("recvmmsg", got.error());
        }
        return !r.sender_done.load();
    }
    r.last_receive_ns = now_ns();
    ++calls;
    for (std::size_t k = 0; k < *got; ++k) {
        const bool truncated = batch.truncated(k);
        if constexpr (std::is_same_v<Batch, gro_batch_type>) {
            auto datagrams = nk::udp::datagrams_of(batch, k);
            if (!datagrams) {
                die("recvmmsg (UDP_GRO)", datagrams.error());
            }
            for (const auto datagram : *datagrams) {
                account(r, datagram, truncated);
            }
        } else {
            account(r, batch.bytes(k), truncated);
        }
    }
    return true;
}

void receiver(run& r) {
    const options& opt = r.opt;
    pin(1);
    const bool batched = opt.recv == recv_mode::recvmmsg || opt.recv == recv_mode::gro_mmsg;
    const std::size_t entries = batched ? opt.batch : 1;
    std::vector<std::byte> buffer(entries * receive_buffer);
    std::uint64_t calls = 0;
    if (opt.recv == recv_mode::recvmmsg) {
        auto batch = std::make_unique<plain_batch_type>();
        batch->add_receive_slots(buffer, receive_buffer).value();
        batch->receive_senders(false); // connected, as the C program, which asks for no names
        while (receive_batched(r, *batch, calls)) {
        }
    } else if (opt.recv == recv_mode::gro_mmsg) {
        auto batch = std::make_unique<gro_batch_type>();
        batch->add_receive_slots(buffer, receive_buffer).value();
        batch->receive_senders(false);
        while (receive_batched(r, *batch, calls)) {
        }
    } else {
        nk::control_buffer<nk::control_space<nk::cmsg::udp_gro>> control;
        auto one = std::span(buffer).first(receive_buffer);
        for (;;) {
            nk::error failed;
            if (opt.recv == recv_mode::recvfrom) {
                auto got = r.rx.receive(one);
                if (got) {
                    r.last_receive_ns = now_ns();
                    ++calls;
                    account(r, one.first(got->size), got->truncated());
                    continue;
                }
                failed = got.error();
            } else {
                auto got = r.rx.receive_message(one, control);
                if (got) {
                    r.last_receive_ns = now_ns();
                    ++calls;
                    auto datagrams =
                        nk::udp::datagrams_of(one.first(got->size), control.messages(), got->flags);
                    if (!datagrams) {
                        die("recvmsg (UDP_GRO)", datagrams.error());
                    }
                    const bool truncated = got->truncated();
                    for (const auto datagram : *datagrams) {
                        account(r, datagram, truncated);
                    }
                    continue;
                }
                failed = got.error();
            }
            if (!failed.would_block()) {
                die("receive", failed);
            }
            if (r.sender_done.load()) {
                break;
            }
        }
    }
    r.recv_calls = calls;
}

// uring_gro's buffers: each takes a coalesced receive whole (up to 65,535 bytes of payload after
// the kernel's header and the UDP_GRO control message), rounded up to whole cache lines. The
// kernel takes them in turn, so all of them pass through the cache: 16 (1 MiB) cost the receiver
// less per datagram than 64 or 256, and running out only ends the request until it is armed
// again (docs/io_uring.md, "UDP on the ring", has the counts tried).
constexpr std::uint32_t ring_buffers = 16;
constexpr std::uint64_t recvmsg_request = 1; // the user_data of the multishot recvmsg

// The uring_gro receiver: one multishot recvmsg on the ring, armed again whenever it ends with
// the socket still good (out of buffers, a full CQ ring), every buffer given back once read.
class ring_receiver {
public:
    // Sets up the ring, the buffer ring and the request on this thread (the ring accepts
    // submissions from its creator only: SINGLE_ISSUER). Returns why uring_gro cannot run here,
    // or nothing; other failures end the program.
    std::optional<std::string> open(run& r) {
        auto made = uring::ring::create({.submission_entries = 4,
                                         .completion_entries = 2 * ring_buffers,
                                         .flags = uring::setup_deferred});
        if (!made) {
            if (made.error() == std::errc::operation_not_permitted ||
                made.error() == std::errc::function_not_supported) {
                return made.error().message(); // forbidden (seccomp, sysctl) or absent
            }
            die("io_uring_setup", made.error());
        }
        ring_.emplace(std::move(*made));
        layout_.msg_controllen = nk::control_space<nk::cmsg::udp_gro>;
        const std::size_t size =
            (uring::recvmsg_buffer_size(layout_, receive_buffer) + 63) / 64 * 64;
        auto buffers =
            uring::buffer_ring::create(*ring_, 0, ring_buffers, static_cast<std::uint32_t>(size));
        if (!buffers) {
            if (buffers.error() == std::errc::invalid_argument) {
                return "io_uring: no provided buffer rings (Linux 5.19)";
            }
            die("io_uring buffer ring", buffers.error());
        }
        buffers_.emplace(std::move(*buffers));
        fd_ = r.rx.native_handle();
        arm();
        // A kernel without multishot recvmsg (before 6.0) refuses the request when it is
        // submitted, before any datagram: its completion is there at once.
        if (auto submitted = ring_->submit(); !submitted) {
            die("io_uring_enter", submitted.error());
        }
        if (const uring::cqe* c = ring_->peek(); c != nullptr && c->res == -EINVAL) {
            return "io_uring: no multishot recvmsg (Linux 6.0)";
        }
        return std::nullopt;
    }

    // Receives until the sender is done and nothing came for 200 ms.
    void receive(run& r) {
        std::uint64_t calls = 0;
        for (;;) {
            auto waited =
                ring_->submit_and_wait(1, nk::deadline::after(std::chrono::milliseconds(200)));
            if (!waited) {
                die("io_uring_enter", waited.error());
            }
            bool again = false;
            const std::uint32_t reaped =
                ring_->for_each_completion([&](const uring::cqe& c) { again |= take(r, c); });
            if (reaped == 0) {
                if (r.sender_done.load()) {
                    break;
                }
                continue;
            }
            r.last_receive_ns = now_ns();
            ++calls;
            buffers_->publish(); // the buffers read in this turn, back in one release store
            if (again) {
                arm();
            }
        }
        r.recv_calls = calls;
    }

    // Cancels the request and waits for its last completion, so that no buffer is in the
    // kernel's hands when the buffer ring is unregistered.
    void close(run& r) {
        if (!armed_) {
            return;
        }
        uring::prepare_cancel(*ring_->next_sqe(), recvmsg_request, 0, recvmsg_request + 1);
        const auto limit = nk::deadline::after(std::chrono::seconds(5));
        while (armed_ && !limit.expired()) {
            if (auto waited = ring_->submit_and_wait(1, limit); !waited) {
                die("io_uring_enter", waited.error());
            }
            ring_->for_each_completion([&](const uring::cqe& c) { (void)take(r, c); });
        }
        buffers_.reset(); // before the ring it is registered with
    }

private:
    void arm() {
        uring::prepare_recvmsg_multishot(*ring_->next_sqe(), fd_, layout_, buffers_->group(), 0,
                                         recvmsg_request);
        armed_ = true;
    }

    // Accounts the datagrams of one completion and stages its buffer to be given back; true
    // when the request ended and must be armed again.
    bool take(run& r, const uring::cqe& c) {
        if (c.user_data != recvmsg_request) {
            return false; // the cancel's own completion
        }
        if (uring::has_buffer(c)) {
            const auto id = uring::buffer_id(c);
            const auto message = uring::parse_recvmsg(buffers_->buffer(id), c.res, layout_);
            auto datagrams =
                nk::udp::datagrams_of(message.payload, nk::parse_control(message.control),
                                      nk::message_flags(static_cast<int>(message.flags)));
            if (!datagrams) {
                die("io_uring recvmsg (UDP_GRO)", datagrams.error());
            }
            const bool truncated = message.truncated();
            for (const auto datagram : *datagrams) {
                account(r, datagram, truncated);
            }
            buffers_->stage(id);
        }
        switch (uring::state_after(c)) {
        case uring::multishot_state::goes_on:
            return false;
        case uring::multishot_state::arm_again:
            armed_ = false;
            return true;
        case uring::multishot_state::ended:
            break;
        }
        armed_ = false;
        if (c.res != -ECANCELED) {
            die("io_uring recvmsg", nk::error::from_errno(-c.res, "io_uring recvmsg"));
        }
        return false;
    }

    std::optional<uring::ring> ring_;
    std::optional<uring::buffer_ring> buffers_; // destroyed first: it unregisters through ring_
    msghdr layout_{};
    int fd_ = -1;
    bool armed_ = false;
};

// The uring_gro receiver thread: says through `ready` whether it could set up (an empty string)
// or why it cannot run here, then receives.
void receive_on_ring(run& r, std::promise<std::string>& ready) {
    pin(1);
    ring_receiver receiver;
    if (auto unavailable = receiver.open(r)) {
        ready.set_value(*unavailable);
        return;
    }
    ready.set_value({});
    receiver.receive(r);
    receiver.close(r);
}

[[noreturn]] void usage(const char* program) {
    std::fprintf(stderr,
                 "usage: %s --send sendto|sendmmsg|gso\n"
                 "          --recv recvfrom|recvmmsg|gro|gro_mmsg|uring_gro\n"
                 "          --size BYTES --seconds S [--batch 32] [--count N]\n",
                 program);
    std::exit(2);
}

template <std::size_t N>
int lookup(std::string_view value, const std::array<std::string_view, N>& names) {
    const auto at = std::find(names.begin(), names.end(), value);
    return at == names.end() ? -1 : static_cast<int>(at - names.begin());
}

long long number(const char* text, long long low, long long high) {
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
        return -1;
    }
    return value;
}

options parse(int argc, char** argv) {
    options opt;
    bool have_send = false;
    bool have_recv = false;
    const std::span<char*> args(argv, static_cast<std::size_t>(argc));
    for (std::size_t i = 1; i < args.size(); i += 2) {
        const std::string_view name = args[i];
        if (i + 1 >= args.size()) {
            usage(args[0]);
        }
        const char* value = args[i + 1];
        if (name == "--send") {
            const int mode = lookup(value, send_names);
            if (mode < 0) {
                usage(args[0]);
            }
            opt.send = static_cast<send_mode>(mode);
            have_send = true;
        } else if (name == "--recv") {
            const int mode = lookup(value, recv_names);
            if (mode < 0) {
                usage(args[0]);
            }
            opt.recv = static_cast<recv_mode>(mode);
            have_recv = true;
        } else if (name == "--size") {
            const long long size = number(value, 8, 65507);
            if (size < 0) {
                std::fprintf(stderr, "%s: --size must be 8 to 65507 bytes\n", args[0]);
                std::exit(2);
            }
            opt.size = static_cast<std::size_t>(size);
        } else if (name == "--seconds") {
            char* end = nullptr;
            opt.seconds = std::strtod(value, &end);
            if (end == value || *end != '\0' || !(opt.seconds > 0) || opt.seconds > 86400) {
                usage(args[0]);
            }
        } else if (name == "--batch") {
            const long long batch = number(value, 1, max_batch);
            if (batch < 0) {
                std::fprintf(stderr, "%s: --batch must be 1 to %zu\n", args[0], max_batch);
                std::exit(2);
            }
            opt.batch = static_cast<std::size_t>(batch);
        } else if (name == "--count") {
            const long long count = number(value, 1, INT64_MAX);
            if (count < 0) {
                usage(args[0]);
            }
            opt.count = static_cast<std::uint64_t>(count);
        } else {
            usage(args[0]);
        }
    }
    if (!have_send || !have_recv || opt.size == 0 || opt.seconds == 0) {
        usage(args[0]);
    }
    return opt;
}

} // namespace

int main(int argc, char** argv) {
    run r;
    r.opt = parse(argc, argv);
    const auto& support = nk::udp::offload();
    if (r.opt.send == send_mode::gso && !support.segmentation) {
        std::fprintf(stderr, "udp_batch_netkit: this kernel has no UDP_SEGMENT\n");
        return 1;
    }
    r.max_segments = std::min<std::size_t>(nk::udp::segmenter().max_segments(), 65507 / r.opt.size);

    auto rx = nk::udp::socket::open(nk::ip::v4);
    if (!rx) {
        die("socket", rx.error());
    }
    r.rx = std::move(*rx);
    const int force = wanted_rcvbuf;
    if (::setsockopt(r.rx.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &force, sizeof force) != 0) {
        if (auto set = r.rx.set(nk::so::receive_buffer_size, wanted_rcvbuf); !set) {
            die("setsockopt(SO_RCVBUF)", set.error());
        }
    }
    if (auto set = r.rx.set(nk::so::receive_timeout, std::chrono::milliseconds(200)); !set) {
        die("setsockopt(SO_RCVTIMEO)", set.error());
    }
    if (r.opt.recv == recv_mode::gro || r.opt.recv == recv_mode::gro_mmsg ||
        r.opt.recv == recv_mode::uring_gro) {
        if (auto set = r.rx.set(nk::udp::gro, true); !set) {
            die("setsockopt(UDP_GRO)", set.error());
        }
    }
    if (auto bound = r.rx.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)); !bound) {
        die("bind", bound.error());
    }
    auto tx = nk::udp::socket::connect(r.rx.local_endpoint().value());
    if (!tx) {
        die("connect", tx.error());
    }
    r.tx = std::move(*tx);

    const auto send_name = send_names[static_cast<std::size_t>(r.opt.send)];
    const auto recv_name = recv_names[static_cast<std::size_t>(r.opt.recv)];
    std::thread receiving;
    if (r.opt.recv == recv_mode::uring_gro) {
        // The sender starts once the ring is ready, or not at all where it cannot be.
        std::promise<std::string> ready;
        auto outcome = ready.get_future();
        receiving = std::thread([&] { receive_on_ring(r, ready); });
        if (const std::string unavailable = outcome.get(); !unavailable.empty()) {
            receiving.join();
            std::fprintf(stderr, "udp_batch_netkit: uring_gro skipped: %s\n", unavailable.c_str());
            std::printf("{\"impl\":\"netkit\",\"send\":\"%.*s\",\"recv\":\"%.*s\",\"size\":%zu,"
                        "\"skipped\":\"%s\"}\n",
                        static_cast<int>(send_name.size()), send_name.data(),
                        static_cast<int>(recv_name.size()), recv_name.data(), r.opt.size,
                        unavailable.c_str());
            return std::fflush(stdout) == 0 ? 0 : 1;
        }
    } else {
        receiving = std::thread([&] { receiver(r); });
    }
    std::thread sending([&] { sender(r); });
    sending.join();
    receiving.join();
    (void)r.tx.close();
    (void)r.rx.close();

    if (r.next_seq > r.sent) {
        ++r.bad;
    }
    const std::uint64_t end = r.received > 0 ? r.last_receive_ns : r.last_send_ns;
    const double seconds =
        end > r.first_send_ns ? static_cast<double>(end - r.first_send_ns) / 1e9 : 0.0;
    const std::uint64_t lost = r.sent > r.received ? r.sent - r.received : 0;
    std::printf("{\"impl\":\"netkit\",\"send\":\"%.*s\",\"recv\":\"%.*s\",\"size\":%zu,"
                "\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"bad\":%llu,\"bytes\":%llu,"
                "\"seconds\":%.6f,\"datagrams_per_s\":%.1f,\"bytes_per_s\":%.1f,"
                "\"max_segments\":%zu,\"send_calls\":%llu,\"recv_calls\":%llu}\n",
                static_cast<int>(send_name.size()), send_name.data(),
                static_cast<int>(recv_name.size()), recv_name.data(), r.opt.size,
                static_cast<unsigned long long>(r.sent),
                static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(lost),
                static_cast<unsigned long long>(r.bad), static_cast<unsigned long long>(r.bytes),
                seconds, seconds > 0 ? static_cast<double>(r.received) / seconds : 0.0,
                seconds > 0 ? static_cast<double>(r.bytes) / seconds : 0.0, support.max_segments,
                static_cast<unsigned long long>(r.send_calls),
                static_cast<unsigned long long>(r.recv_calls));
    if (std::fflush(stdout) != 0) {
        return 1;
    }
    if (r.bad > 0) {
        std::fprintf(stderr, "udp_batch_netkit: %llu bad datagrams\n",
                     static_cast<unsigned long long>(r.bad));
        return 1;
    }
    return 0;
}
