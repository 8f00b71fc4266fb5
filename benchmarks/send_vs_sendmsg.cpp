// send vs sendmsg: what gathering K fragments into one sendmsg buys over K sends or over copying
// them into one buffer, on TCP, Unix stream and UDP, through netkit, hand-written C and Asio;
// beside them netkit's adaptive send (copy or gather, chosen per message) and, for large
// messages on TCP and UDP, MSG_ZEROCOPY with every completion reaped.
//
// Every cell (transport, fragment size S, fragment count K) runs its variants interleaved in
// rounds, each starting one variant later (A B C, B C A, C A B, ...). A receiver thread drains and
// checksums every byte: a run that loses or corrupts data fails loudly instead of looking fast.
// UDP loss is counted and reported.

#include <netkit/netkit.hpp>

#include "machine.hpp"
#include "raw_baseline.h"

#ifdef NETKIT_HAVE_ASIO
#include <asio.hpp>
#endif

#include <fmt/core.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace nk = netkit;
using clock_type = std::chrono::steady_clock;

namespace {

enum class transport {
    tcp,
    local,
    udp
};
enum class strategy {
    per_fragment,
    copy,
    gather,
    adaptive,
    zerocopy
};
enum class implementation {
    netkit,
    raw,
    asio
};

constexpr std::array all_transports{transport::tcp, transport::local, transport::udp};
constexpr std::array all_strategies{strategy::per_fragment, strategy::copy, strategy::gather,
                                    strategy::adaptive, strategy::zerocopy};

// Strategies that only netkit has: C and Asio are compared on the first three.
constexpr bool netkit_only(strategy s) {
    return s == strategy::adaptive || s == strategy::zerocopy;
}

// MSG_ZEROCOPY is measured where the kernel documentation says it may pay (large messages),
// on the transports that have it (not Unix sockets).
constexpr std::size_t zerocopy_from_size = 16384;

std::string_view name(transport t) {
    switch (t) {
    case transport::tcp:
        return "tcp";
    case transport::local:
        return "unix";
    case transport::udp:
        return "udp";
    }
    return "?";
}
std::string_view name(strategy s) {
    switch (s) {
    case strategy::per_fragment:
        return "send-per-fragment";
    case strategy::copy:
        return "copy-then-send";
    case strategy::gather:
        return "sendmsg-gather";
    case strategy::adaptive:
        return "adaptive";
    case strategy::zerocopy:
        return "sendmsg-zerocopy";
    }
    return "?";
}
std::string_view name(implementation i) {
    switch (i) {
    case implementation::netkit:
        return "netkit";
    case implementation::raw:
        return "raw-c";
    case implementation::asio:
        return "asio";
    }
    return "?";
}

std::vector<implementation> implementations() {
#ifdef NETKIT_HAVE_ASIO
    return {implementation::netkit, implementation::raw, implementation::asio};
#else
    return {implementation::netkit, implementation::raw};
#endif
}

[[noreturn]] void die(const std::string& what) {
    fmt::print(stderr, "send_vs_sendmsg: {}\n", what);
    std::exit(1);
}

constexpr std::size_t max_udp_payload = 65507;

/// A connected pair for one transport: the sender's and the receiver's descriptors.
struct connection {
    nk::file_descriptor sender;
    nk::file_descriptor receiver;
};

connection connect(transport t) {
    switch (t) {
    case transport::tcp: {
        auto acceptor =
            nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value()).value();
        auto client = nk::tcp::socket::connect(acceptor.local_endpoint().value()).value();
        auto server = acceptor.accept().value();
        (void)client.set(nk::tcp::no_delay, true);
        return {nk::file_descriptor(client.release()),
                nk::file_descriptor(server.socket.release())};
    }
    case transport::local: {
        auto [a, b] = nk::local::stream_socket::pair().value();
        return {nk::file_descriptor(a.release()), nk::file_descriptor(b.release())};
    }
    case transport::udp: {
        auto a = nk::udp::socket::open(nk::ip::v4).value();
        auto b = nk::udp::socket::open(nk::ip::v4).value();
        b.bind(nk::ip::endpoint::parse("127.0.0.1:0").value()).value();
        a.bind(nk::ip::endpoint::parse("127.0.0.1:0").value()).value();
        a.connect_to(b.local_endpoint().value()).value();
        // As root, past net.core.rmem_max: a deep queue keeps loopback loss low (it is still
        // counted and reported).
        const int deep = 64 << 20;
        (void)::setsockopt(b.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &deep, sizeof deep);
        return {nk::file_descriptor(a.release()), nk::file_descriptor(b.release())};
    }
    }
    die("unknown transport");
}

