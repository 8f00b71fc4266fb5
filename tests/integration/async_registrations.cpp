// The loop keeps a descriptor registered with epoll (edge-triggered, both directions) from one
// operation to the next. These cases check what that must never break: a reader and a writer on
// one socket at once, a descriptor number closed and given to a new socket, a close on the
// loop's thread ending the waits on the descriptor, a wait on a descriptor that is already ready,
// and a stream receive that skips its call after a short read still seeing the next bytes.
#include <netkit/async/loop.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/operations.hpp>
#include <netkit/async/task.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

struct received {
    bool done = false;
    nk::result<std::size_t> value = nk::failure{nk::error()};
    std::array<std::byte, 64> bytes{};
};

nka::task<> receive_into(nk::tcp::socket& sock, received& out, nk::deadline until = 5s) {
    out.value = co_await nka::receive(sock, out.bytes, until);
    out.done = true;
}

nka::task<> yield_once() { co_await nka::yield(); }

std::string_view text(const received& out) {
    return {reinterpret_cast<const char*>(out.bytes.data()), out.value ? *out.value : 0};
}

// Fills `sock`'s send buffer (and the peer's receive buffer) with a blocking-free loop.
std::size_t fill(nk::tcp::socket& sock) {
    std::array<std::byte, 65536> junk{};
    std::size_t total = 0;
    for (;;) {
        const ssize_t n =
            ::send(sock.native_handle(), junk.data(), junk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) {
            return total;
        }
        total += static_cast<std::size_t>(n);
    }
}

nka::task<nk::result<std::size_t>> send_after_room(nk::tcp::socket& sock) {
    const std::array<std::byte, 10> bytes{};
    co_return co_await nka::send_all(sock, bytes, 5s);
}

nka::task<> send_into(nk::tcp::socket& sock, std::optional<nk::result<std::size_t>>& out) {
    out = co_await send_after_room(sock);
}

// Two waits for readability in a row on data nobody reads: the first consumes the edge, so the
// second must not wait for another one.
nka::task<int> wait_twice(nk::tcp::socket& sock) {
    int ready = 0;
    for (int i = 0; i < 2; ++i) {
        auto waited = co_await nka::wait_readable(sock, 2s);
        ready += waited ? 1 : 0;
    }
    co_return ready;
}

// One byte at a time: each receive comes back short (fewer bytes than the buffer), so the next
// one waits for an edge without calling recv first; the peer's next byte must bring that edge.
nka::task<int> byte_by_byte(nk::tcp::socket& from, nk::tcp::socket& to) {
    int seen = 0;
    for (int i = 0; i < 50; ++i) {
        const char byte = static_cast<char>('a' + i % 26);
        if (::send(from.native_handle(), &byte, 1, MSG_NOSIGNAL) != 1) {
            co_return seen;
        }
        std::array<std::byte, 16> buffer{};
        auto got = co_await nka::receive(to, buffer, 2s);
        if (!got || *got != 1 || buffer[0] != static_cast<std::byte>(byte)) {
            co_return seen;
        }
        ++seen;
    }
    co_return seen;
}

nka::task<nk::result<std::size_t>> drain(nk::tcp::socket& sock, std::size_t total) {
    std::vector<std::byte> sink(total + 10);
    co_return co_await nka::receive_exact(sock, sink, 5s);
}

} // namespace

TEST_CASE("a reader and a writer wait on one socket at once") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    received in;
    loop.spawn(receive_into(b, in)); // b's reader waits: nothing sent yet
    const std::size_t filled = fill(b);
    REQUIRE(filled > 0);
    std::optional<nk::result<std::size_t>> out;
    loop.spawn(send_into(b, out)); // b's writer waits too: its buffer is full
    loop.run(yield_once());
    CHECK(loop.waiting() == 2);

    auto drained = loop.run(drain(a, filled)); // a reads everything: b's writer goes on
    REQUIRE(drained);
    CHECK(*drained == filled + 10);
    REQUIRE(out.has_value());
    CHECK(*out == 10u);
    CHECK_FALSE(in.done);

    REQUIRE(::send(a.native_handle(), "hi", 2, MSG_NOSIGNAL) == 2);
    loop.run(yield_once());
    while (!in.done) {
        loop.run(yield_once());
    }
    CHECK(text(in) == "hi");
}

