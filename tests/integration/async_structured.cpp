// Structured concurrency on the loop: a scope joins its children, passes on their first
// exception, stops them through its token and destroys the ones left when it goes;
// when_all resumes after every child, when_any after the first, destroying the rest.
#include <netkit/async/scope.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/task.hpp>
#include <netkit/async/when.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <variant>

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

struct on_destroy {
    int* count;
    ~on_destroy() { ++*count; }
};

nka::task<> yields_then_counts(int turns, int& ended) {
    for (int i = 0; i < turns; ++i) {
        co_await nka::yield();
    }
    ++ended;
}

nka::task<> throws_after_yield() {
    co_await nka::yield();
    throw std::runtime_error("child failed");
}

nka::task<int> spawn_and_join(int& ended) {
    nka::scope children;
    children.spawn(yields_then_counts(3, ended));
    children.spawn(yields_then_counts(1, ended));
    children.spawn(yields_then_counts(0, ended));
    const auto before = static_cast<int>(children.size());
    co_await children.join();
    co_return before * 10 + static_cast<int>(children.size());
}

nka::task<std::string> join_rethrows(int& ended) {
    nka::scope children;
    children.spawn(throws_after_yield());
    children.spawn(yields_then_counts(5, ended));
    try {
        co_await children.join();
    } catch (const std::runtime_error& failure) {
        co_return failure.what();
    }
    co_return "nothing thrown";
}

nka::task<> receive_until_stopped(nk::tcp::socket& sock, nka::stop_token stop,
                                  nk::result<std::size_t>& out) {
    std::array<std::byte, 16> buffer{};
    out = co_await nka::receive(sock, buffer, {}, stop);
}

nka::task<nk::result<std::size_t>> stopped_children(nk::tcp::socket& sock) {
    nka::scope children;
    nk::result<std::size_t> out = nk::failure{nk::error()};
    children.spawn(receive_until_stopped(sock, children.token(), out));
    co_await nka::yield(); // the child is now waiting for data
    children.request_stop();
    co_await children.join();
    co_return out;
}

nka::task<> waits_forever(nk::tcp::socket& sock, int& destroyed, int& after) {
    const on_destroy guard{&destroyed};
    std::array<std::byte, 16> buffer{};
    (void)co_await nka::receive(sock, buffer);
    ++after;
}

nka::task<> leave_children_behind(nk::tcp::socket& sock, int& destroyed, int& after) {
    nka::scope children;
    children.spawn(waits_forever(sock, destroyed, after));
    co_await nka::yield(); // the child waits; the scope goes without a join
}

nka::task<nk::result<std::size_t>> receive_some(nk::tcp::socket& sock) {
    std::array<std::byte, 16> buffer{};
    co_return co_await nka::receive(sock, buffer, 5s);
}

nka::task<> nothing() { co_return; }

nka::task<nk::result<void>> readable(const nk::file_descriptor& fd) {
    co_return co_await nka::wait_readable(fd, 5s);
}

nka::task<int> counts_start(int& started) {
    ++started;
    co_await nka::yield();
    co_return 1;
}

nka::task<int> ends_at_once() { co_return 7; }

nka::task<> send_later(nk::tcp::socket& to) {
    co_await nka::yield();
    (void)::send(to.native_handle(), "three", 5, MSG_NOSIGNAL);
}

} // namespace

TEST_CASE("a scope's join resumes once every child has ended") {
    nka::loop loop;
    int ended = 0;
    CHECK(loop.run(spawn_and_join(ended)) == 30);
    CHECK(ended == 3);
}

TEST_CASE("a scope's join rethrows the first exception once the children have ended") {
    nka::loop loop;
    int ended = 0;
    CHECK(loop.run(join_rethrows(ended)) == "child failed");
    CHECK(ended == 1); // the other child ran to its end first
}

TEST_CASE("a scope's request_stop reaches the children through its token") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    auto out = loop.run(stopped_children(b));
    REQUIRE_FALSE(out);
    CHECK(out.error() == std::errc::operation_canceled);
    CHECK(loop.waiting() == 0);
}

TEST_CASE("a scope destroyed with children left destroys them and runs none of their code") {
    auto [a, b] = nk::test::tcp_pair();
    nka::loop loop;
    int destroyed = 0;
    int after = 0;
    loop.run(leave_children_behind(b, destroyed, after));
    CHECK(destroyed == 1);
    CHECK(after == 0);
    CHECK(loop.waiting() == 0);
    REQUIRE(::send(a.native_handle(), "x", 1, MSG_NOSIGNAL) == 1);
    loop.run(nothing()); // an event for the destroyed child's socket finds no waiter
    CHECK(after == 0);
}

TEST_CASE("when_all resumes after every child, values in argument order") {
    auto [a, b] = nk::test::tcp_pair();
    auto [c, d] = nk::test::tcp_pair();
    REQUIRE(::send(a.native_handle(), "one", 3, MSG_NOSIGNAL) == 3);
    nka::loop loop;
    int started = 0;
    // d has no data yet: the fourth child sends it once the others have started.
    auto [first, second, third, fourth] = loop.run(
        nka::when_all(receive_some(b), counts_start(started), receive_some(d), send_later(c)));
    REQUIRE(first);
    CHECK(*first == 3u);
    CHECK(second == 1);
    REQUIRE(third);
    CHECK(*third == 5u);
    CHECK(std::is_same_v<decltype(fourth), std::monostate>);
    CHECK(started == 1);
}

TEST_CASE("when_any resumes after the first child and destroys the rest") {
    auto [a, b] = nk::test::tcp_pair();
    nk::file_descriptor signal(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    REQUIRE(signal);
    nka::loop loop;
    const std::uint64_t one = 1;
    REQUIRE(::write(signal.get(), &one, sizeof one) == sizeof one);
    // A receive with nothing to read, or the signal: the signal wins, the receive is destroyed
    // while it waits, so no byte is taken from the socket.
    auto first = loop.run(nka::when_any(receive_some(b), readable(signal)));
    CHECK(first.index() == 1);
    CHECK(std::get<1>(first));
    CHECK(loop.waiting() == 0);
    REQUIRE(::send(a.native_handle(), "kept", 4, MSG_NOSIGNAL) == 4);
    auto later = loop.run(receive_some(b));
    REQUIRE(later);
    CHECK(*later == 4u);
}

TEST_CASE("when_any: a child that ends at once wins, and later ones never start") {
    nka::loop loop;
    int started = 0;
    auto first =
        loop.run(nka::when_any(counts_start(started), ends_at_once(), counts_start(started)));
    REQUIRE(first.index() == 1);
    CHECK(std::get<1>(first) == 7);
    CHECK(started == 1); // the first had started and was destroyed; the third never ran
    CHECK(loop.waiting() == 0);
}