/// The message: K fragments of S bytes, each in its own allocation, filled with a pattern.
struct message_source {
    std::vector<std::vector<std::uint8_t>> fragments;
    std::vector<nk::const_buffer> buffers;
    std::vector<iovec> iovecs;
    std::vector<std::uint8_t> staging; // for copy-then-send
    std::uint64_t sum = 0;             // of the bytes of one message

    message_source(std::size_t size, std::size_t count) : staging(size * count) {
        for (std::size_t k = 0; k < count; ++k) {
            auto& f = fragments.emplace_back(size);
            for (std::size_t i = 0; i < size; ++i) {
                f[i] = static_cast<std::uint8_t>((k * 131 + i * 7) & 0xff);
                sum += f[i];
            }
            buffers.push_back(nk::buffer(f));
            iovecs.push_back(iovec{f.data(), f.size()});
        }
    }
    [[nodiscard]] std::size_t bytes() const { return staging.size(); }
};

/// What the receiver saw.
struct received {
    std::uint64_t bytes = 0;
    std::uint64_t datagrams = 0;
    std::uint64_t sum = 0;
};

/// Drains `fd` until `expected` bytes have arrived (streams) or, for UDP, until the sender is
/// done and the queue is empty.
received drain(int fd, transport t, std::uint64_t expected, const std::atomic<bool>& sender_done) {
    received got;
    std::vector<std::uint8_t> buffer(1 << 20);
    while (got.bytes < expected) {
        int flags = 0;
        if (t == transport::udp && sender_done.load(std::memory_order_acquire)) {
            // Sender finished: take what is queued, then stop (what never came is loss).
            if (nk::detail::poll_one(fd, POLLIN, std::chrono::milliseconds(200)).value_or(0) == 0) {
                break;
            }
            flags = MSG_DONTWAIT;
        }
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), flags);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            die(fmt::format("receive: {}", std::strerror(errno)));
        }
        if (n == 0 && t != transport::udp) {
            die("unexpected end of stream");
        }
        got.bytes += static_cast<std::uint64_t>(n);
        got.datagrams += 1;
        for (ssize_t i = 0; i < n; ++i) {
            got.sum += buffer[static_cast<std::size_t>(i)];
        }
    }
    return got;
}

// ---- the senders: one loop per implementation, kept out of line so callgrind can count each ----

template <strategy S>
[[gnu::noinline]] void netkit_send_loop(int fd, transport t, message_source& m,
                                        std::size_t messages) {
    if (t == transport::udp) {
        nk::udp::socket sock{nk::file_descriptor(fd)};
        for (std::size_t n = 0; n < messages; ++n) {
            if constexpr (S == strategy::per_fragment) {
                for (const auto& f : m.fragments) {
                    sock.send(f).value();
                }
            } else if constexpr (S == strategy::copy) {
                std::size_t at = 0;
                for (const auto& f : m.fragments) {
                    std::memcpy(m.staging.data() + at, f.data(), f.size());
                    at += f.size();
                }
                sock.send(m.staging).value();
            } else if constexpr (S == strategy::gather) {
                sock.send(nk::exact_gather(m.buffers)).value();
            } else {
                sock.send(m.buffers).value();
            }
        }
        (void)sock.release();
        return;
    }
    nk::tcp::socket sock{nk::file_descriptor(fd)}; // a byte stream; TCP and Unix alike
    for (std::size_t n = 0; n < messages; ++n) {
        if constexpr (S == strategy::per_fragment) {
            for (const auto& f : m.fragments) {
                sock.send_all(f).value();
            }
        } else if constexpr (S == strategy::copy) {
            std::size_t at = 0;
            for (const auto& f : m.fragments) {
                std::memcpy(m.staging.data() + at, f.data(), f.size());
                at += f.size();
            }
            sock.send_all(m.staging).value();
        } else if constexpr (S == strategy::gather) {
            sock.send_all(nk::exact_gather(m.buffers)).value();
        } else {
            sock.send_all(m.buffers).value();
        }
    }
    (void)sock.release();
}

/// What the zero-copy sends of the last run did: every send's completion is reaped before the
/// run ends, inside its timing.
struct zerocopy_counts {
    std::uint64_t sends = 0;     // numbered zero-copy sends
    std::uint64_t completed = 0; // completions reaped
    std::uint64_t copied = 0;    // of those, reported copied by the kernel
    std::uint64_t fallbacks = 0; // sends made as ordinary copies (ENOBUFS, full window)
};
zerocopy_counts last_zerocopy;

