// The classic TCP exchange -- socket, bind, listen, accept, connect, send, recv, shutdown,
// close -- in netkit, with both ways of handling errors: as values, and as exceptions.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdio>
#include <exception>
#include <string_view>
#include <system_error>

namespace nk = netkit;
using namespace std::string_view_literals;

// Errors as values: every call returns netkit::result<T>; nothing throws.
int exchange_with_error_values() {
    auto where = nk::ip::endpoint::parse("127.0.0.1:0"); // port 0: the kernel picks one
    if (!where) {
        fmt::print(stderr, "{}\n", where.error().message());
        return 1;
    }
    // socket + setsockopt(SO_REUSEADDR) + bind + listen, each descriptor CLOEXEC.
    auto acceptor = nk::tcp::acceptor::listen(*where);
    if (!acceptor) {
        fmt::print(stderr, "{}\n",
                   acceptor.error().message()); // e.g. "bind 127.0.0.1:80: Permission denied"
        return 1;
    }
    auto client = nk::tcp::socket::connect(acceptor->local_endpoint().value()); // socket + connect
    auto accepted = acceptor->accept();                                         // accept4
    if (!client || !accepted) {
        fmt::print(stderr, "connect or accept failed\n");
        return 1;
    }
    auto& server = accepted->socket;

    // send_all loops over short writes; MSG_NOSIGNAL is always set, so a closed peer is EPIPE.
    if (auto sent = client->send_all("hello, netkit"sv); !sent) {
        fmt::print(stderr, "{} after {} bytes\n", sent.error().message(),
                   sent.error().bytes_transferred());
        return 1;
    }
    // shutdown(SHUT_WR): the peer reads end-of-stream; close() would only drop our descriptor.
    (void)client->shutdown(nk::shutdown::write);

    std::array<char, 64> buffer{};
    std::size_t total = 0;
    for (;;) { // recv until end of stream (0 bytes)
        auto got = server.receive(std::span(buffer).subspan(total));
        if (!got) {
            fmt::print(stderr, "{}\n", got.error().message());
            return 1;
        }
        if (*got == 0) {
            break;
        }
        total += *got;
    }
    fmt::print("server got \"{}\" from {}\n", std::string_view(buffer.data(), total),
               accepted->peer.to_string());
    return std::string_view(buffer.data(), total) == "hello, netkit" ? 0 : 1;
}

// Errors as exceptions: .value() throws std::system_error whose what() names the call and the
// endpoint, e.g. "connect 127.0.0.1:1: Connection refused".
int connect_refused_as_exception() {
    // A bound socket that does not listen refuses connections, so this port is surely closed.
    auto bound = nk::tcp::socket::open(nk::ip::v4).value();
    bound.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    const auto closed_port = bound.local_endpoint().value();
    try {
        auto sock = nk::tcp::socket::connect(closed_port).value();
        fmt::print(stderr, "connect unexpectedly succeeded\n");
        return 1;
    } catch (const std::system_error& e) {
        fmt::print("caught: {}\n", e.what());
        return e.code() == std::errc::connection_refused ? 0 : 1;
    }
}

int main() try {
    return exchange_with_error_values() + connect_refused_as_exception();
} catch (const std::exception& e) {
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
}
