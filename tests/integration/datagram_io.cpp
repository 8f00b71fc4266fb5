// Datagrams over UDP and Unix sockets: senders are reported, truncation is never hidden.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace nk = netkit;
using namespace std::string_view_literals;

TEST_CASE("UDP send_to / receive_from reports the sender") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    const auto b_at = b.local_endpoint().value();
    REQUIRE(a.send_to("hello"sv, b_at).value() == 5);
    std::array<char, 64> buf{};
    auto got = b.receive_from(buf).value();
    REQUIRE(got.size == 5);
    REQUIRE_FALSE(got.truncated());
    REQUIRE(got.sender == a.local_endpoint().value());
    REQUIRE(std::string_view(buf.data(), got.size) == "hello");
}

TEST_CASE("send_message_to without control data reaches a plain recvfrom peer") {
    // The peer is the C API itself, so a fault shared by netkit's two ends cannot hide.
    auto receiver = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
    REQUIRE(receiver.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).has_value());
    const auto where = receiver.local_endpoint().value();
    auto sender = nk::udp::socket::open(nk::ip::v4).value();
    REQUIRE(sender.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).has_value());
    REQUIRE(sender.send_message_to("hello"sv, where).value() == 5);

    std::array<char, 16> buf{};
    sockaddr_in from{};
    socklen_t from_length = sizeof from;
    const ssize_t got = ::recvfrom(receiver.native_handle(), buf.data(), buf.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_length);
    REQUIRE(got == 5);
    REQUIRE(std::string_view(buf.data(), 5) == "hello");
    REQUIRE(ntohs(from.sin_port) == sender.local_endpoint().value().port());
}

TEST_CASE("a datagram larger than the buffer is reported as truncated, with its real size") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    const std::string big(1000, 'z');
    REQUIRE(a.send_to(big, b.local_endpoint().value()).value() == 1000);
    std::array<char, 100> small{};
    auto got = b.receive_from(small).value();
    REQUIRE(got.truncated());
    REQUIRE(got.size == 100);
    REQUIRE(got.message_size == 1000);
    REQUIRE(std::string_view(small.data(), 100) == std::string(100, 'z'));
}

TEST_CASE("connected UDP: plain send and receive, and only the peer gets through") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(a.connect_to(b.local_endpoint().value()).has_value());
    REQUIRE(b.connect_to(a.local_endpoint().value()).has_value());
    REQUIRE(a.send("ping"sv).value() == 4);
    std::array<char, 8> buf{};
    auto got = b.receive(buf).value();
    REQUIRE(got.size == 4);
    REQUIRE_FALSE(got.truncated());
    REQUIRE(std::string_view(buf.data(), got.size) == "ping");

    // A stranger's datagram is filtered by the kernel on a connected socket.
    auto stranger = nk::udp::socket::open(nk::ip::v4).value();
    REQUIRE(stranger.send_to("spam"sv, b.local_endpoint().value()).value() == 4);
    REQUIRE(a.send("pong"sv).value() == 4);
    got = b.receive(buf).value();
    REQUIRE(std::string_view(buf.data(), got.size) == "pong");
}

TEST_CASE("receive on a connected datagram socket reports truncation") {
    auto a_and_b = nk::test::local_pair<nk::local::datagram_protocol>();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(a.send("0123456789"sv).value() == 10);
    std::array<char, 4> buf{};
    auto got = b.receive(buf).value();
    REQUIRE(got.truncated());
    REQUIRE(got.size == 4);
    REQUIRE(got.message_size == 10);
    REQUIRE(std::string_view(buf.data(), got.size) == "0123");
}

TEST_CASE("UDP over IPv6 loopback") {
    auto a = nk::udp::socket::open(nk::ip::v6);
    if (!a || !a->bind(nk::ip::endpoint::parse("[::1]:0").value())) {
        WARN("no IPv6 loopback here");
        return;
    }
    auto b = nk::udp::socket::open(nk::ip::v6).value();
    REQUIRE(b.bind(nk::ip::endpoint::parse("[::1]:0").value()).has_value());
    nk::test::bound_blocking_calls(b.native_handle());
    REQUIRE(a->send_to("six"sv, b.local_endpoint().value()).value() == 3);
    std::array<char, 8> buf{};
    auto got = b.receive_from(buf).value();
    REQUIRE(std::string_view(buf.data(), got.size) == "six");
    REQUIRE_FALSE(got.truncated());
    REQUIRE(got.sender == a->local_endpoint().value());
    REQUIRE(got.sender->to_string().rfind("[::1]:", 0) == 0);
}

TEST_CASE("sending to an endpoint of the wrong family is an error value") {
    auto v4 = nk::udp::socket::open(nk::ip::v4).value();
    auto sent = v4.send_to("x"sv, nk::ip::endpoint::parse("[::1]:9").value());
    REQUIRE_FALSE(sent);
    REQUIRE(sent.error().message().find("send_to [::1]:9") == 0);
}