template <class Socket>
void zerocopy_sends(Socket& sock, message_source& m, std::size_t messages) {
    auto tracker = nk::zerocopy_tracker::enable(sock).value();
    for (std::size_t n = 0; n < messages; ++n) {
        nk::buffer_cursor cursor{std::span<const iovec>(m.iovecs)};
        while (!cursor.done()) {
            cursor.consume(nk::send_zerocopy(sock, tracker, cursor.next()).value().bytes);
        }
        // One reap per half window: a read of the error queue per send would cost a system
        // call each, and a full window would turn sends into copies.
        if (tracker.in_flight() >= nk::zerocopy_tracker::window / 2) {
            tracker.reap(sock).value();
        }
    }
    // A failed datagram send ends the numbering (the kernel may have numbered a dropped packet):
    // nothing more can be matched, so the run reports what it reaped instead of waiting.
    if (!tracker.numbering_lost()) {
        tracker.reap_until(sock, tracker.sent(), std::chrono::seconds(10)).value();
    }
    last_zerocopy = {tracker.sent(), tracker.completed(), tracker.copied(),
                     tracker.enobufs_copies() + tracker.window_copies()};
}

[[gnu::noinline]] void netkit_zerocopy_loop(int fd, transport t, message_source& m,
                                            std::size_t messages) {
    if (t == transport::udp) {
        nk::udp::socket sock{nk::file_descriptor(fd)};
        zerocopy_sends(sock, m, messages);
        (void)sock.release();
    } else {
        nk::tcp::socket sock{nk::file_descriptor(fd)};
        zerocopy_sends(sock, m, messages);
        (void)sock.release();
    }
}

template <strategy S>
[[gnu::noinline]] void raw_send_loop(int fd, transport t, message_source& m, std::size_t messages) {
    const bool datagram = t == transport::udp;
    for (std::size_t n = 0; n < messages; ++n) {
        int status = 0;
        if constexpr (S == strategy::per_fragment) {
            for (const auto& f : m.fragments) {
                status |= datagram ? (raw_send(fd, f.data(), f.size()) < 0 ? -1 : 0)
                                   : raw_send_all(fd, f.data(), f.size());
            }
        } else if constexpr (S == strategy::copy) {
            std::size_t at = 0;
            for (const auto& f : m.fragments) {
                std::memcpy(m.staging.data() + at, f.data(), f.size());
                at += f.size();
            }
            status = datagram ? (raw_send(fd, m.staging.data(), m.staging.size()) < 0 ? -1 : 0)
                              : raw_send_all(fd, m.staging.data(), m.staging.size());
        } else {
            status = datagram ? (raw_sendmsg(fd, m.iovecs.data(), m.iovecs.size()) < 0 ? -1 : 0)
                              : raw_sendmsg_all(fd, m.iovecs.data(), m.iovecs.size());
        }
        if (status != 0) {
            die(fmt::format("raw send: {}", std::strerror(errno)));
        }
    }
}

#ifdef NETKIT_HAVE_ASIO
template <strategy S, class Socket>
void asio_stream_loop(Socket& sock, message_source& m, std::size_t messages,
                      const std::vector<asio::const_buffer>& pieces) {
    for (std::size_t n = 0; n < messages; ++n) {
        if constexpr (S == strategy::per_fragment) {
            for (const auto& f : m.fragments) {
                asio::write(sock, asio::buffer(f));
            }
        } else if constexpr (S == strategy::copy) {
            std::size_t at = 0;
            for (const auto& f : m.fragments) {
                std::memcpy(m.staging.data() + at, f.data(), f.size());
                at += f.size();
            }
            asio::write(sock, asio::buffer(m.staging));
        } else {
            asio::write(sock, pieces);
        }
    }
}

template <strategy S>
[[gnu::noinline]] void asio_send_loop(int fd, transport t, message_source& m,
                                      std::size_t messages) {
    asio::io_context context;
    std::vector<asio::const_buffer> pieces;
    for (const auto& f : m.fragments) {
        pieces.emplace_back(f.data(), f.size());
    }
    const int copy = ::dup(fd); // Asio closes what it is given
    if (t == transport::tcp) {
        asio::ip::tcp::socket sock(context, asio::ip::tcp::v4(), copy);
        asio_stream_loop<S>(sock, m, messages, pieces);
    } else if (t == transport::local) {
        asio::local::stream_protocol::socket sock(context, asio::local::stream_protocol(), copy);
        asio_stream_loop<S>(sock, m, messages, pieces);
    } else {
        asio::ip::udp::socket sock(context, asio::ip::udp::v4(), copy);
        for (std::size_t n = 0; n < messages; ++n) {
            if constexpr (S == strategy::per_fragment) {
                for (const auto& f : m.fragments) {
                    sock.send(asio::buffer(f));
                }
            } else if constexpr (S == strategy::copy) {
                std::size_t at = 0;
                for (const auto& f : m.fragments) {
                    std::memcpy(m.staging.data() + at, f.data(), f.size());
                    at += f.size();
                }
                sock.send(asio::buffer(m.staging));
            } else {
                sock.send(pieces);
            }
        }
    }
}
#endif

