// Blocking calls with a deadline: each ends by its deadline with timed_out and an honest count,
// loses nothing, and completes at once when it can. The deadlines here are bounds, never
// measurements: no test asserts how long anything took.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"
#include "support/tun.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

TEST_CASE("deadline: never, a time point, a timeout, and a timeout too long for the clock") {
    REQUIRE(nk::deadline().is_never());
    REQUIRE(nk::deadline::never().is_never());
    REQUIRE_FALSE(nk::deadline::never().expired());
    const auto soon = nk::deadline::clock::now() + 1h;
    REQUIRE(nk::deadline(soon).at() == soon);
    REQUIRE_FALSE(nk::deadline(1h).is_never());
    REQUIRE(nk::deadline(0s).expired());
    REQUIRE(nk::deadline(-5s).expired());
    // Saturates to "never" rather than overflowing into the past.
    REQUIRE(nk::deadline(std::chrono::hours::max()).is_never());
    REQUIRE(nk::deadline::after(std::chrono::seconds::max()).is_never());
    // A 32-bit count: the clock's room, in its units, does not fit one (it did wrap once the
    // steady clock passed 24.8 days, and a second became "never").
    const std::chrono::duration<int, std::milli> short_count(1000);
    REQUIRE_FALSE(nk::deadline(short_count).is_never());
    REQUIRE(nk::deadline(short_count).at() > nk::deadline::clock::now());
    REQUIRE(nk::deadline(std::chrono::duration<int, std::milli>::max()).at() <
            nk::deadline::clock::now() + std::chrono::hours(24 * 25));
}

TEST_CASE("receive with a timeout: timed_out when nothing comes, the data when it does") {
    auto [client, server] = nk::test::tcp_pair();
    std::array<char, 8> buffer{};
    auto nothing = server.receive(buffer, 50ms);
    REQUIRE_FALSE(nothing);
    REQUIRE(nothing.error() == std::errc::timed_out);
    REQUIRE(nothing.error().message() == "receive: deadline passed");

    REQUIRE(client.send_all("ping"sv).value() == 4);
    REQUIRE(server.receive(buffer, 10s).value() == 4);
    REQUIRE(std::string_view(buffer.data(), 4) == "ping");
}

TEST_CASE("a deadline that has passed still takes what is already there") {
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(client.send_all("ready"sv).value() == 5);
    std::array<char, 5> buffer{};
    // Wait for the bytes without netkit, so that the expired deadline is the only variable.
    REQUIRE(nk::detail::poll_one(server.native_handle(), POLLIN, 10s).value() != 0);
    REQUIRE(server.receive_exact(buffer, {}, nk::deadline(0s)).value() == 5);
    REQUIRE(std::string_view(buffer.data(), 5) == "ready");
}

TEST_CASE("receive_exact with a timeout reports what arrived, and the rest is not lost") {
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(client.send_all("abc"sv).value() == 3);
    std::array<char, 8> buffer{};
    auto partial = server.receive_exact(buffer, 100ms);
    REQUIRE_FALSE(partial);
    REQUIRE(partial.error() == std::errc::timed_out);
    REQUIRE(partial.error().bytes_transferred() == 3);
    REQUIRE(std::string(partial.error().operation()) == "receive_exact");
    REQUIRE(partial.error().message() == "receive_exact: deadline passed");

    REQUIRE(client.send_all("defgh"sv).value() == 5);
    std::array<char, 5> rest{};
    REQUIRE(server.receive_exact(rest, 10s).value() == 5);
    REQUIRE(std::string(buffer.data(), 3) + std::string(rest.data(), 5) == "abcdefgh");
}

TEST_CASE("send_all with a timeout to a peer that does not read: timed_out with the exact count "
          "the peer then receives") {
    auto [client, server] = nk::test::tcp_pair();
    // Far more than loopback buffers hold, so the send must stall.
    std::vector<std::byte> payload(64U << 20U);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::byte>(i * 7U);
    }
    auto stalled = client.send_all(payload, 200ms);
    REQUIRE_FALSE(stalled);
    REQUIRE(stalled.error() == std::errc::timed_out);
    const std::size_t sent = stalled.error().bytes_transferred();
    REQUIRE(sent > 0);
    REQUIRE(sent < payload.size());
    REQUIRE(client.shutdown(nk::shutdown::write).has_value());

    // The peer is plain recv(2): everything counted as sent arrives, in order, and no more.
    std::vector<std::byte> received(payload.size());
    std::size_t total = 0;
    for (;;) {
        const ssize_t got =
            ::recv(server.native_handle(), received.data() + total, received.size() - total, 0);
        REQUIRE(got >= 0);
        if (got == 0) {
            break;
        }
        total += static_cast<std::size_t>(got);
    }
    REQUIRE(total == sent);
    REQUIRE(std::equal(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(total),
                       payload.begin()));
}

