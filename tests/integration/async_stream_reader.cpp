// stream_reader: one multishot receive into the loop's buffer ring on io_uring (a plain receive
// on epoll; the file also runs as async_stream_reader@epoll). The peers are plain C calls on
// their own threads, so that a symmetric bug in netkit cannot pass.
#include <netkit/async/stream_reader.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/receive_queues.hpp>
#include <netkit/async/scope.hpp>
#include <netkit/async/task.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

std::byte pattern(std::size_t i) { return static_cast<std::byte>((i * 7 + i / 251) & 0xff); }

// Sends `total` bytes of the pattern in writes of 1 to 3000 bytes, then shuts down writing.
void c_send_pattern(int fd, std::size_t total) {
    std::vector<std::byte> bytes(total);
    for (std::size_t i = 0; i < total; ++i) {
        bytes[i] = pattern(i);
    }
    std::size_t at = 0;
    for (std::size_t step = 1; at < total; step = step * 13 % 3001 + 1) {
        const std::size_t n = std::min(step, total - at);
        const ssize_t sent = ::send(fd, bytes.data() + at, n, MSG_NOSIGNAL);
        if (sent <= 0) {
            break;
        }
        at += static_cast<std::size_t>(sent);
    }
    ::shutdown(fd, SHUT_WR);
}

// Receives until end of stream; the count of bytes that matched the pattern in order.
std::size_t c_receive_pattern(int fd) {
    std::array<std::byte, 4096> buffer{};
    std::size_t at = 0;
    bool intact = true;
    for (;;) {
        const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got <= 0) {
            return intact ? at : 0;
        }
        for (ssize_t i = 0; i < got; ++i) {
            intact = intact && buffer[static_cast<std::size_t>(i)] ==
                                   pattern(at + static_cast<std::size_t>(i));
        }
        at += static_cast<std::size_t>(got);
    }
}

// Echoes through a reader with a receive buffer smaller than the ring's buffers, so that one ring
// buffer is read in several pieces.
nka::task<std::size_t> echo_through_reader(nk::tcp::socket& sock) {
    nka::stream_reader reader(sock);
    std::array<std::byte, 1000> buffer{};
    std::size_t echoed = 0;
    for (;;) {
        auto got = co_await reader.receive(buffer, 10s);
        if (!got || *got == 0) {
            break;
        }
        auto sent = co_await nka::send_all(sock, std::span(buffer).first(*got), 10s);
        if (!sent) {
            break;
        }
        echoed += *got;
    }
    (void)sock.shutdown(nk::shutdown::write);
    co_return echoed;
}

bool ring_expected(const nka::loop& loop) { return loop.engine() == nka::engine_kind::io_uring; }

// Serves `count` connections at once on `loop` with `echo`, each against C peers that send
// `total` bytes of the pattern and check what comes back (`checked`: the bytes each got back
// intact). Returns what each `echo` returned.
template <class Result>
std::vector<Result> echo_with_c_peers(nka::loop& loop, std::size_t count, std::size_t total,
                                      nka::task<Result> (*echo)(nk::tcp::socket&),
                                      std::vector<std::size_t>& checked) {
    std::vector<std::pair<nk::tcp::socket, nk::tcp::socket>> pairs;
    for (std::size_t i = 0; i < count; ++i) {
        pairs.push_back(nk::test::tcp_pair());
    }
    checked.assign(count, 0);
    std::vector<std::thread> peers;
    for (std::size_t i = 0; i < count; ++i) {
        const int fd = pairs[i].second.native_handle();
        peers.emplace_back([fd, total] { c_send_pattern(fd, total); });
        peers.emplace_back([fd, &checked, i] { checked[i] = c_receive_pattern(fd); });
    }
    std::vector<Result> results(count);
    auto all = [&]() -> nka::task<> {
        nka::scope echoes;
        for (std::size_t i = 0; i < count; ++i) {
            echoes.spawn([](nk::tcp::socket& sock, Result& out,
                            nka::task<Result> (*serve)(nk::tcp::socket&)) -> nka::task<> {
                out = co_await serve(sock);
            }(pairs[i].first, results[i], echo));
        }
        co_await echoes.join();
    };
    loop.run(all());
    for (auto& thread : peers) {
        thread.join();
    }
    return results;
}