template <strategy S>
void send_loop(implementation impl, int fd, transport t, message_source& m, std::size_t messages) {
    if constexpr (netkit_only(S)) {
        if (impl != implementation::netkit) {
            die(fmt::format("{} is netkit's alone", name(S)));
        }
        if constexpr (S == strategy::zerocopy) {
            netkit_zerocopy_loop(fd, t, m, messages);
        } else {
            netkit_send_loop<S>(fd, t, m, messages);
        }
        return;
    }
    switch (impl) {
    case implementation::netkit:
        netkit_send_loop<S>(fd, t, m, messages);
        return;
    case implementation::raw:
        raw_send_loop<S>(fd, t, m, messages);
        return;
    case implementation::asio:
#ifdef NETKIT_HAVE_ASIO
        asio_send_loop<S>(fd, t, m, messages);
        return;
#else
        die("built without Asio");
#endif
    }
}

void send_loop(strategy s, implementation impl, int fd, transport t, message_source& m,
               std::size_t messages) {
    switch (s) {
    case strategy::per_fragment:
        send_loop<strategy::per_fragment>(impl, fd, t, m, messages);
        return;
    case strategy::copy:
        send_loop<strategy::copy>(impl, fd, t, m, messages);
        return;
    case strategy::gather:
        send_loop<strategy::gather>(impl, fd, t, m, messages);
        return;
    case strategy::adaptive:
        send_loop<strategy::adaptive>(impl, fd, t, m, messages);
        return;
    case strategy::zerocopy:
        send_loop<strategy::zerocopy>(impl, fd, t, m, messages);
        return;
    }
}

/// Unless --no-pin, the sender runs on one CPU and the receiver on another, so that neither
/// migrates or shares a core with the other mid-run; on a small machine that placement otherwise
/// varies from run to run and widens the spread between rounds.
struct cpu_pair {
    int sender = -1;
    int receiver = -1;
};
cpu_pair pinned_cpus; // both -1: not pinned

std::optional<cpu_pair> two_allowed_cpus() {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        return std::nullopt;
    }
    cpu_pair cpus;
    for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &allowed)) {
            (cpus.sender < 0 ? cpus.sender : cpus.receiver) = static_cast<int>(cpu);
            if (cpus.receiver >= 0) {
                return cpus;
            }
        }
    }
    return std::nullopt;
}

/// 0, or the error number of pthread_setaffinity_np.
int try_pin_this_thread(int cpu) {
    cpu_set_t only;
    CPU_ZERO(&only);
    CPU_SET(static_cast<std::size_t>(cpu), &only);
    return ::pthread_setaffinity_np(::pthread_self(), sizeof only, &only);
}

void pin_this_thread(int cpu) {
    if (cpu < 0) {
        return;
    }
    if (const int rc = try_pin_this_thread(cpu); rc != 0) {
        die(fmt::format("cannot pin a thread to CPU {}: {}", cpu, std::strerror(rc)));
    }
}

/// One run of one variant: seconds elapsed, and what arrived.
struct run_result {
    double seconds = 0;
    double gbps = 0; // gigabytes (1e9) per second delivered
    double messages_per_second = 0;
    double loss = 0; // fraction of bytes lost (UDP only)
    zerocopy_counts zerocopy{};
};

