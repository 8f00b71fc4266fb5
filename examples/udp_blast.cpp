// Moving many UDP datagrams with as few system calls as the kernel allows. The sender hands
// netkit one buffer of many datagrams: with UDP segmentation offload (GSO) one sendmsg carries up
// to 128 of them, and where the path cannot segment netkit sends the same datagrams by sendmmsg.
// The receiver takes a batch of receives per recvmmsg, each of which may hold many datagrams
// coalesced by UDP GRO, and splits them without copying.
//
// Usage:
//   example_udp_blast receive ENDPOINT [COUNT]       prints its bound endpoint first (port 0
//                                                    allowed); stops after COUNT datagrams or
//                                                    two seconds without one
//   example_udp_blast send ENDPOINT [COUNT [SIZE]]   COUNT datagrams of SIZE bytes (8 to 65507)
// With no arguments both ends run here, on loopback. Every datagram carries its sequence number
// and a pattern the receiver checks. Both print what they moved and which path they used.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t sequence_bytes = sizeof(std::uint64_t);

std::byte pattern(std::uint64_t sequence, std::size_t offset) {
    return static_cast<std::byte>((sequence + offset) & 0xff);
}

void write_datagram(std::span<std::byte> datagram, std::uint64_t sequence) {
    std::memcpy(datagram.data(), &sequence, sequence_bytes);
    for (std::size_t i = sequence_bytes; i < datagram.size(); ++i) {
        datagram[i] = pattern(sequence, i);
    }
}

bool well_formed(std::span<const std::byte> datagram) {
    if (datagram.size() < sequence_bytes) {
        return false;
    }
    std::uint64_t sequence = 0;
    std::memcpy(&sequence, datagram.data(), sequence_bytes);
    for (std::size_t i = sequence_bytes; i < datagram.size(); ++i) {
        if (datagram[i] != pattern(sequence, i)) {
            return false;
        }
    }
    return true;
}

struct tally {
    std::uint64_t datagrams = 0;
    std::uint64_t bytes = 0;
    std::uint64_t malformed = 0;
};

// ---- receiving: recvmmsg batches, each receive possibly many datagrams coalesced by GRO ------

constexpr std::size_t receives_per_call = 16;
constexpr std::size_t largest_receive = 65535; // one coalesced receive holds up to 64 KiB
using receive_batch_type =
    nk::udp::batch<receives_per_call, 1, nk::control_space<nk::cmsg::udp_gro>>;

// The receiving socket, set up before it is bound: datagrams may arrive from the moment it is.
nk::result<nk::udp::socket> open_receiver(const nk::ip::endpoint& where) {
    auto sock = nk::udp::socket::open(where.family());
    if (!sock) {
        return sock;
    }
    if (nk::udp::offload().coalescing) {
        (void)sock->set(nk::udp::gro, true); // where it is refused, datagrams come one by one
    }
    // A deep queue rides out the moments the receiver is not receiving; the kernel caps it at
    // net.core.rmem_max, which is why the result is not checked.
    (void)sock->set(nk::so::receive_buffer_size, 4 << 20);
    if (auto bound = sock->bind(where); !bound) {
        return nk::failure{bound.error()};
    }
    return sock;
}

nk::result<tally> receive_datagrams(nk::udp::socket& sock, std::uint64_t count) {
    const bool coalescing = sock.get(nk::udp::gro).value_or(false);
    std::vector<std::byte> area(receives_per_call * largest_receive);
    auto batch = std::make_unique<receive_batch_type>(); // 16 headers and control areas: reused
    batch->add_receive_slots(area, largest_receive).value();
    batch->receive_senders(false); // it counts, it answers no one: no sender's name per datagram

    tally got;
    while (got.datagrams < count) {
        auto received = nk::receive_batch(sock, *batch, {}, 2s);
        if (!received) {
            if (received.error() == std::errc::timed_out) {
                break; // two seconds of silence: the sender is done, or gave up
            }
            return nk::failure{received.error()};
        }
        for (std::size_t i = 0; i < *received; ++i) {
            // A receive cut short (cannot happen with 64 KiB receives and room for UDP_GRO) is
            // counted, never hidden.
            auto datagrams = nk::udp::datagrams_of(*batch, i);
            if (!datagrams || batch->info(i).truncated()) {
                ++got.malformed;
                continue;
            }
            for (const auto datagram : *datagrams) {
                ++got.datagrams;
                got.bytes += datagram.size();
                got.malformed += well_formed(datagram) ? 0U : 1U;
            }
        }
    }
    fmt::print("received {} datagrams, {} bytes, {} malformed (recvmmsg of {}{})\n", got.datagrams,
               got.bytes, got.malformed, receives_per_call, coalescing ? ", with GRO" : "");
    return got;
}