// A connected TCP pair (both ends bounded): `served`, the end a stream reader reads, and `peer`,
// the end the test's plain C calls use. Named members, not structured bindings: clang 14 cannot
// capture bindings in a lambda.
struct connection {
    std::pair<nk::tcp::socket, nk::tcp::socket> ends = nk::test::tcp_pair();
    nk::tcp::socket& served = ends.first;
    nk::tcp::socket& peer = ends.second;
};

} // namespace

TEST_CASE("a stream reader echoes 1 MiB written in uneven pieces by a C peer, in order") {
    nka::loop loop;
    constexpr std::size_t total = 1 << 20;
    std::vector<std::size_t> checked;
    const auto echoed = echo_with_c_peers(loop, 1, total, &echo_through_reader, checked);
    CHECK(echoed == std::vector<std::size_t>{total});
    CHECK(checked == std::vector<std::size_t>{total});
    CHECK(loop.receive_buffers_held().first == 0);
}

TEST_CASE("a stream reader takes the ring on io_uring and is a plain receive on epoll") {
    connection sockets;
    nka::loop loop;
    auto check = [&]() -> nka::task<> {
        nka::stream_reader reader(sockets.served);
        CHECK(reader.through_ring() == ring_expected(loop));
        co_return;
    };
    loop.run(check());
    nka::loop without_ring(nka::loop_options{.receive_buffers = 0});
    auto check_plain = [&]() -> nka::task<> {
        nka::stream_reader reader(sockets.served);
        CHECK_FALSE(reader.through_ring());
        co_return;
    };
    without_ring.run(check_plain());
}

TEST_CASE("receive_exact through a stream reader spans ring buffers and reports the end after "
          "the bytes before it") {
    connection sockets;
    nka::loop loop(nka::loop_options{.receive_buffers = 64, .receive_buffer_size = 1024});
    std::thread writer([fd = sockets.peer.native_handle()] { c_send_pattern(fd, 20000); });
    auto read = [&]() -> nka::task<> {
        nka::stream_reader reader(sockets.served);
        std::vector<std::byte> first(16384);
        auto whole = co_await reader.receive_exact(first, 10s);
        REQUIRE(whole);
        CHECK(*whole == 16384);
        bool intact = true;
        for (std::size_t i = 0; i < first.size(); ++i) {
            intact = intact && first[i] == pattern(i);
        }
        CHECK(intact);
        std::vector<std::byte> second(16384);
        auto rest = co_await reader.receive_exact(second, 10s);
        REQUIRE_FALSE(rest);
        CHECK(rest.error().code() == nk::errc::end_of_stream);
        CHECK(rest.error().bytes_transferred() == 20000 - 16384);
        CHECK(second[0] == pattern(16384));
        CHECK(second[20000 - 16384 - 1] == pattern(19999));
        auto again = co_await reader.receive(second, 10s); // the end stays the end
        REQUIRE(again);
        CHECK(*again == 0);
    };
    loop.run(read());
    writer.join();
    CHECK(loop.receive_buffers_held().first == 0);
}

TEST_CASE("a second stream reader of one socket is refused, on either engine") {
    connection sockets;
    nka::loop loop;
    auto twice = [&]() -> nka::task<> {
        nka::stream_reader first(sockets.served);
        nka::stream_reader second(sockets.served);
        std::array<std::byte, 8> buffer{};
        auto refused = co_await second.receive(buffer, 1s);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code() == std::errc::connection_already_in_progress);
        // The first reader still works, and once it is gone another may read.
        REQUIRE(::send(sockets.peer.native_handle(), "ab", 2, MSG_NOSIGNAL) == 2);
        auto got = co_await first.receive_exact(std::span(buffer).first(2), 5s);
        CHECK(got);
    };
    loop.run(twice());
    auto later = [&]() -> nka::task<> {
        nka::stream_reader reader(sockets.served);
        REQUIRE(::send(sockets.peer.native_handle(), "c", 1, MSG_NOSIGNAL) == 1);
        std::array<std::byte, 8> buffer{};
        auto got = co_await reader.receive(buffer, 5s);
        REQUIRE(got);
        CHECK(*got == 1);
        CHECK(buffer[0] == std::byte{'c'});
    };
    loop.run(later());
}

TEST_CASE("a stream reader's receive ends at its deadline, and the next one gets what came "
          "later") {
    connection sockets;
    nka::loop loop;
    auto read = [&]() -> nka::task<> {
        nka::stream_reader reader(sockets.served);
        std::array<std::byte, 8> buffer{};
        auto none = co_await reader.receive(buffer, 20ms);
        REQUIRE_FALSE(none);
        CHECK(none.error().code() == nk::errc::deadline_passed);
        REQUIRE(::send(sockets.peer.native_handle(), "late", 4, MSG_NOSIGNAL) == 4);
        auto got = co_await reader.receive_exact(std::span(buffer).first(4), 5s);
        REQUIRE(got);
        CHECK(std::string_view(reinterpret_cast<const char*>(buffer.data()), 4) == "late");
    };
    loop.run(read());
}

