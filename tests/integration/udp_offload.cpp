// UDP segmentation (GSO) and coalescing (GRO): every datagram checked at a peer written with
// the C API, and the fallback driven by a real refusal of the kernel (a socket with UDP
// checksums off cannot segment: the kernel answers EINVAL).
#include <netkit/io/batch.hpp>
#include <netkit/io/udp_offload.hpp>
#include <netkit/msg/segments.hpp>
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"
#include "support/tun.hpp"
#include "support/udp_segment.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <cerrno>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

// A byte that depends on its datagram and its place in it, so that a datagram cut at the wrong
// place, or sent twice, cannot check.
std::byte pattern(std::size_t datagram, std::size_t offset) {
    return static_cast<std::byte>((datagram * 31 + offset * 7) & 0xff);
}

std::vector<std::byte> datagrams(std::size_t count, std::size_t size, std::size_t last_size) {
    std::vector<std::byte> bytes;
    for (std::size_t d = 0; d < count; ++d) {
        const std::size_t n = d + 1 == count ? last_size : size;
        for (std::size_t i = 0; i < n; ++i) {
            bytes.push_back(pattern(d, i));
        }
    }
    return bytes;
}

// The receiving end in plain C: a socket bound to loopback, read with recv(2).
struct c_receiver {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    nk::ip::endpoint where;

    c_receiver() {
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof at;
        const int big = 8 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
        nk::test::bound_blocking_calls(fd);
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0);
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &length) == 0);
        where =
            nk::ip::endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&at), length).value();
    }
    ~c_receiver() { ::close(fd); }
    c_receiver(const c_receiver&) = delete;
    c_receiver& operator=(const c_receiver&) = delete;

    // Reads `count` datagrams and checks each against the pattern; returns how many checked.
    // Run it on its own thread (`expecting`) while the sender sends, so that a small receive
    // buffer (net.core.rmem_max without privilege) cannot drop what the test then misses.
    std::size_t expect(std::size_t count, std::size_t size, std::size_t last_size) const {
        std::vector<std::byte> buf(65536);
        std::size_t good = 0;
        for (std::size_t d = 0; d < count; ++d) {
            const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
            const std::size_t want = d + 1 == count ? last_size : size;
            if (got != static_cast<ssize_t>(want)) {
                return good;
            }
            for (std::size_t i = 0; i < want; ++i) {
                if (buf[i] != pattern(d, i)) {
                    return good;
                }
            }
            ++good;
        }
        return good;
    }
    std::future<std::size_t> expecting(std::size_t count, std::size_t size,
                                       std::size_t last_size) const {
        return std::async(std::launch::async, [=, this] { return expect(count, size, last_size); });
    }
    // Once the sender has returned (loopback delivers within the send): nothing more came, no
    // datagram was sent twice.
    bool nothing_more() const {
        std::array<char, 16> buf{};
        return ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT) < 0;
    }
};

void checksums_off(const nk::udp::socket& sock) {
    const int on = 1;
    REQUIRE(::setsockopt(sock.native_handle(), SOL_SOCKET, SO_NO_CHECK, &on, sizeof on) == 0);
}

nk::udp::socket sender() {
    auto sock = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
    sock.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    return sock;
}

} // namespace

TEST_CASE("offload() is found once and says what a segmenter starts with") {
    const auto& support = nk::udp::offload();
    REQUIRE(&support == &nk::udp::offload());
    if (support.segmentation) {
        REQUIRE((support.max_segments == 64 || support.max_segments == 128));
    } else {
        REQUIRE(support.max_segments == 0);
    }
    const nk::udp::segmenter segmenter;
    REQUIRE(segmenter.offloading() == support.segmentation);
    REQUIRE(segmenter.fallback_sends() == 0);
}