TEST_CASE("a second reader on one descriptor is refused, the first goes on") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    received first;
    received second;
    loop.spawn(receive_into(b, first));
    loop.spawn(receive_into(b, second));
    loop.run(yield_once());
    REQUIRE(second.done);
    CHECK(second.value.error() == std::errc::connection_already_in_progress);
    REQUIRE(::send(a.native_handle(), "x", 1, MSG_NOSIGNAL) == 1);
    while (!first.done) {
        loop.run(yield_once());
    }
    CHECK(text(first) == "x");
}

TEST_CASE("a descriptor number closed and reused by a new socket is registered again") {
    nka::loop loop;
    int number = -1;
    {
        auto [a, b] = nk::test::tcp_pair();
        received in;
        loop.spawn(receive_into(b, in));
        loop.run(yield_once()); // b is now registered with the loop's epoll
        REQUIRE(::send(a.native_handle(), "old", 3, MSG_NOSIGNAL) == 3);
        while (!in.done) {
            loop.run(yield_once());
        }
        CHECK(text(in) == "old");
        number = b.native_handle();
    } // both close: the kernel drops b's registration, and the number is free again
    auto [reused, peer] = nk::test::tcp_pair();
    if (peer.native_handle() == number) {
        std::swap(reused, peer);
    }
    if (reused.native_handle() != number) { // free: move the new socket onto b's old number
        const int moved = ::dup3(reused.native_handle(), number, O_CLOEXEC);
        REQUIRE(moved == number);
        reused = nk::tcp::socket(nk::file_descriptor(moved));
    }
    REQUIRE(reused.native_handle() == number);
    received in;
    loop.spawn(receive_into(reused, in));
    loop.run(yield_once());
    REQUIRE(::send(peer.native_handle(), "new", 3, MSG_NOSIGNAL) == 3);
    for (int turns = 0; !in.done && turns < 1000; ++turns) {
        loop.run(yield_once());
    }
    REQUIRE(in.done); // without registering the new file again, no edge would ever come
    CHECK(text(in) == "new");
}

TEST_CASE("closing a socket on the loop's thread ends the waits on it") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    received in;
    loop.spawn(receive_into(b, in));
    loop.run(yield_once());
    REQUIRE(loop.waiting() == 1);
    REQUIRE(b.close()); // not through the loop: netkit's close tells it all the same
    loop.run(yield_once());
    REQUIRE(in.done);
    CHECK(in.value.error() == std::errc::bad_file_descriptor);
    CHECK(loop.waiting() == 0);
}

TEST_CASE("a wait on a descriptor that is already ready completes at once, every time") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    REQUIRE(::send(a.native_handle(), "z", 1, MSG_NOSIGNAL) == 1);
    CHECK(loop.run(wait_twice(b)) == 2);
}

TEST_CASE("a receive after a short read still sees the bytes that come next") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    CHECK(loop.run(byte_by_byte(a, b)) == 50);
}

TEST_CASE("a short read that came with the end of stream does not hide it") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    received first;
    loop.spawn(receive_into(b, first)); // registered and waiting before anything arrives
    loop.run(yield_once());
    // Data and FIN arrive together: one edge says both, and the short read takes the data only.
    REQUIRE(::send(a.native_handle(), "ab", 2, MSG_NOSIGNAL) == 2);
    REQUIRE(::shutdown(a.native_handle(), SHUT_WR) == 0);
    while (!first.done) {
        loop.run(yield_once());
    }
    CHECK(text(first) == "ab");
    received second; // must see the end of stream at once, not wait for an edge already spent
    loop.run(receive_into(b, second, 2s));
    REQUIRE(second.value);
    CHECK(*second.value == 0u);
}