run_result run_once(transport t, strategy s, implementation impl, message_source& m,
                    std::size_t messages) {
    connection c = connect(t);
    const std::uint64_t expected = static_cast<std::uint64_t>(m.bytes()) * messages;
    std::atomic<bool> sender_done{false};
    received got;
    const auto start = clock_type::now();
    std::thread receiver([&] {
        pin_this_thread(pinned_cpus.receiver);
        got = drain(c.receiver.get(), t, expected, sender_done);
    });
    last_zerocopy = {};
    send_loop(s, impl, c.sender.get(), t, m, messages);
    sender_done.store(true, std::memory_order_release);
    receiver.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    if (t != transport::udp) {
        if (got.bytes != expected || got.sum != m.sum * messages) {
            die(fmt::format("{} {} {}: data lost or corrupted ({} of {} bytes)", name(t), name(s),
                            name(impl), got.bytes, expected));
        }
    } else if (got.bytes > expected) {
        die("udp: more bytes than were sent");
    }
    run_result r;
    r.seconds = seconds;
    r.gbps = static_cast<double>(got.bytes) / seconds / 1e9;
    r.messages_per_second =
        static_cast<double>(got.bytes) / static_cast<double>(m.bytes()) / seconds;
    r.loss = 1.0 - static_cast<double>(got.bytes) / static_cast<double>(expected);
    r.zerocopy = last_zerocopy;
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct cell {
    transport t;
    std::size_t size;
    std::size_t fragments;
    // Messages per run of each strategy, the same for every implementation of it.
    std::map<strategy, std::size_t> messages;
    // rounds[variant] = one result per round
    std::map<std::pair<strategy, implementation>, std::vector<run_result>> rounds;

    [[nodiscard]] std::vector<double> gbps(strategy s, implementation i) const {
        std::vector<double> out;
        for (const auto& r : rounds.at({s, i})) {
            out.push_back(r.gbps);
        }
        return out;
    }
    /// Ratio a/b computed within each round, then the median over rounds.
    [[nodiscard]] double ratio(std::pair<strategy, implementation> a,
                               std::pair<strategy, implementation> b) const {
        std::vector<double> per_round;
        const auto& ra = rounds.at(a);
        const auto& rb = rounds.at(b);
        for (std::size_t i = 0; i < ra.size(); ++i) {
            per_round.push_back(ra[i].gbps / rb[i].gbps);
        }
        return median(per_round);
    }
    /// netkit's `s` over the better of its copy-then-send and gather, within each round.
    [[nodiscard]] double ratio_to_best(strategy s) const {
        std::vector<double> per_round;
        const auto& ours = rounds.at({s, implementation::netkit});
        const auto& copied = rounds.at({strategy::copy, implementation::netkit});
        const auto& gathered = rounds.at({strategy::gather, implementation::netkit});
        for (std::size_t i = 0; i < ours.size(); ++i) {
            per_round.push_back(ours[i].gbps / std::max(copied[i].gbps, gathered[i].gbps));
        }
        return median(per_round);
    }
    [[nodiscard]] bool has(strategy s) const {
        return rounds.contains({s, implementation::netkit});
    }
};

struct options {
    bool full = false;
    bool smoke = false;
    int rounds = 5;
    enum class pinning {
        when_possible,
        required,
        off
    } pin = pinning::when_possible;
    std::string json_path = "send_vs_sendmsg.json";
    // Single-variant mode, for strace and callgrind.
    std::optional<transport> only_transport;
    std::optional<strategy> only_strategy;
    std::optional<implementation> only_impl;
    std::size_t size = 64;
    std::size_t fragments = 16;
    std::size_t messages = 0;
    // Bulk mode: 64 KiB writes on one TCP connection, for comparison with iperf3.
    double bulk_seconds = 0;
};

template <class E, std::size_t N>
E parse_name(std::string_view text, const std::array<E, N>& all) {
    for (E e : all) {
        if (name(e) == text) {
            return e;
        }
    }
    die(fmt::format("unknown name '{}'", text));
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto next = [&]() -> std::string_view {
            if (i + 1 >= argc) {
                die(fmt::format("{} needs a value", arg));
            }
            return argv[++i];
        };
        if (arg == "--full") {
            o.full = true;
        } else if (arg == "--quick") {
            o.full = false;
        } else if (arg == "--smoke") {
            o.smoke = true;
        } else if (arg == "--pin") {
            o.pin = options::pinning::required;
        } else if (arg == "--no-pin") {
            o.pin = options::pinning::off;
        } else if (arg == "--rounds") {
            o.rounds = std::stoi(std::string(next()));
        } else if (arg == "--json") {
            o.json_path = next();
        } else if (arg == "--transport") {
            o.only_transport = parse_name(next(), all_transports);
        } else if (arg == "--variant") {
            o.only_strategy = parse_name(next(), all_strategies);
        } else if (arg == "--impl") {
            o.only_impl = parse_name(next(), std::array{implementation::netkit, implementation::raw,
                                                        implementation::asio});
        } else if (arg == "--size") {
            o.size = std::stoul(std::string(next()));
        } else if (arg == "--fragments") {
            o.fragments = std::stoul(std::string(next()));
        } else if (arg == "--messages") {
            o.messages = std::stoul(std::string(next()));
        } else if (arg == "--bulk") {
            o.bulk_seconds = std::stod(std::string(next()));
        } else {
            fmt::print(
                "usage: send_vs_sendmsg [--quick|--full|--smoke] [--rounds N] [--pin|--no-pin]\n"
                "                       [--json FILE]\n"
                "       send_vs_sendmsg --transport tcp|unix|udp --variant "
                "send-per-fragment|copy-then-send|sendmsg-gather|adaptive|sendmsg-zerocopy\n"
                "                       --impl netkit|raw-c|asio --size S --fragments K --messages "
                "N\n"
                "       send_vs_sendmsg --bulk SECONDS\n");
            std::exit(arg == "--help" ? 0 : 1);
        }
    }
    return o;
}

