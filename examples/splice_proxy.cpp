// A one-connection TCP proxy that never copies a byte into the process: each direction is a
// netkit::splice_all loop (socket -> pipe -> socket, splice(2) both ways) on a thread of its own.
// A direction that reaches the end of its stream passes it on (shutdown of the writing side), so
// a half-closed connection stays half-closed through the proxy.
//
// Usage: example_splice_proxy [LISTEN UPSTREAM]
// With endpoints it accepts one client on LISTEN, connects to UPSTREAM and relays both ways until
// both are done. Without, it relays a client of its own to an echo peer of its own on loopback
// and checks that the client got back every byte it sent.
#include <netkit/io/pipe.hpp>
#include <netkit/io/splice.hpp>
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

// One direction: everything `from` sends reaches `to`, then `to` reads end of stream.
nk::result<std::size_t> relay(nk::tcp::socket& from, nk::tcp::socket& to) {
    auto through = nk::pipe::open();
    if (!through) {
        return nk::failure{through.error()};
    }
    auto moved = nk::splice_all(from, to, *through);
    if (!moved) {
        // The bytes that had not reached `to` are still in the pipe (through->buffered()): with
        // the destination gone there is nowhere to send them, and closing the pipe discards them.
        return moved;
    }
    if (auto ended = to.shutdown(nk::shutdown::write); !ended) {
        return nk::failure{ended.error()};
    }
    return moved;
}

// Relays `client` and `upstream` both ways until both directions are done. A direction that
// fails ends the other too: its splice would otherwise wait for a peer that will never speak.
int proxy(nk::tcp::socket& client, nk::tcp::socket& upstream) {
    nk::result<std::size_t> up = std::size_t{0};
    std::thread upward([&] {
        up = relay(client, upstream);
        if (!up) {
            (void)client.shutdown(nk::shutdown::both);
            (void)upstream.shutdown(nk::shutdown::both);
        }
    });
    auto down = relay(upstream, client);
    if (!down) {
        (void)client.shutdown(nk::shutdown::both);
        (void)upstream.shutdown(nk::shutdown::both);
    }
    upward.join();
    for (const auto* direction : {&up, &down}) {
        if (!*direction) {
            fmt::print(stderr, "{} after {} bytes\n", direction->error().message(),
                       direction->error().bytes_transferred());
            return 1;
        }
    }
    fmt::print("relayed {} bytes up, {} bytes down\n", *up, *down);
    return 0;
}

int serve_one(const nk::ip::endpoint& listen_at, const nk::ip::endpoint& upstream_at) {
    auto acceptor = nk::tcp::acceptor::listen(listen_at);
    if (!acceptor) {
        fmt::print(stderr, "{}\n", acceptor.error().message());
        return 1;
    }
    fmt::print("listening on {}\n", acceptor->local_endpoint().value().to_string());
    std::fflush(stdout);
    auto accepted = acceptor->accept();
    if (!accepted) {
        fmt::print(stderr, "{}\n", accepted.error().message());
        return 1;
    }
    auto upstream = nk::tcp::socket::connect(upstream_at, 10s);
    if (!upstream) {
        fmt::print(stderr, "{}\n", upstream.error().message());
        return 1;
    }
    return proxy(accepted->socket, *upstream);
}

// An echo peer for the demonstration: sends back what it reads until end of stream.
void echo_one(nk::tcp::acceptor& acceptor) {
    auto peer = acceptor.accept(10s).value();
    std::vector<char> chunk(64 * 1024);
    for (;;) {
        auto got = peer.socket.receive(chunk, {}, 10s);
        if (!got || *got == 0) {
            break;
        }
        peer.socket.send_all(std::span(chunk.data(), *got)).value();
    }
    (void)peer.socket.shutdown(nk::shutdown::write);
}

int demonstrate() {
    const auto loopback = nk::ip::endpoint(nk::ip::address_v4::loopback(), 0);
    auto echo_acceptor = nk::tcp::acceptor::listen(loopback).value();
    auto proxy_acceptor = nk::tcp::acceptor::listen(loopback).value();
    std::thread echo([&] { echo_one(echo_acceptor); });

    std::string sent(3 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < sent.size(); ++i) {
        sent[i] = static_cast<char>(i * 13 % 241);
    }
    std::string received;
    std::thread client([&, at = proxy_acceptor.local_endpoint().value()] {
        auto sock = nk::tcp::socket::connect(at, 10s).value();
        std::thread writer([&] {
            sock.send_all(sent, {}, 10s).value();
            sock.shutdown(nk::shutdown::write).value(); // passes through the proxy to the echo
        });
        std::vector<char> chunk(64 * 1024);
        for (;;) {
            auto got = sock.receive(chunk, {}, 10s);
            if (!got || *got == 0) {
                break;
            }
            received.append(chunk.data(), *got);
        }
        writer.join();
    });

    auto accepted = proxy_acceptor.accept(10s).value();
    auto upstream = nk::tcp::socket::connect(echo_acceptor.local_endpoint().value(), 10s).value();
    const int relayed = proxy(accepted.socket, upstream);
    client.join();
    echo.join();
    const bool same = received == sent;
    fmt::print("the client got back {} of {} bytes, {}\n", received.size(), sent.size(),
               same ? "all as sent" : "NOT as sent");
    return relayed == 0 && same ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        return demonstrate();
    }
    const auto listen_at = nk::ip::endpoint::parse(argv[1]);
    const auto upstream_at = nk::ip::endpoint::parse(argv[2]);
    if (!listen_at || !upstream_at) {
        fmt::print(stderr, "usage: {} LISTEN UPSTREAM (e.g. 127.0.0.1:8080 127.0.0.1:80)\n",
                   argv[0]);
        return 2;
    }
    return serve_one(*listen_at, *upstream_at);
}
