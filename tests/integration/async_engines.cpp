// Choosing the loop's engine: by argument, by NETKIT_ENGINE, and the fallback to epoll when
// io_uring cannot be set up (a seccomp filter makes io_uring_setup fail with EPERM in a forked
// child, as Docker's default profile does), after which echo round trips give the same results.
// The other async tests run once per engine (tests/CMakeLists.txt), so this file only checks
// the choice itself.
#include <netkit/async/engine.hpp>

#include "support/catch.hpp"
#include "support/seccomp.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/task.hpp>
#include <netkit/async/uring_engine.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>

#include <sys/socket.h>
#include <sys/syscall.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

bool io_uring_works_here() { return nka::detail::uring_engine::open().has_value(); }

// A hundred echo round trips through a session task; returns how many came back intact.
nka::task<int> serve_one(nk::tcp::socket& sock) {
    std::array<std::byte, 256> buffer{};
    int echoed = 0;
    for (;;) {
        auto got = co_await nka::receive(sock, buffer, 5s);
        if (!got || *got == 0) {
            co_return echoed;
        }
        auto sent = co_await nka::send_all(sock, std::span(buffer).first(*got), 5s);
        if (!sent) {
            co_return echoed;
        }
        ++echoed;
    }
}

nka::task<int> client(nk::tcp::socket& sock, int rounds) {
    int intact = 0;
    for (int i = 0; i < rounds; ++i) {
        std::array<std::byte, 8> message{};
        message.fill(static_cast<std::byte>(i));
        auto sent = co_await nka::send_all(sock, message, 5s);
        std::array<std::byte, 8> back{};
        auto got = co_await nka::receive_exact(sock, back, 5s);
        intact += sent && got && back == message ? 1 : 0;
    }
    (void)sock.shutdown(nk::shutdown::write);
    co_return intact;
}

nka::task<> serve_detached(nk::tcp::socket& served) { (void)co_await serve_one(served); }

nka::task<int> echo_pair(nk::tcp::socket& a, nk::tcp::socket& b) {
    nka::loop::current().spawn(serve_detached(b));
    co_return co_await client(a, 100);
}

int echo_round_trips(nka::engine_kind kind, std::string_view& engine) {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop(kind);
    engine = loop.engine_name();
    return loop.run(echo_pair(a, b));
}

} // namespace

TEST_CASE("the loop runs the engine it is asked for and says which") {
    std::string_view engine;
    CHECK(echo_round_trips(nka::engine_kind::epoll, engine) == 100);
    CHECK(engine == "epoll");
    if (!io_uring_works_here()) {
        WARN("io_uring cannot be set up here: only the fallback is checked");
        CHECK(echo_round_trips(nka::engine_kind::io_uring, engine) == 100);
        CHECK(engine == "epoll");
        return;
    }
    CHECK(echo_round_trips(nka::engine_kind::io_uring, engine) == 100);
    CHECK(engine == "io_uring");
    nka::loop loop(nka::engine_kind::io_uring);
    CHECK(loop.engine() == nka::engine_kind::io_uring);
}

TEST_CASE("automatic follows NETKIT_ENGINE, and prefers io_uring without it") {
    const char* before = std::getenv("NETKIT_ENGINE");
    const std::string saved = before != nullptr ? before : "";
    ::setenv("NETKIT_ENGINE", "epoll", 1);
    {
        nka::loop loop;
        CHECK(loop.engine_name() == "epoll");
    }
    ::setenv("NETKIT_ENGINE", "io_uring", 1);
    {
        nka::loop loop;
        CHECK(loop.engine_name() == (io_uring_works_here() ? "io_uring" : "epoll"));
    }
    ::unsetenv("NETKIT_ENGINE");
    {
        nka::loop loop;
        CHECK(loop.engine_name() == (io_uring_works_here() ? "io_uring" : "epoll"));
    }
    if (before != nullptr) {
        ::setenv("NETKIT_ENGINE", saved.c_str(), 1);
    }
}

TEST_CASE("io_uring forbidden by seccomp: the loop falls back to epoll, same results") {
    const int status = nk::test::run_in_child([] {
        if (!nk::test::refuse_system_call(__NR_io_uring_setup, EPERM)) {
            return nk::test::child_cannot_filter;
        }
        std::string_view engine;
        const int intact = echo_round_trips(nka::engine_kind::io_uring, engine);
        if (engine != "epoll") {
            return 1;
        }
        return intact == 100 ? 0 : 2;
    });
    if (status == nk::test::child_cannot_filter) {
        WARN("skipped: this process may not install a seccomp filter");
        return;
    }
    CHECK(status == 0);
}