/// Messages per run of one strategy in one cell: as many as take about `run_seconds` (found by
/// growing a trial run with the C baseline), so that a fast strategy is not timed over a few
/// milliseconds while a slow one takes half a second. A fixed count cannot do that: in one cell
/// the strategies differ by up to 60x.
std::size_t messages_for(const options& o, transport t, strategy s, message_source& m) {
    if (o.smoke) {
        return 2;
    }
    const double run_seconds = o.full ? 0.1 : 0.025;
    constexpr std::size_t most = std::size_t{1} << 24;
    std::size_t n = 16;
    for (;;) {
        const auto impl = netkit_only(s) ? implementation::netkit : implementation::raw;
        const double seconds = run_once(t, s, impl, m, n).seconds;
        if (seconds >= run_seconds / 4 || n >= most) {
            const double scaled = static_cast<double>(n) * run_seconds / std::max(seconds, 1e-6);
            return std::clamp<std::size_t>(static_cast<std::size_t>(scaled), 16, most);
        }
        n *= 8;
    }
}

std::string machine_description() {
    utsname u{};
    ::uname(&u);
    const std::string cpu = netkit_bench::cpu_model();
    return fmt::format("{}, {} cores, Linux {}", cpu, std::thread::hardware_concurrency(),
                       u.release);
}

std::string thread_placement() {
    return pinned_cpus.sender < 0 ? std::string("not pinned")
                                  : fmt::format("sender on CPU {}, receiver on CPU {}",
                                                pinned_cpus.sender, pinned_cpus.receiver);
}

std::string_view mode_name(const options& o) {
    return o.full ? "full" : o.smoke ? "smoke" : "quick";
}

void write_json(const options& o, int rounds, const std::vector<cell>& cells) {
    std::ofstream out(o.json_path);
    utsname u{};
    ::uname(&u);
    fmt::print(out,
               "{{\n  \"machine\": \"{}\",\n  \"kernel\": \"{} {}\",\n  \"compiler\": \"{}\",\n"
               "  \"flags\": \"{}\",\n  \"mode\": \"{}\",\n  \"rounds\": {},\n"
               "  \"threads\": \"{}\",\n  \"cells\": [\n",
               machine_description(), u.sysname, u.release, NETKIT_BENCH_COMPILER,
               NETKIT_BENCH_FLAGS, mode_name(o), rounds, thread_placement());
    for (std::size_t c = 0; c < cells.size(); ++c) {
        const cell& x = cells[c];
        fmt::print(
            out, "    {{\"transport\": \"{}\", \"size\": {}, \"fragments\": {}, \"variants\": [\n",
            name(x.t), x.size, x.fragments);
        std::size_t v = 0;
        for (const auto& [key, runs] : x.rounds) {
            fmt::print(out,
                       "      {{\"strategy\": \"{}\", \"impl\": \"{}\", \"messages\": {}, "
                       "\"rounds\": [",
                       name(key.first), name(key.second), x.messages.at(key.first));
            for (std::size_t r = 0; r < runs.size(); ++r) {
                fmt::print(out,
                           "{}{{\"seconds\": {:.6f}, \"gbps\": {:.6g}, \"messages_per_second\": "
                           "{:.0f}, \"loss\": {:.6f}",
                           r ? ", " : "", runs[r].seconds, runs[r].gbps,
                           runs[r].messages_per_second, runs[r].loss);
                if (key.first == strategy::zerocopy) {
                    const auto& z = runs[r].zerocopy;
                    fmt::print(out,
                               ", \"zerocopy_sends\": {}, \"completions\": {}, \"copied\": {}, "
                               "\"fallbacks\": {}",
                               z.sends, z.completed, z.copied, z.fallbacks);
                }
                fmt::print(out, "}}");
            }
            fmt::print(out, "]}}{}\n", ++v < x.rounds.size() ? "," : "");
        }
        fmt::print(out, "    ]}}{}\n", c + 1 < cells.size() ? "," : "");
    }
    fmt::print(out, "  ]\n}}\n");
}

/// netkit's GB/s and thousands of messages per second for `s` in cell `x`, medians of rounds.
std::string show_gbps(const cell& x, strategy s) {
    std::vector<double> mps;
    for (const auto& r : x.rounds.at({s, implementation::netkit})) {
        mps.push_back(r.messages_per_second / 1e3);
    }
    return fmt::format("{:5.2f} {:>3.0f}k/s", median(x.gbps(s, implementation::netkit)),
                       median(mps));
}

