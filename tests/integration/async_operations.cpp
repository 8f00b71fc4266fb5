// The awaitable operations on a loop: an echo against a peer written with plain C calls,
// accept and connect over loopback, deadlines, the cancellation matrix, closing and destroying
// with operations pending, and the cap on completions in a row.
#include <netkit/async/operations.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/netkit.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

std::vector<std::byte> pattern(std::size_t size) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<std::byte>((i * 131U + 7U) & 0xffU);
    }
    return bytes;
}

// Echoes until end of stream: what the peer sends comes back.
nka::task<nk::result<std::size_t>> echo(nk::tcp::socket& sock) {
    std::array<std::byte, 4096> buffer{};
    std::size_t total = 0;
    for (;;) {
        auto got = co_await nka::receive(sock, buffer, 5s);
        if (!got) {
            co_return nk::failure{got.error()};
        }
        if (*got == 0) {
            co_return total;
        }
        auto sent = co_await nka::send_all(sock, std::span(buffer).first(*got), 5s);
        if (!sent) {
            co_return nk::failure{sent.error()};
        }
        total += *sent;
    }
}

// The peer: plain blocking send(2)/recv(2) on the raw descriptor, in its own thread.
bool c_peer_round_trips(int fd, const std::vector<std::byte>& message, int rounds) {
    std::vector<std::byte> back(message.size());
    for (int i = 0; i < rounds; ++i) {
        std::size_t sent = 0;
        while (sent < message.size()) {
            const ssize_t n =
                ::send(fd, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            sent += static_cast<std::size_t>(n);
        }
        std::size_t got = 0;
        while (got < back.size()) {
            const ssize_t n = ::recv(fd, back.data() + got, back.size() - got, 0);
            if (n <= 0) {
                return false;
            }
            got += static_cast<std::size_t>(n);
        }
        if (back != message) {
            return false;
        }
    }
    return ::shutdown(fd, SHUT_WR) == 0;
}

nka::task<nk::result<std::size_t>> receive_once(nk::tcp::socket& sock, nk::deadline until,
                                                nka::stop_token stop) {
    std::array<std::byte, 64> buffer{};
    co_return co_await nka::receive(sock, buffer, until, stop);
}

struct outcome {
    bool done = false;
    nk::result<std::size_t> value = nk::failure{nk::error()};
};

nka::task<> record(nk::tcp::socket& sock, nk::deadline until, nka::stop_token stop, outcome& out) {
    out.value = co_await receive_once(sock, until, stop);
    out.done = true;
}

struct on_destroy {
    int* count;
    ~on_destroy() { ++*count; }
};

nka::task<> wait_forever(nk::tcp::socket& sock, int& destroyed, int& after) {
    const on_destroy guard{&destroyed};
    std::array<std::byte, 16> buffer{};
    (void)co_await nka::receive(sock, buffer);
    ++after; // must never run: the loop is destroyed while the receive waits
}

nka::task<> yield_once() { co_await nka::yield(); }

nka::task<> immediate_steps(int id, int steps, std::vector<int>& order) {
    for (int i = 0; i < steps; ++i) {
        (void)co_await nka::sleep_until(nk::deadline::clock::now()); // completes at once
        order.push_back(id);
    }
}

} // namespace

TEST_CASE("echo against a peer written with plain C calls") {
    auto [client, server] = nk::test::tcp_pair();
    nka::loop loop;
    const auto message = pattern(1000);
    constexpr int rounds = 200;
    bool peer_ok = false;
    std::thread peer(
        [&, fd = client.native_handle()] { peer_ok = c_peer_round_trips(fd, message, rounds); });
    auto echoed = loop.run(echo(server));
    peer.join();
    CHECK(peer_ok);
    REQUIRE(echoed);
    CHECK(*echoed == message.size() * rounds);
}

TEST_CASE("send_all and receive_exact wait whenever the socket is full or empty") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    const auto payload = pattern(8 << 20); // far beyond both socket buffers
    std::vector<std::byte> received(payload.size());
    auto sender = [](nk::tcp::socket& s, const std::vector<std::byte>& p) -> nka::task<> {
        auto sent = co_await nka::send_all(s, p, 10s);
        REQUIRE(sent);
        CHECK(*sent == p.size());
    };
    auto receiver = [](nk::tcp::socket& s,
                       std::vector<std::byte>& r) -> nka::task<nk::result<std::size_t>> {
        co_return co_await nka::receive_exact(s, r, 10s);
    };
    loop.spawn(sender(a, payload));
    auto got = loop.run(receiver(b, received));
    REQUIRE(got);
    CHECK(*got == payload.size());
    CHECK(received == payload);
}