namespace {

// What the kernel does with a segmented send of `segments` one-byte datagrams on loopback, asked
// with the C API alone: 0 when it went, else the errno.
int c_segmented_send(std::size_t segments) {
    const int rx = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int tx = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof where;
    auto* name = reinterpret_cast<sockaddr*>(&where);
    const bool ready = rx >= 0 && tx >= 0 && ::bind(rx, name, length) == 0 &&
                       ::getsockname(rx, name, &length) == 0 && ::connect(tx, name, length) == 0;
    if (!ready) {
        ::close(tx);
        ::close(rx);
    }
    REQUIRE(ready);
    std::array<char, 128> payload{};
    const bool went = nk::test::c_sendmsg_segmented(tx, payload.data(), segments, 1,
                                                    MSG_DONTWAIT) == static_cast<ssize_t>(segments);
    const int failure = went ? 0 : errno;
    ::close(tx);
    ::close(rx);
    return failure;
}

} // namespace

TEST_CASE("offload()'s segment limit is what the kernel takes, asked without netkit") {
    const auto& support = nk::udp::offload();
    if (!support.segmentation) {
        WARN("skipped: this kernel has no UDP_SEGMENT");
        return;
    }
    REQUIRE(c_segmented_send(64) == 0);
    REQUIRE(c_segmented_send(128) == (support.max_segments == 128 ? 0 : EINVAL));
}

TEST_CASE("a segmented send puts every datagram on the wire, cut at the segment size") {
    c_receiver peer;
    auto sock = sender();
    nk::udp::segmenter segmenter;
    // 300 datagrams of 100 bytes and a short last one: more than one send's limit (128 at
    // most), from buffers whose edges fall inside datagrams.
    const auto bytes = datagrams(301, 100, 37);
    const std::span<const std::byte> all(bytes);
    const std::array<nk::const_buffer, 4> pieces{
        nk::buffer(all.first(3)), nk::buffer(all.subspan(3, 250)),
        nk::buffer(all.subspan(253, 20000)), nk::buffer(all.subspan(20253))};
    auto checked = peer.expecting(301, 100, 37);
    REQUIRE(segmenter.send_to(sock, pieces, 100, peer.where).value() == bytes.size());
    REQUIRE(checked.get() == 301);
    REQUIRE(peer.nothing_more());
    REQUIRE(segmenter.offloading() == nk::udp::offload().segmentation);
    REQUIRE(segmenter.fallback_sends() == (nk::udp::offload().segmentation ? 0 : 1));

    // On a connected socket, where the 65,507-byte cap, not the segment limit, cuts the sends
    // (65 datagrams of 1000 bytes each): 200 datagrams take four.
    sock.connect_to(peer.where).value();
    REQUIRE(segmenter.bytes_per_send(1000) == (segmenter.offloading() ? 65000U : 1000U));
    const auto large = datagrams(200, 1000, 1000);
    auto large_checked = peer.expecting(200, 1000, 1000);
    REQUIRE(segmenter.send(sock, large, 1000).value() == large.size());
    REQUIRE(large_checked.get() == 200);
    REQUIRE(peer.nothing_more());
}

TEST_CASE("when the path refuses to segment, the same datagrams go by sendmmsg, from then on") {
    if (!nk::udp::offload().segmentation) {
        WARN("skipped: this kernel has no UDP_SEGMENT");
        return;
    }
    c_receiver peer;
    auto sock = sender();
    checksums_off(sock); // the kernel refuses UDP_SEGMENT on such a socket (EINVAL)
    nk::udp::segmenter segmenter;

    // One datagram never carries UDP_SEGMENT, so the refusal is not met yet.
    const auto one = datagrams(1, 500, 500);
    REQUIRE(segmenter.send_to(sock, one, 1000, peer.where).value() == one.size());
    REQUIRE(peer.expect(1, 500, 500) == 1);
    REQUIRE(peer.nothing_more());
    REQUIRE(segmenter.offloading());
    REQUIRE(segmenter.fallback_sends() == 0);

    const auto bytes = datagrams(200, 1200, 1);
    auto checked = peer.expecting(200, 1200, 1);
    REQUIRE(segmenter.send_to(sock, bytes, 1200, peer.where).value() == bytes.size());
    REQUIRE(checked.get() == 200);
    REQUIRE(peer.nothing_more());
    REQUIRE_FALSE(segmenter.offloading());
    REQUIRE(segmenter.max_segments() == 1);
    REQUIRE(segmenter.fallback_sends() == 1);

    auto again = peer.expecting(200, 1200, 1);
    REQUIRE(segmenter.send_to(sock, bytes, 1200, peer.where).value() == bytes.size());
    REQUIRE(again.get() == 200);
    REQUIRE(peer.nothing_more());
    REQUIRE(segmenter.fallback_sends() == 2);
}