void print_table(const std::vector<cell>& cells, bool have_asio) {
    using enum strategy;
    constexpr auto netkit_impl = implementation::netkit;
    constexpr auto raw_impl = implementation::raw;
    constexpr auto asio_impl = implementation::asio;
    fmt::print("\nnetkit throughput, GB/s (median of rounds); ratios are per-round medians\n\n");
    fmt::print("{:<5} {:>6} {:>3} | {:>13} {:>13} {:>13} {:>13} | {:>11} {:>11} {:>8} | {:>8} "
               "{:>8} {:>8} | {:>9} {:>7}\n",
               "", "S", "K", "send/frag", "copy+send", "gather", "adaptive", "gather/frag",
               "gather/copy", "adp/best", "nk/C frg", "nk/C cpy", "nk/C gth", "nk/asio g", "loss");
    fmt::print("{}\n", std::string(167, '-'));
    for (const cell& x : cells) {
        auto show = [&](strategy s) { return show_gbps(x, s); };
        double loss = 0;
        for (const auto& [key, runs] : x.rounds) {
            for (const auto& r : runs) {
                loss = std::max(loss, r.loss);
            }
        }
        fmt::print("{:<5} {:>6} {:>3} | {:>13} {:>13} {:>13} {:>13} | {:>10.2f}x {:>10.2f}x "
                   "{:>8.3f} | {:>8.3f} {:>8.3f} {:>8.3f} | {:>9} {:>6.2f}%\n",
                   name(x.t), x.size, x.fragments, show(per_fragment), show(copy), show(gather),
                   show(adaptive), x.ratio({gather, netkit_impl}, {per_fragment, netkit_impl}),
                   x.ratio({gather, netkit_impl}, {copy, netkit_impl}), x.ratio_to_best(adaptive),
                   x.ratio({per_fragment, netkit_impl}, {per_fragment, raw_impl}),
                   x.ratio({copy, netkit_impl}, {copy, raw_impl}),
                   x.ratio({gather, netkit_impl}, {gather, raw_impl}),
                   have_asio
                       ? fmt::format("{:.3f}", x.ratio({gather, netkit_impl}, {gather, asio_impl}))
                       : std::string("n/a"),
                   loss * 100);
    }
    fmt::print("\nsend/frag, copy+send, gather, adaptive: netkit GB/s and messages/s. adp/best: "
               "adaptive over the better of\ncopy+send and gather. nk/C: netkit over hand-written "
               "C, same strategy. nk/asio g: netkit gather over\nAsio gather. loss: worst UDP byte "
               "loss of any run.\n");
    bool header = false;
    for (const cell& x : cells) {
        if (!x.has(zerocopy)) {
            continue;
        }
        if (!header) {
            fmt::print("\nMSG_ZEROCOPY (netkit), every completion reaped inside the run\n\n"
                       "{:<5} {:>6} {:>3} | {:>13} {:>10} | {:>12} {:>12} {:>8} {:>10}\n",
                       "", "S", "K", "zerocopy", "zc/gather", "sends/run", "completions", "copied",
                       "fallbacks");
            fmt::print("{}\n", std::string(90, '-'));
            header = true;
        }
        const auto& runs = x.rounds.at({zerocopy, netkit_impl});
        const auto& last = runs.back().zerocopy;
        fmt::print("{:<5} {:>6} {:>3} | {:>13} {:>9.3f}x | {:>12} {:>12} {:>7.1f}% {:>10}\n",
                   name(x.t), x.size, x.fragments, show_gbps(x, zerocopy),
                   x.ratio({zerocopy, netkit_impl}, {gather, netkit_impl}), last.sends,
                   last.completed,
                   last.completed ? 100.0 * static_cast<double>(last.copied) /
                                        static_cast<double>(last.completed)
                                  : 0.0,
                   last.fallbacks);
    }
    if (header) {
        fmt::print("\nzc/gather: netkit zero-copy over netkit gather. sends, completions, copied "
                   "(the kernel's\nSO_EE_CODE_ZEROCOPY_COPIED share) and fallbacks of the last "
                   "round.\n");
    }
}