TEST_CASE("closing a socket ends its reader's waiting receive with bad_file_descriptor, and the "
          "ring gets its buffers back") {
    connection sockets;
    nka::loop loop;
    auto read = [&]() -> nka::task<> {
        nka::stream_reader reader(sockets.served);
        REQUIRE(::send(sockets.peer.native_handle(), "unread", 6, MSG_NOSIGNAL) == 6);
        std::array<std::byte, 1> one{};
        auto first = co_await reader.receive(one, 5s); // arms the ring; the rest stays queued
        REQUIRE(first);
        auto closer = [&]() -> nka::task<> {
            (void)nka::loop::current().close(sockets.served);
            co_return;
        };
        nka::loop::current().spawn(closer());
        std::array<std::byte, 64> buffer{};
        auto rest = co_await reader.receive(buffer, 5s); // the queued 5 bytes come first
        CHECK((rest && *rest == 5));
        auto ended = co_await reader.receive(buffer, 5s);
        REQUIRE_FALSE(ended);
        CHECK(ended.error().code() == std::errc::bad_file_descriptor);
    };
    loop.run(read());
    CHECK(loop.receive_buffers_held().first == 0);
}

TEST_CASE("with a ring of two buffers, four readers all receive everything in order") {
    nka::loop loop(nka::loop_options{.receive_buffers = 2, .receive_buffer_size = 512});
    constexpr std::size_t total = 200'000;
    std::vector<std::size_t> checked;
    const auto echoed = echo_with_c_peers(loop, 4, total, &echo_through_reader, checked);
    CHECK(echoed == std::vector<std::size_t>(4, total));
    CHECK(checked == std::vector<std::size_t>(4, total));
    CHECK(loop.receive_buffers_held().first == 0);
}

TEST_CASE("a reader that does not read stops receiving at its limit, then reads all in order") {
    connection sockets;
    nk::test::bound_blocking_calls(sockets.peer.native_handle(), 20s);
    const int small = 16384;
    REQUIRE(::setsockopt(sockets.served.native_handle(), SOL_SOCKET, SO_RCVBUF, &small,
                         sizeof small) == 0);
    REQUIRE(::setsockopt(sockets.peer.native_handle(), SOL_SOCKET, SO_SNDBUF, &small,
                         sizeof small) == 0);
    auto signal = nk::local::stream_socket::pair().value();
    auto& finished = signal.first;
    auto& finishing = signal.second;
    nka::loop loop;
    // 4 MiB is more than the socket buffers and the reader's limit hold together, and less than
    // the ring: the writer can finish before the reader reads only if the limit is not kept.
    constexpr std::size_t total = 4 << 20;
    std::thread writer([fd = sockets.peer.native_handle(), done = finishing.native_handle()] {
        c_send_pattern(fd, total);
        (void)::send(done, "!", 1, MSG_NOSIGNAL);
    });
    auto read = [&]() -> nka::task<> {
        nka::stream_reader reader(sockets.served);
        std::vector<std::byte> buffer(1 << 16);
        auto first = co_await reader.receive(std::span(buffer).first(1), 10s);
        REQUIRE(first);
        // The loop runs for a second while the reader reads nothing (its ring receive goes on).
        auto done = co_await nka::wait_readable(finished, 1s);
        REQUIRE_FALSE(done);
        CHECK(done.error().code() == nk::errc::deadline_passed);
        const std::uint32_t held = nka::loop::current().receive_buffers_held().first;
        // A few completions may come in the batch that reached the limit, before the stop.
        CHECK(held <= nka::detail::receive_queues::buffer_limit + 32);
        std::size_t at = 1;
        bool intact = buffer[0] == pattern(0);
        for (;;) {
            auto got = co_await reader.receive(buffer, 10s);
            if (!got || *got == 0) {
                break;
            }
            for (std::size_t i = 0; i < *got; ++i) {
                intact = intact && buffer[i] == pattern(at + i);
            }
            at += *got;
        }
        CHECK(at == total);
        CHECK(intact);
    };
    loop.run(read());
    writer.join();
    CHECK(loop.receive_buffers_held().first == 0);
}

