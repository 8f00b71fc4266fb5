// Connecting within a time limit. A connect to a host that never answers would otherwise wait for
// the kernel's SYN retries (about two minutes on Linux); with a timeout it ends with
// std::errc::timed_out, the half-open socket closed, nothing leaked.
//
// Usage: example_connect_timeout [ENDPOINT [TIMEOUT_MS]]
// With an endpoint it makes one connect and says what happened (exit 3 on a timeout). Without,
// it shows both outcomes on loopback: a listener whose accept queue is full drops new SYNs, which
// is exactly a peer that never answers.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <string_view>
#include <system_error>
#include <vector>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

int connect_once(const nk::ip::endpoint& peer, std::chrono::milliseconds timeout) {
    auto sock = nk::tcp::socket::connect(peer, timeout);
    if (!sock) {
        // "connect 192.0.2.1:80: deadline passed", and the socket is already closed.
        fmt::print("{}\n", sock.error().message());
        return sock.error() == std::errc::timed_out ? 3 : 1;
    }
    fmt::print("connected to {} from {}\n", peer.to_string(),
               sock->local_endpoint().value().to_string());
    return 0;
}

int demonstrate() {
    // listen(2) with a backlog of 0: the kernel queues one connection, then drops SYNs.
    auto full = nk::tcp::acceptor::open(nk::ip::v4).value();
    full.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    full.listen_now(0).value();
    const auto silent = full.local_endpoint().value();

    std::vector<nk::tcp::socket> queued; // never accepted: they keep the queue full
    for (int attempt = 0; attempt < 16; ++attempt) {
        auto sock = nk::tcp::socket::connect(silent, 200ms);
        if (sock) {
            queued.push_back(std::move(*sock));
            continue;
        }
        if (sock.error() != std::errc::timed_out) {
            fmt::print(stderr, "{}\n", sock.error().message());
            return 1;
        }
        fmt::print("{} (after {} queued connections)\n", sock.error().message(), queued.size());

        // A listener with room answers at once, well within the same timeout.
        auto open =
            nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
        return connect_once(open.local_endpoint().value(), 200ms);
    }
    fmt::print(stderr, "no connect timed out: the accept queue never filled\n");
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        return demonstrate();
    }
    auto peer = nk::ip::endpoint::parse(argv[1]);
    if (!peer) {
        fmt::print(stderr, "{}\n", peer.error().message());
        return 2;
    }
    const std::chrono::milliseconds timeout(argc > 2 ? std::atol(argv[2]) : 2000);
    return connect_once(*peer, timeout);
}