int bulk(double seconds) {
    connection c = connect(transport::tcp);
    std::uint64_t total = 0;
    std::thread receiver([&] {
        pin_this_thread(pinned_cpus.receiver);
        std::vector<std::uint8_t> buffer(std::size_t{64} * 1024);
        for (;;) {
            const ssize_t n = ::recv(c.receiver.get(), buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                break;
            }
            total += static_cast<std::uint64_t>(n);
        }
    });
    nk::tcp::socket sock{std::move(c.sender)};
    std::vector<std::uint8_t> block(std::size_t{64} * 1024, 0x5a);
    const auto start = clock_type::now();
    const auto stop = start + std::chrono::duration<double>(seconds);
    while (clock_type::now() < stop) {
        for (int i = 0; i < 64; ++i) {
            sock.send_all(block).value();
        }
    }
    sock.shutdown(nk::shutdown::write).value();
    receiver.join();
    const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    fmt::print(
        "netkit bulk: {:.3f} Gbit/s ({} bytes in {:.2f} s, 64 KiB send_all, one TCP connection)\n",
        static_cast<double>(total) * 8 / elapsed / 1e9, total, elapsed);
    return 0;
}

} // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    if (o.pin != options::pinning::off) {
        // Both CPUs are tried here, ending on the sender's, so that a sandbox that refuses
        // affinity changes means an unpinned run, not a receiver thread dying mid-benchmark.
        const auto cpus = two_allowed_cpus();
        int refused = 0;
        if (cpus) {
            refused = try_pin_this_thread(cpus->receiver);
            refused = refused != 0 ? refused : try_pin_this_thread(cpus->sender);
        }
        if (cpus && refused == 0) {
            pinned_cpus = *cpus;
        } else if (o.pin == options::pinning::required) {
            die(cpus ? fmt::format("--pin: {}", std::strerror(refused))
                     : std::string("--pin needs two CPUs this process may run on"));
        }
    }
    if (o.bulk_seconds > 0) {
        return bulk(o.bulk_seconds);
    }
    if (o.only_transport || o.only_strategy || o.only_impl) {
        if (!o.only_transport || !o.only_strategy || !o.only_impl) {
            die("single-variant mode needs --transport, --variant and --impl");
        }
        message_source m(o.size, o.fragments);
        const std::size_t messages = o.messages ? o.messages : 10000;
        const auto r = run_once(*o.only_transport, *o.only_strategy, *o.only_impl, m, messages);
        fmt::print(
            "{} {} {} S={} K={}: {} messages, {:.3f} GB/s, {:.0f} messages/s, loss {:.2f}%\n",
            name(*o.only_transport), name(*o.only_strategy), name(*o.only_impl), o.size,
            o.fragments, messages, r.gbps, r.messages_per_second, r.loss * 100);
        return 0;
    }

    const std::vector<std::size_t> sizes =
        o.full || o.smoke ? std::vector<std::size_t>{16, 64, 256, 1024, 4096, 16384, 65536}
                          : std::vector<std::size_t>{64, 1024, 4096, 16384};
    const std::vector<std::size_t> counts = o.full || o.smoke
                                                ? std::vector<std::size_t>{1, 4, 16, 64}
                                                : std::vector<std::size_t>{1, 16};
    const int rounds = o.smoke ? 1 : std::max(o.rounds, 5);
    const auto impls = implementations();
    const bool have_asio = impls.size() == 3;

    fmt::print("send vs sendmsg: {} grid, {} rounds, machine: {}\ncompiler: {} {}\nthreads: {}\n",
               mode_name(o), rounds, machine_description(), NETKIT_BENCH_COMPILER,
               NETKIT_BENCH_FLAGS, thread_placement());
    auto variants_of = [&](transport t, std::size_t size) {
        std::vector<std::pair<strategy, implementation>> variants;
        for (strategy st : all_strategies) {
            if (st == strategy::zerocopy && (t == transport::local || size < zerocopy_from_size)) {
                continue;
            }
            for (implementation impl : impls) {
                if (!netkit_only(st) || impl == implementation::netkit) {
                    variants.emplace_back(st, impl);
                }
            }
        }
        return variants;
    };
    std::vector<cell> cells;
    std::vector<std::string> skipped;
    for (transport t : all_transports) {
        for (std::size_t k : counts) {
            for (std::size_t s : sizes) {
                if (t == transport::udp && s * k > max_udp_payload) {
                    skipped.push_back(fmt::format("udp S={} K={}", s, k));
                    continue;
                }
                cell x{t, s, k, {}, {}};
                message_source m(s, k);
                const auto variants = variants_of(t, s);
                for (const auto& [st, impl] : variants) {
                    if (!x.messages.contains(st)) {
                        x.messages[st] = messages_for(o, t, st, m);
                    }
                }
                for (int r = 0; r < rounds; ++r) {
                    // Each round starts one variant later than the last, so no variant always
                    // runs first or always follows the same neighbour: a run leaves the machine
                    // in a state (socket memory, caches, softirq backlog) that the next one pays.
                    for (std::size_t i = 0; i < variants.size(); ++i) {
                        const auto [st, impl] =
                            variants[(i + static_cast<std::size_t>(r)) % variants.size()];
                        x.rounds[{st, impl}].push_back(run_once(t, st, impl, m, x.messages.at(st)));
                    }
                }
                cells.push_back(std::move(x));
            }
        }
    }
    print_table(cells, have_asio);
    if (!skipped.empty()) {
        fmt::print("skipped (a UDP message holds at most {} bytes): {}\n", max_udp_payload,
                   fmt::join(skipped, ", "));
    }
    write_json(o, rounds, cells);
    fmt::print("every round: {}\n", o.json_path);
    return 0;
} catch (const std::exception& e) {
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
}
