// Resumable transfers driven one step per readiness event, as a poller would, against peers
// written with the plain C API (so that a fault shared by netkit's two ends cannot hide).
#include <netkit/io/resumable.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/netkit.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <future>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {
std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<std::byte>((i * 131U + seed) & 0xffU);
    }
    return bytes;
}

// Reads with plain recv(2) until end of stream.
std::vector<std::byte> read_all(int fd) {
    std::vector<std::byte> out;
    std::array<std::byte, 65536> chunk{};
    for (;;) {
        const ssize_t got = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (got <= 0) {
            return out;
        }
        out.insert(out.end(), chunk.begin(), chunk.begin() + got);
    }
}
} // namespace

TEST_CASE("resumable_send: stepped on writability, three buffers of 4 MiB reach a plain recv "
          "peer whole and in order") {
    auto [client, server] = nk::test::tcp_pair();
    const auto a = pattern(4U << 20U, 1);
    const auto b = pattern(4U << 20U, 2);
    const auto c = pattern(4U << 20U, 3);
    const std::array<iovec, 3> buffers{nk::detail::to_iovec(nk::buffer(a)),
                                       nk::detail::to_iovec(nk::buffer(b)),
                                       nk::detail::to_iovec(nk::buffer(c))};
    auto reading =
        std::async(std::launch::async, [fd = server.native_handle()] { return read_all(fd); });

    nk::resumable_send out(buffers);
    std::size_t would_block = 0;
    std::size_t steps = 0;
    while (!out.done()) {
        REQUIRE(++steps < 1'000'000);
        auto step = out.step(client);
        if (!step) {
            REQUIRE(step.error().would_block());
            REQUIRE(step.error().bytes_transferred() == out.bytes_transferred());
            ++would_block;
            REQUIRE(nk::detail::poll_one(client.native_handle(), POLLOUT, 10s).value() != 0);
        }
    }
    REQUIRE(out.bytes_transferred() == a.size() + b.size() + c.size());
    REQUIRE(out.step(client).value()); // a finished operation stays finished
    REQUIRE(client.shutdown(nk::shutdown::write).has_value());

    std::vector<std::byte> expected(a);
    expected.insert(expected.end(), b.begin(), b.end());
    expected.insert(expected.end(), c.begin(), c.end());
    REQUIRE(reading.get() == expected);
    // 12 MiB cannot fit loopback's buffers, so the socket really was full in between (the step
    // never blocked: the client socket is blocking, and bounded, all along).
    REQUIRE(would_block > 0);
}

TEST_CASE("resumable_receive: stepped on readability, fills its buffers from a plain send peer") {
    auto [client, server] = nk::test::tcp_pair();
    const auto payload = pattern(3U << 20U, 7);
    auto sending = std::async(std::launch::async, [fd = client.native_handle(), &payload] {
        std::size_t sent = 0;
        while (sent < payload.size()) {
            // Small writes, so that the receiver sees many short reads.
            const std::size_t piece = std::min<std::size_t>(payload.size() - sent, 1000);
            const ssize_t n = ::send(fd, payload.data() + sent, piece, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            sent += static_cast<std::size_t>(n);
        }
        return true;
    });

    std::vector<std::byte> first(1U << 20U);
    std::vector<std::byte> second(payload.size() - first.size());
    const std::array<iovec, 2> buffers{nk::detail::to_iovec(nk::buffer(first)),
                                       nk::detail::to_iovec(nk::buffer(second))};
    nk::resumable_receive in(buffers);
    std::size_t steps = 0;
    while (!in.done()) {
        REQUIRE(++steps < 10'000'000);
        auto step = in.step(server);
        if (!step) {
            REQUIRE(step.error().would_block());
            REQUIRE(nk::detail::poll_one(server.native_handle(), POLLIN, 10s).value() != 0);
        }
    }
    REQUIRE(sending.get());
    first.insert(first.end(), second.begin(), second.end());
    REQUIRE(first == payload);
}

TEST_CASE("resumable_receive: end of stream before the buffers are full is end_of_stream with "
          "the count") {
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(::send(client.native_handle(), "abc", 3, MSG_NOSIGNAL) == 3);
    REQUIRE(client.shutdown(nk::shutdown::write).has_value());

    std::array<char, 8> buffer{};
    const std::array<iovec, 1> buffers{nk::detail::to_iovec(nk::buffer(buffer))};
    nk::resumable_receive in(buffers);
    for (int steps = 0; steps < 1000; ++steps) {
        auto step = in.step(server);
        if (step) {
            REQUIRE_FALSE(*step);
            continue;
        }
        if (step.error().would_block()) {
            REQUIRE(nk::detail::poll_one(server.native_handle(), POLLIN, 10s).value() != 0);
            continue;
        }
        REQUIRE(step.error() == nk::errc::end_of_stream);
        REQUIRE(step.error().bytes_transferred() == 3);
        REQUIRE(std::string(buffer.data(), 3) == "abc");
        return;
    }
    FAIL("end of stream was never reported");
}

TEST_CASE("resumable_receive refuses peek, which would copy the same bytes twice") {
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(::send(client.native_handle(), "abcd", 4, MSG_NOSIGNAL) == 4);
    REQUIRE(nk::detail::poll_one(server.native_handle(), POLLIN, 10s).value() != 0);

    std::array<char, 8> buffer{};
    const std::array<iovec, 1> buffers{nk::detail::to_iovec(nk::buffer(buffer))};
    nk::resumable_receive in(buffers);
    // A peek takes nothing from the stream: a second step would copy "abcd" again after it.
    auto peeked = in.step(server, nk::receive_flag::peek);
    REQUIRE_FALSE(peeked);
    REQUIRE(peeked.error() == std::errc::invalid_argument);
    REQUIRE(peeked.error().message() == "resumable_receive with peek: Invalid argument");
    REQUIRE(peeked.error().bytes_transferred() == 0);
    REQUIRE(in.bytes_transferred() == 0);

    // Nothing was taken or written: the same operation goes on without peek.
    REQUIRE(::send(client.native_handle(), "efgh", 4, MSG_NOSIGNAL) == 4);
    for (int steps = 0; !in.done(); ++steps) {
        REQUIRE(steps < 1000);
        auto step = in.step(server);
        if (!step) {
            REQUIRE(step.error().would_block());
            REQUIRE(nk::detail::poll_one(server.native_handle(), POLLIN, 10s).value() != 0);
        }
    }
    REQUIRE(std::string(buffer.data(), buffer.size()) == "abcdefgh");
}