namespace {

struct view_echo {
    std::size_t echoed = 0;
    std::size_t lent = 0;   // views outside the spare buffer: ring memory
    std::size_t spared = 0; // views inside it
};

// Echoes by sending straight from the views `receive_view` lends.
nka::task<view_echo> echo_through_views(nk::tcp::socket& sock) {
    nka::stream_reader reader(sock);
    std::array<std::byte, 1000> spare{};
    view_echo result;
    for (;;) {
        auto got = co_await reader.receive_view(spare, 10s);
        if (!got || got->empty()) {
            break;
        }
        const bool in_spare =
            got->data() >= spare.data() && got->data() < spare.data() + spare.size();
        ++(in_spare ? result.spared : result.lent);
        auto sent = co_await nka::send_all(sock, *got, 10s);
        if (!sent) {
            break;
        }
        result.echoed += got->size();
    }
    (void)sock.shutdown(nk::shutdown::write);
    co_return result;
}

} // namespace

TEST_CASE("receive_view echoes 1 MiB from a C peer in order, lending ring buffers on io_uring") {
    nka::loop loop;
    constexpr std::size_t total = 1 << 20;
    std::vector<std::size_t> checked;
    const view_echo result = echo_with_c_peers(loop, 1, total, &echo_through_views, checked)[0];
    CHECK(result.echoed == total);
    CHECK(checked == std::vector<std::size_t>{total});
    if (ring_expected(loop)) {
        CHECK(result.lent > 0); // views of ring buffers: sent with no copy made
        CHECK(result.spared == 0);
    } else {
        CHECK(result.lent == 0);
        CHECK(result.spared > 0);
    }
    CHECK(loop.receive_buffers_held().first == 0);
}

TEST_CASE("a lent buffer goes back to the ring at the next receive and when the reader ends") {
    connection sockets;
    auto& served = sockets.served;
    auto& peer = sockets.peer;
    nka::loop loop(nka::loop_options{.receive_buffers = 8, .receive_buffer_size = 4096});
    auto run = [&]() -> nka::task<> {
        std::array<std::byte, 64> spare{};
        {
            nka::stream_reader reader(served);
            REQUIRE(::send(peer.native_handle(), "hello", 5, MSG_NOSIGNAL) == 5);
            auto first = co_await reader.receive_view(spare, 10s);
            REQUIRE(first);
            CHECK(std::string_view(reinterpret_cast<const char*>(first->data()), first->size()) ==
                  "hello");
            const std::uint32_t held_while_lent = loop.receive_buffers_held().first;
            CHECK(held_while_lent == (ring_expected(loop) ? 1U : 0U));
            REQUIRE(::send(peer.native_handle(), "world", 5, MSG_NOSIGNAL) == 5);
            std::array<std::byte, 5> copied{};
            auto second = co_await reader.receive_exact(copied, 10s);
            REQUIRE(second);
            CHECK(std::string_view(reinterpret_cast<const char*>(copied.data()), 5) == "world");
            CHECK(loop.receive_buffers_held().first == 0); // both buffers emptied and returned
            REQUIRE(::send(peer.native_handle(), "again", 5, MSG_NOSIGNAL) == 5);
            auto third = co_await reader.receive_view(spare, 10s);
            REQUIRE(third);
            CHECK(third->size() == 5);
        } // the reader ends with its last view lent
        CHECK(loop.receive_buffers_held().first == 0);
        ::shutdown(peer.native_handle(), SHUT_WR);
        nka::stream_reader after(served);
        auto end = co_await after.receive_view(spare, 10s);
        REQUIRE(end);
        CHECK(end->empty()); // end of stream
    };
    loop.run(run());
    CHECK(loop.receive_buffers_held().first == 0);
}

TEST_CASE("with a ring of one buffer, two view readers fall back to their spares and lose "
          "nothing") {
    nka::loop loop(nka::loop_options{.receive_buffers = 1, .receive_buffer_size = 512});
    constexpr std::size_t total = 200'000;
    std::vector<std::size_t> checked;
    const auto echoed = echo_with_c_peers(loop, 2, total, &echo_through_views, checked);
    CHECK(echoed[0].echoed == total);
    CHECK(echoed[1].echoed == total);
    if (ring_expected(loop)) {
        CHECK(echoed[0].spared + echoed[1].spared > 0); // the ring ran out at least once
    }
    CHECK(checked == std::vector<std::size_t>(2, total));
    CHECK(loop.receive_buffers_held().first == 0);
}
