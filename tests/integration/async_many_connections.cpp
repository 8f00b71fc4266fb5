// A thousand connections on a coroutine echo server (one loop on its own thread, a session task
// per connection in a scope), driven by clients written with plain POSIX calls on the test's
// thread: echoes, half-closes, resets (RST from SO_LINGER 0) and idle clients that the
// server's idle deadline closes. Afterwards every session has ended, nothing waits on the
// loop, and the process has exactly the descriptors it started with.
#include <netkit/async/scope.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"
#include "support/threads.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/netkit.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t echoing = 400;
constexpr std::size_t half_closing = 200;
constexpr std::size_t resetting = 200;
constexpr std::size_t idle = 200;
constexpr std::size_t connections = echoing + half_closing + resetting + idle;

struct server_counts {
    std::atomic<std::size_t> sessions{0};
    std::atomic<std::size_t> ended{0};
    std::atomic<std::size_t> waiting_at_end{1};
};

nka::task<> session(nk::tcp::socket sock, nka::stop_token stop, server_counts& counts) {
    counts.sessions.fetch_add(1);
    std::array<std::byte, 4096> buffer{};
    for (;;) {
        auto got = co_await nka::receive(sock, buffer, 3s, stop); // the idle deadline
        if (!got || *got == 0) {
            break;
        }
        auto sent = co_await nka::send_all(sock, std::span(buffer).first(*got), 5s);
        if (!sent) {
            break;
        }
    }
    (void)sock.shutdown(nk::shutdown::write);
    counts.ended.fetch_add(1);
}

nka::task<> serve(nk::tcp::acceptor& acceptor, nka::stop_source& stop, server_counts& counts) {
    nka::scope sessions;
    for (;;) {
        auto conn = co_await nka::accept(acceptor, {}, stop.token());
        if (!conn) {
            break; // stopped
        }
        sessions.spawn(session(std::move(conn->socket), sessions.token(), counts));
    }
    sessions.request_stop();
    co_await sessions.join();
    counts.waiting_at_end = nka::loop::current().waiting();
}

std::size_t open_descriptors() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
        ++count;
    }
    return count;
}

int connect_to(const sockaddr_in& where) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    nk::test::bound_blocking_calls(fd);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&where), sizeof where) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool send_text(int fd, const std::string& text) {
    return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

std::string receive_text(int fd, std::size_t size) {
    std::string text(size, '\0');
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::recv(fd, text.data() + got, size - got, 0);
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
}

bool reads_end_of_stream(int fd) {
    char byte = 0;
    return ::recv(fd, &byte, 1, 0) == 0;
}

} // namespace

TEST_CASE("a thousand connections: echoes, half-closes, resets and idle clients") {
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    const rlimit before_limit = limit;
    if (limit.rlim_cur < 2 * connections + 64) {
        limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 2 * connections + 64);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
    }
    if (limit.rlim_cur < 2 * connections + 64) {
        WARN("RLIMIT_NOFILE's hard limit is below " << 2 * connections + 64 << ": not run");
        return;
    }
    const std::size_t descriptors_before = open_descriptors();
    {
        nk::listen_options options;
        options.mode = nk::io_mode::non_blocking;
        options.backlog = static_cast<int>(connections);
        auto acceptor =
            nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value(), options);
        REQUIRE(acceptor);
        sockaddr_in where{};
        where.sin_family = AF_INET;
        where.sin_port = htons(acceptor->local_endpoint().value().port());
        where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

        server_counts counts;
        std::promise<nka::loop*> started;
        nka::stop_source stop; // used on the loop's thread only (through post)
        netkit_test::joining_thread server([&] {
            nka::loop loop;
            started.set_value(&loop);
            loop.run(serve(*acceptor, stop, counts));
        });
        nka::loop* loop = started.get_future().get();

        std::vector<int> clients;
        clients.reserve(connections);
        for (std::size_t i = 0; i < connections; ++i) {
            clients.push_back(connect_to(where));
        }
        CHECK(std::count(clients.begin(), clients.end(), -1) == 0);

        std::size_t echoed = 0;
        for (std::size_t i = 0; i < echoing; ++i) {
            const std::string text = "echo " + std::to_string(i);
            echoed += (send_text(clients[i], text) && receive_text(clients[i], text.size()) == text)
                          ? 1U
                          : 0U;
        }
        CHECK(echoed == echoing);

        std::size_t half_closed = 0;
        for (std::size_t i = echoing; i < echoing + half_closing; ++i) {
            const std::string text = "half " + std::to_string(i);
            const bool sent = send_text(clients[i], text) && ::shutdown(clients[i], SHUT_WR) == 0;
            half_closed += (sent && receive_text(clients[i], text.size()) == text &&
                            reads_end_of_stream(clients[i]))
                               ? 1U
                               : 0U;
        }
        CHECK(half_closed == half_closing);

        for (std::size_t i = echoing + half_closing; i < echoing + half_closing + resetting; ++i) {
            (void)send_text(clients[i], "bye");
            const linger abort_on_close{1, 0}; // close sends RST
            REQUIRE(::setsockopt(clients[i], SOL_SOCKET, SO_LINGER, &abort_on_close,
                                 sizeof abort_on_close) == 0);
            ::close(clients[i]);
            clients[i] = -1;
        }

        std::size_t timed_out = 0; // the server's 3 s idle deadline closes these
        for (std::size_t i = connections - idle; i < connections; ++i) {
            timed_out += reads_end_of_stream(clients[i]) ? 1U : 0U;
        }
        CHECK(timed_out == idle);

        for (int& fd : clients) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
        loop->post([&stop] { stop.request_stop(); });
        server.join();
        CHECK(counts.sessions == connections);
        CHECK(counts.ended == connections);
        CHECK(counts.waiting_at_end == 0u);
    }
    CHECK(open_descriptors() == descriptors_before);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &before_limit) == 0);
}