TEST_CASE("accept and connect over loopback, with deadlines") {
    nka::loop loop;
    nk::listen_options options;
    options.mode = nk::io_mode::non_blocking;
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value(), options).value();
    const auto where = acceptor.local_endpoint().value();
    auto server = [](nk::tcp::acceptor& a) -> nka::task<> {
        auto conn = co_await nka::accept(a, 5s);
        REQUIRE(conn);
        std::array<std::byte, 5> word{};
        REQUIRE(co_await nka::receive_exact(conn->socket, word, 5s));
        REQUIRE(co_await nka::send_all(conn->socket, word, 5s));
    };
    auto client = [](nk::ip::endpoint peer) -> nka::task<std::string> {
        auto sock = co_await nka::connect<nk::tcp::protocol>(peer, 5s);
        REQUIRE(sock);
        const std::string hello = "hello";
        REQUIRE(co_await nka::send_all(*sock, hello, 5s));
        std::string back(5, '\0');
        REQUIRE(co_await nka::receive_exact(*sock, back, 5s));
        co_return back;
    };
    loop.spawn(server(acceptor));
    CHECK(loop.run(client(where)) == "hello");
}

TEST_CASE("a passed deadline ends the wait with deadline_passed, never early") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    const auto until = nk::deadline::after(20ms);
    auto got = loop.run(receive_once(b, until, {}));
    REQUIRE_FALSE(got);
    CHECK(got.error() == nk::errc::deadline_passed);
    CHECK(got.error() == std::errc::timed_out);
    CHECK(got.error().message() == "receive: deadline passed");
    CHECK(nk::deadline::clock::now() >= until.at());
    auto slept = [](nk::deadline when) -> nka::task<nk::result<void>> {
        co_return co_await nka::sleep_until(when);
    };
    const auto wake = nk::deadline::after(5ms);
    CHECK(loop.run(slept(wake)));
    CHECK(nk::deadline::clock::now() >= wake.at());
}

TEST_CASE("a nearer deadline ends its wait first while a farther one waits on") {
    // On io_uring the loop's earliest deadline is one timeout request kept in the ring: a wait
    // with a nearer deadline must add one for itself, or it would end only with the farther.
    auto sockets = nk::test::tcp_pair(); // named: clang 14 cannot capture bindings
    nka::loop loop;
    nka::stop_source far_stop;
    const auto far_until = nk::deadline::after(30s);
    std::optional<std::error_code> far_ended;
    auto far = [&]() -> nka::task<> {
        std::array<std::byte, 8> buffer{};
        auto got = co_await nka::receive(sockets.second, buffer, far_until, far_stop.token());
        far_ended = got ? std::error_code{} : got.error().code();
    };
    REQUIRE(::send(sockets.second.native_handle(), "x", 1, MSG_NOSIGNAL) == 1);
    auto near = [&]() -> nka::task<nk::deadline::clock::time_point> {
        std::array<std::byte, 1> byte{};
        // Its completion comes in a wait whose earliest deadline is the far one's: that is armed.
        auto got = co_await nka::receive(sockets.first, byte);
        CHECK(got);
        const auto until = nk::deadline::after(20ms);
        auto slept = co_await nka::sleep_until(until);
        CHECK(slept);
        CHECK(nk::deadline::clock::now() >= until.at());
        far_stop.request_stop();
        co_return nk::deadline::clock::now();
    };
    loop.spawn(far());
    // Woken by its own deadline, not the far one's (30 s of margin: not a measure of speed).
    CHECK(loop.run(near()) < far_until.at());
    loop.run([]() -> nka::task<> { co_await nka::yield(); }());
    CHECK(far_ended == std::make_error_code(std::errc::operation_canceled));
}

TEST_CASE("cancellation: before the start, while waiting, racing completion, after it") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    std::array<std::byte, 3> data{std::byte{1}, std::byte{2}, std::byte{3}};

    SECTION("before the start: no call is made, the data stays") {
        REQUIRE(a.send(data));
        nka::stop_source stop;
        stop.request_stop();
        auto got = loop.run(receive_once(b, {}, stop.token()));
        REQUIRE_FALSE(got);
        CHECK(got.error() == std::errc::operation_canceled);
        CHECK(loop.run(receive_once(b, {}, {})) == 3u);
    }
    SECTION("while waiting") {
        nka::stop_source stop;
        outcome out;
        loop.spawn(record(b, {}, stop.token(), out));
        loop.run(yield_once()); // the receive is now waiting
        CHECK_FALSE(out.done);
        CHECK(loop.waiting() == 1);
        stop.request_stop();
        loop.run(yield_once());
        REQUIRE(out.done);
        REQUIRE_FALSE(out.value);
        CHECK(out.value.error() == std::errc::operation_canceled);
        CHECK(loop.waiting() == 0);
    }
    SECTION("racing completion: data arrives and the stop comes before the loop sees it") {
        nka::stop_source stop;
        outcome out;
        loop.spawn(record(b, {}, stop.token(), out));
        loop.run(yield_once());
        REQUIRE(a.send(data));
        stop.request_stop();
        loop.run(yield_once());
        REQUIRE(out.done);
        CHECK(out.value.error() == std::errc::operation_canceled);
        CHECK(loop.run(receive_once(b, {}, {})) == 3u); // nothing was taken
    }
    SECTION("after completion: nothing changes") {
        REQUIRE(a.send(data));
        nka::stop_source stop;
        outcome out;
        loop.spawn(record(b, {}, stop.token(), out));
        loop.run(yield_once());
        REQUIRE(out.done);
        stop.request_stop();
        CHECK(out.value == 3u);
    }
}