TEST_CASE("a segmenter refuses segment sizes no datagram can have, and sends nothing for none") {
    auto sock = sender();
    nk::udp::segmenter segmenter;
    const auto peer = nk::ip::endpoint(nk::ip::address_v4::loopback(), 9);
    const auto bytes = datagrams(2, 10, 10);
    REQUIRE(segmenter.send_to(sock, bytes, 0, peer).error() == std::errc::invalid_argument);
    REQUIRE(segmenter.send_to(sock, bytes, 65508, peer).error() == std::errc::invalid_argument);
    REQUIRE(segmenter.send_to(sock, std::span<const std::byte>(), 100, peer).value() == 0);
    REQUIRE(segmenter.fallback_sends() == 0);
}

TEST_CASE("bytes_per_send is 0 for the segment sizes a send refuses, never a division by zero") {
    const nk::udp::segmenter segmenter;
    REQUIRE(segmenter.bytes_per_send(0) == 0);
    REQUIRE(segmenter.bytes_per_send(65508) == 0);
    REQUIRE(segmenter.bytes_per_send(65507) == 65507);
    REQUIRE(segmenter.bytes_per_send(1) == segmenter.max_segments());
}

namespace {

// One GSO send from the C API (an independent sender): `count` datagrams of `size` bytes.
void c_send_segmented(int fd, const std::vector<std::byte>& bytes, std::uint16_t size) {
    REQUIRE(nk::test::c_sendmsg_segmented(fd, bytes.data(), bytes.size(), size, 0) ==
            static_cast<ssize_t>(bytes.size()));
}

bool matches(std::span<const std::byte> datagram, std::size_t d) {
    for (std::size_t i = 0; i < datagram.size(); ++i) {
        if (datagram[i] != pattern(d, i)) {
            return false;
        }
    }
    return true;
}

// A sender connected to a receiver that coalesces (UDP_GRO on).
std::pair<nk::udp::socket, nk::udp::socket> gro_pair() {
    auto [tx, rx] = nk::test::udp_sockets();
    rx.set(nk::udp::gro, true).value();
    tx.connect_to(rx.local_endpoint().value()).value();
    return {std::move(tx), std::move(rx)};
}

} // namespace

TEST_CASE("coalesced receives are split into the datagrams that were sent") {
    if (!nk::udp::offload().segmentation || !nk::udp::offload().coalescing) {
        WARN("skipped: this kernel has no UDP_SEGMENT or UDP_GRO");
        return;
    }
    auto [tx, rx] = gro_pair();
    const auto bytes = datagrams(40, 1000, 999);
    c_send_segmented(tx.native_handle(), bytes, 1000);

    std::vector<std::byte> buf(65535);
    nk::control_buffer<nk::control_space<nk::cmsg::udp_gro>> control;
    std::size_t seen = 0;
    std::size_t most_in_one = 0;
    while (seen < 40) {
        const auto got = rx.receive_message(std::span(buf), control).value();
        REQUIRE_FALSE(got.truncated());
        const auto parts =
            nk::udp::datagrams_of(std::span(buf).first(got.size), control.messages(), got.flags)
                .value();
        most_in_one = std::max(most_in_one, parts.size());
        for (const auto datagram : parts) {
            REQUIRE(datagram.size() == (seen == 39 ? 999U : 1000U));
            REQUIRE(matches(datagram, seen));
            ++seen;
        }
    }
    REQUIRE(seen == 40);
    // On loopback a segmented send reaches a coalescing socket whole.
    REQUIRE(most_in_one > 1);
}