TEST_CASE("receive_from with a timeout, then a datagram from a plain C sender") {
    auto receiver = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
    REQUIRE(receiver.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).has_value());
    std::array<char, 16> buffer{};
    auto nothing = receiver.receive_from(buffer, 50ms);
    REQUIRE_FALSE(nothing);
    REQUIRE(nothing.error() == std::errc::timed_out);

    const auto where = receiver.local_endpoint().value().to_sockaddr_storage();
    const int raw = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(raw >= 0);
    const ssize_t sent = ::sendto(raw, "dgram", 5, 0, reinterpret_cast<const sockaddr*>(&where),
                                  sizeof(sockaddr_in));
    ::close(raw);
    REQUIRE(sent == 5);
    auto got = receiver.receive_from(buffer, 10s).value();
    REQUIRE(std::string_view(buffer.data(), got.size) == "dgram");
}

TEST_CASE("accept with a timeout: timed_out with nobody connecting, the connection when one does") {
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    auto nobody = acceptor.accept(50ms);
    REQUIRE_FALSE(nobody);
    REQUIRE(nobody.error() == std::errc::timed_out);
    REQUIRE(nobody.error().message() == "accept: deadline passed");

    auto client = nk::tcp::socket::connect(acceptor.local_endpoint().value(), 10s).value();
    auto [server, peer] = acceptor.accept(10s).value();
    REQUIRE(peer == client.local_endpoint().value());
    REQUIRE(client.send_all("hi"sv).value() == 2);
    std::array<char, 2> buffer{};
    REQUIRE(server.receive_exact(buffer, 10s).value() == 2);
}

TEST_CASE("connect with a timeout to a listener whose queue is full: timed_out naming the "
          "endpoint, and the attempt's descriptor closed") {
    // A listener that never accepts and has a backlog of 0: once its queue is full the kernel
    // drops further SYNs, so a connect can only wait. (The test runner fails the case if any
    // descriptor is left open.)
    auto acceptor = nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0),
                                              {.backlog = 0})
                        .value();
    const auto where = acceptor.local_endpoint().value();
    std::vector<nk::tcp::socket> queued;
    bool timed_out = false;
    for (int attempt = 0; attempt < 16 && !timed_out; ++attempt) {
        auto sock = nk::tcp::socket::connect(where, 100ms);
        if (sock) {
            queued.push_back(std::move(*sock));
            continue;
        }
        REQUIRE(sock.error() == std::errc::timed_out);
        REQUIRE(sock.error().message() == "connect " + where.to_string() + ": deadline passed");
        timed_out = true;
    }
    REQUIRE(timed_out);
    // A connect that succeeds within its timeout returns a blocking socket, as plain connect does.
    for (auto& sock : queued) {
        REQUIRE_FALSE(sock.non_blocking().value());
    }
}

TEST_CASE("connect with a timeout to a peer that never answers: timed_out, the SYN seen leaving, "
          "nothing left open") {
    // In a forked child with a network of its own: 10.9.9.2 lies behind a TUN device that nobody
    // answers from, so a SYN goes out and nothing ever comes back, as with a host that drops it.
    enum step : int {
        ok = 0,
        not_timed_out = 10,
        no_syn,
        descriptor_left
    };
    const auto child = nk::test::run_in_own_network([](int tun) -> int {
        // The next descriptor number: if the attempt's socket were left open, it would hold it.
        const int probe = ::dup(tun);
        ::close(probe);
        auto sock = nk::tcp::socket::connect(nk::ip::endpoint::parse("10.9.9.2:80").value(), 200ms);
        if (sock || sock.error() != std::errc::timed_out) {
            return not_timed_out;
        }
        // The SYN really left: a TCP segment to 10.9.9.2:80 with SYN set and ACK clear.
        std::array<unsigned char, 1500> packet{};
        pollfd ready{tun, POLLIN, 0};
        bool syn = false;
        while (!syn && ::poll(&ready, 1, 0) == 1) {
            const ssize_t got = ::read(tun, packet.data(), packet.size());
            const std::size_t header = (packet[0] & 0x0fU) * 4U;
            syn = got >= static_cast<ssize_t>(header + 20) && packet[9] == IPPROTO_TCP &&
                  packet[19] == 2 && packet[header + 2] == 0 && packet[header + 3] == 80 &&
                  (packet[header + 13] & 0x12U) == 0x02U;
        }
        if (!syn) {
            return no_syn;
        }
        const int next = ::dup(tun);
        return next == probe ? ok : descriptor_left;
    });
    if (!child.skipped.empty()) {
        WARN("skipped: no network namespace with a TUN device here (" << child.skipped << ")");
        return;
    }
    const int result = child.status;
    INFO("child failed at step " << result
                                 << " (10 not timed_out, 11 no SYN left, 12 descriptor left open)");
    REQUIRE(result == ok);
}