TEST_CASE("closing a socket through the loop ends its pending operation") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    outcome out;
    loop.spawn(record(b, {}, {}, out));
    loop.run(yield_once());
    REQUIRE(loop.close(b));
    loop.run(yield_once());
    REQUIRE(out.done);
    CHECK(out.value.error() == std::errc::bad_file_descriptor);
    CHECK(loop.waiting() == 0);
}

TEST_CASE("destroying a loop with waiting tasks destroys their frames and runs none of them") {
    auto [a, b] = nk::test::tcp_pair();
    int destroyed = 0;
    int after = 0;
    {
        nka::loop loop;
        loop.spawn(wait_forever(b, destroyed, after));
        loop.spawn(wait_forever(a, destroyed, after));
        loop.run(yield_once());
        CHECK(loop.waiting() == 2);
        CHECK(destroyed == 0);
    }
    CHECK(destroyed == 2);
    CHECK(after == 0);
}

TEST_CASE("a task that keeps completing at once yields to the others") {
    nka::loop loop;
    std::vector<int> order;
    constexpr int steps = 4 * static_cast<int>(nka::loop::immediate_limit);
    loop.spawn(immediate_steps(1, steps, order));
    loop.spawn(immediate_steps(2, steps, order));
    auto until_all = [](std::vector<int>& seen, std::size_t count) -> nka::task<> {
        while (seen.size() < count) {
            co_await nka::yield();
        }
    };
    loop.run(until_all(order, 2 * steps));
    // Without the cap, task 1 would finish all its steps before task 2 made its first.
    const auto first_two = std::find(order.begin(), order.end(), 2);
    const auto last_one = std::find(order.rbegin(), order.rend(), 1);
    REQUIRE(first_two != order.end());
    CHECK(first_two < last_one.base());
}

namespace {

nka::task<> yield_forever() {
    for (;;) {
        co_await nka::yield();
    }
}

// A frame of another size class, so that it cannot take over a stale frame's memory.
nka::task<> yield_in_a_big_frame() {
    std::array<std::byte, 1024> held{};
    co_await nka::yield();
    held[0] = std::byte{1};
}

nka::task<> stop_both(nka::stop_source& stop) {
    stop.request_stop(); // queues the waiting receive's task
    nka::loop::current().stop();
    co_return;
}

nka::task<> receive_then_stopped(nk::tcp::socket& sock, nka::stop_source& stop) {
    nka::loop::current().spawn(stop_both(stop));
    std::array<std::byte, 8> buffer{};
    (void)co_await nka::receive(sock, buffer, {}, stop.token());
}

} // namespace

TEST_CASE("a task destroyed while it is in the ready queue is taken out of it") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    SECTION("after a yield") {
        loop.post([&] { loop.stop(); });
        CHECK_THROWS_AS(loop.run(yield_forever()), nk::operation_failed);
    }
    SECTION("after a stop ended its receive") {
        nka::stop_source stop;
        CHECK_THROWS_AS(loop.run(receive_then_stopped(b, stop)), nk::operation_failed);
    }
    // The stopped root's frame is gone: the next run must not resume it (ASan would see it).
    loop.run(yield_in_a_big_frame());
    CHECK(loop.waiting() == 0);
}

namespace {

nka::task<> tick(int& ticks, const bool& done) {
    while (!done) {
        ++ticks;
        co_await nka::yield();
    }
}

nka::task<nk::result<nk::tcp::socket>> connect_and_flag(nk::ip::endpoint peer, bool& done) {
    auto connected = co_await nka::connect<nk::tcp::protocol>(peer, 200ms);
    done = true;
    co_return connected;
}

} // namespace

TEST_CASE("connect waits on the loop, not inside connect(2): other tasks go on") {
    // A listener whose accept queue is full drops new SYNs: the handshake cannot finish at once.
    nk::listen_options options;
    options.backlog = 0;
    auto listener =
        nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value(), options);
    REQUIRE(listener);
    const nk::ip::endpoint where = listener->local_endpoint().value();
    std::vector<nk::tcp::socket> fillers;
    for (int i = 0; i < 4; ++i) { // plain non-blocking connect(2)s: none of them waits here
        auto filler = nk::tcp::socket::open(nk::ip::v4, nk::io_mode::non_blocking);
        REQUIRE(filler);
        (void)::connect(filler->native_handle(), reinterpret_cast<const sockaddr*>(where.data()),
                        where.size());
        fillers.push_back(std::move(*filler));
    }
    nka::loop loop;
    int ticks = 0;
    bool done = false;
    loop.spawn(tick(ticks, done));
    auto connected = loop.run(connect_and_flag(where, done));
    REQUIRE_FALSE(connected);
    CHECK(connected.error() == nk::errc::deadline_passed);
    CHECK(ticks > 1); // the loop ran the other task while the connect waited
}