TEST_CASE("coalesced receives inside a recvmmsg batch") {
    if (!nk::udp::offload().segmentation || !nk::udp::offload().coalescing) {
        WARN("skipped: this kernel has no UDP_SEGMENT or UDP_GRO");
        return;
    }
    auto [tx, rx] = nk::test::udp_sockets();
    rx.set(nk::udp::gro, true).value();
    const auto tx_at = tx.local_endpoint().value();
    tx.connect_to(rx.local_endpoint().value()).value();
    const auto first = datagrams(10, 700, 700);
    c_send_segmented(tx.native_handle(), first, 700);
    c_send_segmented(tx.native_handle(), first, 700);

    std::vector<std::byte> area(4 * 65535);
    nk::udp::batch<4, 1, nk::control_space<nk::cmsg::udp_gro>> batch;
    REQUIRE(batch.add_receive_slots(area, 65535).value() == 4);
    std::size_t seen = 0;
    while (seen < 20) {
        const std::size_t n = nk::receive_batch(rx, batch, {}, 10s).value();
        for (std::size_t i = 0; i < n; ++i) {
            REQUIRE(batch.info(i).sender == tx_at);
            for (const auto datagram : nk::udp::datagrams_of(batch, i).value()) {
                REQUIRE(datagram.size() == 700);
                REQUIRE(matches(datagram, seen % 10));
                ++seen;
            }
        }
    }
    REQUIRE(seen == 20);
}

namespace {

constexpr std::size_t gro_space = nk::control_space<nk::cmsg::udp_gro>;

template <class Batch>
constexpr bool can_split = requires(const Batch& batch) {
    nk::udp::datagrams_of(batch, 0);
};

} // namespace

TEST_CASE("a batch splits coalesced receives of one buffer per message, and refuses more") {
    // A datagram of a coalesced receive may straddle two buffers of a message, which one span
    // cannot show: 3 x 1,000 bytes received into two buffers of 1,500 came out as 1,000 and
    // 500, with no error. Such a batch cannot be split: the call does not compile.
    STATIC_REQUIRE_FALSE(can_split<nk::udp::batch<1, 2, gro_space>>);
    STATIC_REQUIRE(can_split<nk::udp::batch<1, 1, gro_space>>);
    if (!nk::udp::offload().segmentation || !nk::udp::offload().coalescing) {
        WARN("skipped: this kernel has no UDP_SEGMENT or UDP_GRO");
        return;
    }
    auto [tx, rx] = gro_pair();
    const auto bytes = datagrams(3, 1000, 1000);
    c_send_segmented(tx.native_handle(), bytes, 1000);

    // The same 3,000 bytes into one buffer of exactly that size: three whole datagrams.
    std::vector<std::byte> area(3000);
    nk::udp::batch<1, 1, gro_space> batch;
    REQUIRE(batch.add_receive_slots(area, area.size()).value() == 1);
    std::size_t seen = 0;
    std::size_t received = 0;
    while (seen < 3) {
        REQUIRE(nk::receive_batch(rx, batch, {}, 10s).value() == 1);
        REQUIRE_FALSE(batch.truncated(0));
        received += batch.bytes(0).size();
        for (const auto datagram : nk::udp::datagrams_of(batch, 0).value()) {
            REQUIRE(datagram.size() == 1000);
            REQUIRE(matches(datagram, seen));
            ++seen;
        }
    }
    REQUIRE(seen == 3);
    REQUIRE(received == bytes.size());
}

