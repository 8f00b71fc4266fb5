// The datagram calls -- sendto, recvfrom, connect on UDP, socketpair -- and name resolution in
// netkit. A datagram that does not fit the buffer is reported, never passed off as whole.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string_view>

namespace nk = netkit;
using namespace std::string_view_literals;

namespace {

// socket(AF_INET, SOCK_DGRAM) + bind + sendto + recvfrom.
bool udp_send_to_and_receive_from() {
    const auto loopback = nk::ip::endpoint(nk::ip::address_v4::loopback(), 0);
    auto receiver = nk::udp::socket::open(nk::ip::v4).value();
    receiver.bind(loopback).value();
    receiver.set(nk::so::receive_timeout, std::chrono::seconds(5)).value(); // never hang
    auto sender = nk::udp::socket::open(nk::ip::v4).value();
    sender.bind(loopback).value();

    sender.send_to("a datagram of 29 bytes, whole"sv, receiver.local_endpoint().value()).value();
    std::array<char, 8> small{};
    const auto got = receiver.receive_from(small).value(); // recvfrom with MSG_TRUNC
    fmt::print("{} bytes of a {}-byte datagram from {}{}\n", got.size, got.message_size,
               got.sender->to_string(), got.truncated() ? " (truncated: the rest is gone)" : "");
    return got.truncated() && got.sender == sender.local_endpoint().value() &&
           std::string_view(small.data(), got.size) == "a datagr";
}

// connect(2) on UDP fixes the peer: plain send/receive, and only that peer gets through.
bool connected_udp() {
    const auto loopback = nk::ip::endpoint(nk::ip::address_v4::loopback(), 0);
    auto a = nk::udp::socket::open(nk::ip::v4).value();
    a.bind(loopback).value();
    a.set(nk::so::receive_timeout, std::chrono::seconds(5)).value();
    auto b = nk::udp::socket::connect(a.local_endpoint().value()).value();
    a.connect_to(b.local_endpoint().value()).value();
    b.send("ping"sv).value();
    std::array<char, 16> buffer{};
    const auto got = a.receive(buffer).value();
    fmt::print("connected UDP got \"{}\"\n", std::string_view(buffer.data(), got.size));
    return std::string_view(buffer.data(), got.size) == "ping";
}

// socketpair(AF_UNIX, SOCK_DGRAM): two connected Unix datagram sockets, message boundaries kept.
bool unix_datagram_pair() {
    auto [left, right] = nk::local::datagram_socket::pair().value();
    right.set(nk::so::receive_timeout, std::chrono::seconds(5)).value();
    left.send("one"sv).value();
    left.send("two"sv).value();
    std::array<char, 16> buffer{};
    const auto first = right.receive(buffer).value();
    const bool first_ok = std::string_view(buffer.data(), first.size) == "one";
    const auto second = right.receive(buffer).value();
    fmt::print("socketpair: two sends, two messages ({} and {} bytes)\n", first.size, second.size);
    return first_ok && std::string_view(buffer.data(), second.size) == "two";
}

// sendmsg(2) of a message built by hand: the same header, buffers and destination, sent twice.
bool message_built_by_hand() {
    const auto loopback = nk::ip::endpoint(nk::ip::address_v4::loopback(), 0);
    auto receiver = nk::udp::socket::open(nk::ip::v4).value();
    receiver.bind(loopback).value();
    receiver.set(nk::so::receive_timeout, std::chrono::seconds(5)).value();
    auto udp = nk::udp::socket::open(nk::ip::v4).value();
    const auto peer = receiver.local_endpoint().value();
    const std::array<char, 4> header{'m', 's', 'g', ':'};
    const std::string_view body = "hello";
    const auto pieces = nk::gather(header, body);
    nk::message_header message(nk::as_iovecs(pieces));
    message.destination(peer);         // peer must outlive the call
    udp.send_message(message).value(); // one sendmsg(2), flags optional
    udp.send_message(message).value();
    std::array<char, 16> buffer{};
    bool ok = true;
    for (int i = 0; i < 2; ++i) {
        const auto got = receiver.receive_from(buffer).value();
        ok = ok && std::string_view(buffer.data(), got.size) == "msg:hello";
    }
    fmt::print("a message_header sent twice: {}\n", ok ? "both arrived whole" : "lost");
    return ok;
}

// getaddrinfo: a list of endpoints; EAI_* errors in their own category.
bool resolve_localhost() {
    auto found = nk::resolve("localhost", "8080");
    if (!found) {
        fmt::print(stderr, "{}\n", found.error().message());
        return false;
    }
    for (const auto& endpoint : *found) {
        fmt::print("localhost:8080 -> {}\n", endpoint.to_string());
    }
    return !found->empty() && found->front().port() == 8080;
}

} // namespace

int main() {
    try {
        const bool ok = udp_send_to_and_receive_from() && connected_udp() && unix_datagram_pair() &&
                        message_built_by_hand() && resolve_localhost();
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}\n", e.what());
        return 1;
    }
}