// ---- sending: one buffer of many datagrams per call ---------------------------------------

nk::result<tally> send_datagrams(nk::udp::socket& sock, std::uint64_t count, std::size_t size) {
    nk::udp::segmenter segmenter; // remembers whether this socket's path can segment
    std::vector<std::byte> frames(segmenter.bytes_per_send(size));
    const std::uint64_t per_send = frames.size() / size;

    tally sent;
    for (std::uint64_t next = 0; next < count;) {
        const std::uint64_t now = std::min(per_send, count - next);
        for (std::uint64_t d = 0; d < now; ++d) {
            write_datagram(std::span(frames).subspan(d * size, size), next + d);
        }
        auto went = segmenter.send(sock, std::span(frames).first(now * size), size);
        if (!went) {
            return nk::failure{went.error()};
        }
        next += now;
        sent.datagrams += now;
        sent.bytes += *went;
    }
    if (segmenter.offloading()) {
        fmt::print("sent {} datagrams, {} bytes (GSO, up to {} per sendmsg)\n", sent.datagrams,
                   sent.bytes, per_send);
    } else {
        fmt::print("sent {} datagrams, {} bytes (sendmmsg: this path cannot segment)\n",
                   sent.datagrams, sent.bytes);
    }
    return sent;
}

// ---- the command line -----------------------------------------------------------------------

int receive_on(const nk::ip::endpoint& where, std::uint64_t count) {
    auto sock = open_receiver(where);
    if (!sock) {
        fmt::print(stderr, "{}\n", sock.error().message());
        return 1;
    }
    fmt::print("{}\n", sock->local_endpoint().value().to_string());
    std::fflush(stdout); // the first line is how a caller learns the port
    auto got = receive_datagrams(*sock, count);
    if (!got) {
        fmt::print(stderr, "{}\n", got.error().message());
        return 1;
    }
    return got->malformed == 0 ? 0 : 1;
}

int send_to(const nk::ip::endpoint& peer, std::uint64_t count, std::size_t size) {
    auto sock = nk::udp::socket::connect(peer);
    if (!sock) {
        fmt::print(stderr, "{}\n", sock.error().message());
        return 1;
    }
    auto sent = send_datagrams(*sock, count, size);
    if (!sent) {
        fmt::print(stderr, "{}\n", sent.error().message());
        return 1;
    }
    return 0;
}

int both_ends() {
    auto receiver = open_receiver(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    const auto where = receiver.local_endpoint().value();
    constexpr std::uint64_t count = 100'000;
    nk::result<tally> received = tally{};
    std::thread receiving([&] { received = receive_datagrams(receiver, count); });
    const int sent = send_to(where, count, 1200);
    receiving.join();
    if (!received) {
        fmt::print(stderr, "{}\n", received.error().message());
        return 1;
    }
    // Loopback may drop when the receiver falls behind; it reports what arrived, all checked.
    return sent == 0 && received->malformed == 0 && received->datagrams > 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        return both_ends();
    }
    const std::string_view role = argv[1];
    if (argc < 3 || (role != "receive" && role != "send")) {
        fmt::print(stderr, "usage: {} receive ENDPOINT [COUNT] | send ENDPOINT [COUNT [SIZE]]\n",
                   argv[0]);
        return 2;
    }
    auto endpoint = nk::ip::endpoint::parse(argv[2]);
    if (!endpoint) {
        fmt::print(stderr, "{}\n", endpoint.error().message());
        return 2;
    }
    const std::uint64_t count = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
    const std::size_t size = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1200;
    if (size < sequence_bytes || size > 65507) {
        fmt::print(stderr, "SIZE must be 8 to 65507 bytes\n");
        return 2;
    }
    return role == "receive" ? receive_on(*endpoint, count) : send_to(*endpoint, count, size);
}