TEST_CASE("a coalesced receive whose control data was cut short is an error, not one datagram") {
    if (!nk::udp::offload().segmentation || !nk::udp::offload().coalescing) {
        WARN("skipped: this kernel has no UDP_SEGMENT or UDP_GRO");
        return;
    }
    auto [tx, rx] = nk::test::udp_sockets();
    rx.set(nk::udp::gro, true).value();
    rx.set(nk::so::timestamp_ns, true).value(); // a timestamp comes first, and fills the room
    tx.connect_to(rx.local_endpoint().value()).value();
    const auto bytes = datagrams(10, 700, 700);
    c_send_segmented(tx.native_handle(), bytes, 700);

    std::vector<std::byte> buf(65535);
    nk::control_buffer<nk::control_space<nk::cmsg::udp_gro>> control; // room for UDP_GRO only
    const auto got = rx.receive_message(std::span(buf), control).value();
    const auto parts =
        nk::udp::datagrams_of(std::span(buf).first(got.size), control.messages(), got.flags);
    if (parts) {
        REQUIRE(parts->size() == 10); // the segment size made it: the split is right
    } else {
        REQUIRE(got.control_truncated());
        REQUIRE(parts.error() == std::errc::no_buffer_space);
    }
}

TEST_CASE("segments cuts a buffer at the segment size, the last one short") {
    std::array<std::byte, 10> bytes{};
    const nk::udp::segments three(bytes, 4);
    REQUIRE(three.size() == 3);
    std::vector<std::size_t> sizes;
    for (const auto part : three) {
        sizes.push_back(part.size());
    }
    REQUIRE(sizes == std::vector<std::size_t>{4, 4, 2});
    REQUIRE(nk::udp::segments(bytes, 0).size() == 1);
    REQUIRE(nk::udp::segments(bytes, 100).size() == 1);
    REQUIRE(nk::udp::segments(std::span<const std::byte>(), 4).size() == 0);
    REQUIRE(nk::udp::segments(std::span<const std::byte>(), 4).begin() ==
            nk::udp::segments(std::span<const std::byte>(), 4).end());
    // An iterator built by hand with a segment size of 0 walks one datagram too, and ends.
    nk::udp::segments::iterator whole(bytes, 0);
    REQUIRE((*whole).size() == bytes.size());
    REQUIRE(++whole == nk::udp::segments::iterator());
}

