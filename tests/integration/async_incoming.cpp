// incoming: one multishot accept per listener on io_uring (plain accept on epoll; the file also
// runs as async_incoming@epoll). The clients are plain C sockets, so that a symmetric bug in
// netkit cannot pass.
#include <netkit/async/incoming.hpp>

#include "support/catch.hpp"

#include <netkit/async/accept_queues.hpp>

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/scope.hpp>
#include <netkit/async/task.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

nk::tcp::acceptor listener(int backlog = 512) {
    nk::listen_options options;
    options.mode = nk::io_mode::non_blocking;
    options.backlog = backlog;
    return nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value(), options)
        .value();
}

// A blocking C client connected to `port` (its calls bounded to 10 s), or -1.
int c_connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval limit{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_port = htons(port);
    where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&where), sizeof where) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// The client's own port, as the server should report it as the peer's.
std::uint16_t local_port(int fd) {
    sockaddr_in self{};
    socklen_t length = sizeof self;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &length);
    return ntohs(self.sin_port);
}

nka::task<> echo_one_byte(nk::tcp::socket sock) {
    std::array<std::byte, 1> byte{};
    auto got = co_await nka::receive_exact(sock, byte, 10s);
    if (got) {
        (void)co_await nka::send_all(sock, byte, 10s);
    }
}

bool queue_expected(const nka::loop& loop) { return loop.engine() == nka::engine_kind::io_uring; }

} // namespace

TEST_CASE("an incoming accepts a burst of 150 C connections, none lost, each with its peer") {
    auto acceptor = listener();
    const std::uint16_t port = acceptor.local_endpoint().value().port();
    nka::loop loop;
    constexpr std::size_t count = 150;
    std::vector<int> clients;
    std::set<std::uint16_t> client_ports;
    auto connect_client = [&] {
        clients.push_back(c_connect(port));
        client_ports.insert(local_port(clients.back()));
        const char byte = static_cast<char>('a' + clients.size() % 26);
        return clients.back() >= 0 && ::send(clients.back(), &byte, 1, MSG_NOSIGNAL) == 1;
    };
    std::set<std::uint16_t> peer_ports;
    auto serve = [&]() -> nka::task<> {
        nka::incoming connections(acceptor);
        CHECK(connections.through_queue() == queue_expected(loop));
        nka::scope sessions;
        REQUIRE(connect_client());
        for (std::size_t i = 0; i < count; ++i) {
            auto conn = co_await connections.accept(10s);
            REQUIRE(conn);
            peer_ports.insert(conn->peer.port());
            sessions.spawn(echo_one_byte(std::move(conn->socket)));
            if (i == 0) { // the accept is armed: the rest come in a burst, not accepted yet
                for (std::size_t j = 1; j < count; ++j) {
                    REQUIRE(connect_client());
                }
                // The queue fills to its limit at least (one wakeup may take more; none is
                // dropped either way).
                for (int turn = 0;
                     turn < 10'000 && connections.through_queue() &&
                     nka::loop::current().connections_held() < nka::detail::accept_queues::limit;
                     ++turn) {
                    co_await nka::yield();
                }
                if (connections.through_queue()) {
                    CHECK(nka::loop::current().connections_held() >=
                          nka::detail::accept_queues::limit);
                }
            }
        }
        co_await sessions.join();
    };
    loop.run(serve());
    std::size_t echoed = 0;
    for (std::size_t i = 0; i < count; ++i) {
        char byte = 0;
        echoed +=
            ::recv(clients[i], &byte, 1, 0) == 1 && byte == static_cast<char>('a' + (i + 1) % 26);
        ::close(clients[i]);
    }
    CHECK(echoed == count);
    CHECK(peer_ports == client_ports);
    CHECK(loop.connections_held() == 0);
}

TEST_CASE("destroying an incoming closes the connections it took and nobody accepted") {
    auto acceptor = listener();
    const std::uint16_t port = acceptor.local_endpoint().value().port();
    nka::loop loop;
    std::vector<int> clients;
    auto take_some = [&]() -> nka::task<> {
        nka::incoming connections(acceptor);
        clients.push_back(c_connect(port));
        auto first = co_await connections.accept(10s); // arms the multishot accept
        REQUIRE(first);
        for (int i = 0; i < 5; ++i) {
            clients.push_back(c_connect(port));
        }
        if (connections.through_queue()) {
            // Each turn of the loop enters the ring, where the kernel accepts what is queued.
            for (int turn = 0; turn < 10'000 && nka::loop::current().connections_held() < 5;
                 ++turn) {
                co_await nka::yield();
            }
            CHECK(nka::loop::current().connections_held() == 5);
        }
    }; // the five are closed here on io_uring (the descriptor check of every test case sees it)
    loop.run(take_some());
    CHECK(loop.connections_held() == 0);
    if (queue_expected(loop)) {
        for (std::size_t i = 1; i < clients.size(); ++i) { // the server's close: end of stream
            char byte = 0;
            CHECK(::recv(clients[i], &byte, 1, 0) == 0);
        }
    }
    for (int fd : clients) {
        ::close(fd);
    }
}

TEST_CASE("a second incoming of one listener is refused, on either engine") {
    auto acceptor = listener();
    nka::loop loop;
    auto twice = [&]() -> nka::task<> {
        nka::incoming first(acceptor);
        nka::incoming second(acceptor);
        auto refused = co_await second.accept(1s);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code() == std::errc::connection_already_in_progress);
        auto none = co_await first.accept(10ms);
        REQUIRE_FALSE(none);
        CHECK(none.error().code() == nk::errc::deadline_passed);
    };
    loop.run(twice());
}

TEST_CASE("closing the listener ends an incoming's waiting accept with bad_file_descriptor") {
    auto acceptor = listener();
    nka::loop loop;
    auto wait = [&]() -> nka::task<> {
        nka::incoming connections(acceptor);
        auto closer = [&]() -> nka::task<> {
            (void)nka::loop::current().close(acceptor);
            co_return;
        };
        nka::loop::current().spawn(closer());
        auto ended = co_await connections.accept(10s);
        REQUIRE_FALSE(ended);
        CHECK(ended.error().code() == std::errc::bad_file_descriptor);
    };
    loop.run(wait());
    CHECK(loop.connections_held() == 0);
}