namespace {

// The UDP payload of the next IPv4 packet the stack sent out of `tun`, or nothing after 10 s.
// The UDP payload of the next IPv4 UDP packet the device carries within `wait_ms`, or nothing.
// Whatever else a freshly raised device sends (IPv6 router solicitations and multicast
// listener reports, at moments of the kernel's choosing) is not ours and is skipped.
std::optional<std::vector<std::byte>> next_udp_payload(int tun, int wait_ms = 10'000) {
    pollfd ready{tun, POLLIN, 0};
    std::vector<std::byte> packet(65536);
    while (::poll(&ready, 1, wait_ms) == 1) {
        const ssize_t got = ::read(tun, packet.data(), packet.size());
        if (got < 28 || std::to_integer<int>(packet[0]) >> 4 != 4 ||
            std::to_integer<int>(packet[9]) != IPPROTO_UDP) {
            continue;
        }
        const std::size_t header = (std::to_integer<std::size_t>(packet[0]) & 0x0f) * 4;
        const auto first = packet.begin() + static_cast<std::ptrdiff_t>(header + 8);
        return std::vector<std::byte>(first, packet.begin() + got);
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("through a device without checksum offload every datagram leaves once") {
    if (!nk::udp::offload().segmentation) {
        WARN("skipped: this kernel has no UDP_SEGMENT");
        return;
    }
    enum step : int {
        ok = 0,
        setup = 10,
        unexpected_error,
        send_failed,
        delivery,
        not_counted
    };
    const auto child = nk::test::run_in_own_network([&](int tun) -> int {
        auto sock = nk::udp::socket::connect(nk::ip::endpoint::parse("10.9.9.2:9").value());
        if (!sock) {
            return setup;
        }
        // Older kernels refuse a segmented send on such a device with EIO before anything is
        // queued; newer ones checksum the segments in software. Either way every datagram must
        // leave the device once: first a plain segmented send, to learn which kernel this is.
        const auto bytes = datagrams(60, 1000, 10); // one send: under 64 segments and 65,507 bytes
        iovec all{const_cast<std::byte*>(bytes.data()), bytes.size()};
        const nk::detail::send_target to{sock->native_handle(), nullptr, 0, 0};
        auto plain = nk::detail::send_offloaded(to, {&all, 1}, 1000);
        const bool refused = !plain;
        if (refused && plain.error() != std::errc::io_error) {
            std::fprintf(stderr, "%s\n", plain.error().message().c_str());
            return unexpected_error;
        }
        auto left_once = [&] {
            for (std::size_t d = 0; d < 60; ++d) {
                const auto payload = next_udp_payload(tun);
                if (!payload || payload->size() != (d == 59 ? 10U : 1000U) ||
                    !matches(*payload, d)) {
                    return false;
                }
            }
            return !next_udp_payload(tun, 0); // nothing more: no datagram sent twice
        };
        if (!refused && !left_once()) {
            return delivery;
        }
        nk::udp::segmenter segmenter;
        auto sent = segmenter.send(*sock, bytes, 1000);
        if (!sent || *sent != bytes.size()) {
            return send_failed;
        }
        if (!left_once()) {
            return delivery;
        }
        const bool counted =
            segmenter.offloading() == !refused && segmenter.fallback_sends() == (refused ? 1U : 0U);
        return counted ? ok : not_counted;
    });
    if (!child.skipped.empty()) {
        WARN("skipped: no network namespace with a TUN device here (" << child.skipped << ")");
        return;
    }
    const int result = child.status;
    INFO("child failed at step " << result
                                 << " (10 setup, 11 an error other than EIO, 12 send failed, "
                                    "13 delivery, 14 fallback not counted)");
    REQUIRE(result == ok);
}

TEST_CASE("over IPv6: segmented sends, and a recvmmsg batch that names each sender") {
    auto rx = nk::udp::socket::open(nk::ip::v6);
    auto tx = nk::udp::socket::open(nk::ip::v6);
    const auto loopback = nk::ip::endpoint::parse("[::1]:0").value();
    if (!rx || !tx || !rx->bind(loopback) || !tx->bind(loopback)) {
        WARN("skipped: no IPv6 loopback here");
        return;
    }
    nk::test::bound_blocking_calls(rx->native_handle());
    // Room for one whole segmented send (128 datagrams arrive at once) whatever the receiving
    // thread is doing: the kernel caps this at net.core.rmem_max, doubled, which holds them.
    rx->set(nk::so::receive_buffer_size, 1 << 20).value();
    const auto rx_at = rx->local_endpoint().value();
    const auto tx_at = tx->local_endpoint().value();

    // 130 datagrams of 500 bytes: more than one send's limit, the last one short.
    const auto bytes = datagrams(130, 500, 7);
    nk::udp::segmenter segmenter;
    std::vector<std::byte> area(64 * 512);
    nk::udp::batch<64> batch;
    REQUIRE(batch.add_receive_slots(area, 512).value() == 64);
    std::size_t seen = 0;
    auto receiving = std::async(std::launch::async, [&] {
        while (seen < 130) {
            auto got = nk::receive_batch(*rx, batch, {}, 10s);
            if (!got) {
                return false;
            }
            for (std::size_t i = 0; i < *got; ++i) {
                const auto info = batch.info(i);
                if (info.sender != tx_at || info.truncated() ||
                    info.size != (seen == 129 ? 7U : 500U) || !matches(batch.bytes(i), seen)) {
                    return false;
                }
                ++seen;
            }
        }
        return true;
    });
    REQUIRE(segmenter.send_to(*tx, bytes, 500, rx_at).value() == bytes.size());
    REQUIRE(receiving.get());
    REQUIRE(seen == 130);
    REQUIRE(segmenter.fallback_sends() == (nk::udp::offload().segmentation ? 0U : 1U));
}
