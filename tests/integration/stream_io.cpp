// Stream I/O with typed flags, send_all/receive_exact, and the peer-closed cases.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <chrono>
#include <future>
#include <numeric>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::string_view_literals;

TEST_CASE("peek leaves the data in the queue") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE(client.send_all("abcdef"sv).value() == 6);
    std::array<char, 6> peeked{};
    REQUIRE(server.receive(peeked, nk::receive_flag::peek | nk::receive_flag::wait_all).value() ==
            6);
    REQUIRE(std::string_view(peeked.data(), 6) == "abcdef");
    std::array<char, 6> taken{};
    REQUIRE(server.receive_exact(taken).value() == 6);
    REQUIRE(std::string_view(taken.data(), 6) == "abcdef");
}

TEST_CASE("receive_exact refuses peek, which would copy the same bytes twice") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE(client.send_all("abc"sv).value() == 3);
    std::array<char, 6> buffer{};
    auto peeked = server.receive_exact(buffer, nk::receive_flag::peek);
    REQUIRE_FALSE(peeked);
    REQUIRE(peeked.error() == std::errc::invalid_argument);
    REQUIRE(peeked.error().message() == "receive_exact with peek: Invalid argument");
    // Nothing was consumed.
    std::array<char, 3> taken{};
    REQUIRE(server.receive_exact(taken).value() == 3);
    REQUIRE(std::string_view(taken.data(), 3) == "abc");
}

TEST_CASE("wait_all returns the full count across several sends") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    // The first piece is queued before the receive starts, and the rest is sent only once the
    // receiver is blocked in recv(2): without MSG_WAITALL that call would return 10 bytes.
    REQUIRE(client.send_all("0123456789"sv).value() == 10);
    REQUIRE(
        nk::detail::poll_one(server.native_handle(), POLLIN, std::chrono::seconds(10)).value() !=
        0);
    const pid_t receiver = nk::test::thread_id();
    auto writer = std::async(std::launch::async, [&client, receiver] {
        if (!nk::test::wait_until_blocked_in(receiver, SYS_recvfrom)) {
            return false;
        }
        bool sent = true;
        for (const auto piece : {"abcdefghij"sv, "ABCDEFGHIJ"sv, "9876543210"sv}) {
            sent = sent && client.send_all(piece).has_value();
        }
        return sent;
    });
    std::array<char, 40> buf{};
    auto got = server.receive(buf, nk::receive_flag::wait_all);
    REQUIRE(writer.get());
    REQUIRE(got.value() == 40);
    REQUIRE(std::string_view(buf.data(), buf.size()) == "0123456789abcdefghijABCDEFGHIJ9876543210");
}

TEST_CASE("dont_wait on an empty socket is a would_block error value, not an exception") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::array<char, 8> buf{};
    auto got = server.receive(buf, nk::receive_flag::dont_wait);
    REQUIRE_FALSE(got);
    REQUIRE(got.error().would_block());
    REQUIRE(got.error() == std::errc::operation_would_block);
}

TEST_CASE("an expired receive timeout is would_block on a blocking socket, with the count") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    using namespace std::chrono_literals;
    REQUIRE(server.set(nk::so::receive_timeout, 20ms).has_value());
    std::array<char, 8> buf{};
    auto nothing = server.receive(buf);
    REQUIRE_FALSE(nothing);
    REQUIRE(nothing.error().would_block());

    // receive_exact gives up on the timeout too, saying what it had.
    REQUIRE(client.send_all("abc"sv).value() == 3);
    auto partial = server.receive_exact(buf);
    REQUIRE_FALSE(partial);
    REQUIRE(partial.error().would_block());
    REQUIRE(partial.error().bytes_transferred() == 3);
    REQUIRE(std::string_view(buf.data(), 3) == "abc");
}

TEST_CASE("non-blocking mode turns waiting into would_block") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE_FALSE(server.non_blocking().value());
    REQUIRE(server.set_non_blocking(true).has_value());
    REQUIRE(server.non_blocking().value());
    std::array<char, 8> buf{};
    REQUIRE(server.receive(buf).error().would_block());
}

TEST_CASE("out-of-band byte round trip") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE(client.send_all("normal"sv).value() == 6);
    REQUIRE(client.send("!"sv, nk::send_flag::out_of_band).value() == 1);
    // Urgent data is signalled as POLLPRI; wait for it (bounded) before reading it.
    auto ready = nk::detail::poll_one(server.native_handle(), POLLPRI, std::chrono::seconds(5));
    REQUIRE(ready.value() & POLLPRI);
    std::array<char, 1> urgent{};
    REQUIRE(server.receive(urgent, nk::receive_flag::out_of_band).value() == 1);
    REQUIRE(urgent[0] == '!');
    std::array<char, 6> rest{};
    REQUIRE(server.receive_exact(rest).value() == 6);
    REQUIRE(std::string_view(rest.data(), 6) == "normal");
}

TEST_CASE("send with more coalesces, and the data arrives whole") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE(client.send("head-"sv, nk::send_flag::more).value() == 5);
    REQUIRE(client.send("tail"sv).value() == 4);
    std::array<char, 9> buf{};
    REQUIRE(server.receive_exact(buf).value() == 9);
    REQUIRE(std::string_view(buf.data(), 9) == "head-tail");
}

TEST_CASE("flags combine and stay typed") {
    constexpr auto both = nk::receive_flag::peek | nk::receive_flag::dont_wait;
    STATIC_REQUIRE(both.bits() == (MSG_PEEK | MSG_DONTWAIT));
    STATIC_REQUIRE(both.contains(nk::receive_flag::peek));
    STATIC_REQUIRE_FALSE(both.contains(nk::receive_flag::wait_all));
    STATIC_REQUIRE_FALSE(std::is_convertible_v<nk::receive_flags, nk::send_flags>);
    // Raw bits only through the named escape hatch: send_flags{MSG_PEEK} does not compile.
    STATIC_REQUIRE_FALSE(std::is_constructible_v<nk::send_flags, int>);
    STATIC_REQUIRE_FALSE(std::is_constructible_v<nk::receive_flags, int>);
    STATIC_REQUIRE(nk::send_flags::from_native(MSG_MORE) == nk::send_flag::more);
}

TEST_CASE("send_all and receive_exact move a large buffer whole") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::vector<std::uint32_t> out(1 << 20);
    std::iota(out.begin(), out.end(), 7U);
    std::vector<std::uint32_t> in(out.size());
    // Catch2 assertions are not thread-safe: the writer hands its result back to this thread.
    auto writer = std::async(std::launch::async, [&] { return client.send_all(out); });
    REQUIRE(server.receive_exact(in).value() == in.size() * 4);
    REQUIRE(writer.get().value() == out.size() * 4);
    REQUIRE(in == out);
}

TEST_CASE("receive_exact reports end of stream and how much arrived") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE(client.send_all("abc"sv).value() == 3);
    REQUIRE(client.shutdown(nk::shutdown::write).has_value());
    std::array<char, 10> buf{};
    auto got = server.receive_exact(buf);
    REQUIRE_FALSE(got);
    REQUIRE(got.error().code() == nk::errc::end_of_stream);
    REQUIRE(got.error().bytes_transferred() == 3);
    REQUIRE(std::string_view(buf.data(), 3) == "abc");
}

TEST_CASE("writing after the peer has closed is EPIPE or ECONNRESET, and no SIGPIPE kills us") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE(server.close().has_value());
    const std::string chunk(4096, 'x');
    nk::error last;
    bool failed = false;
    // The first send may still succeed (the RST has not come back yet); a bounded loop then fails.
    for (int i = 0; i < 1000 && !failed; ++i) {
        auto sent = client.send(chunk);
        if (!sent) {
            last = sent.error();
            failed = true;
        }
    }
    REQUIRE(failed);
    const bool expected = last == std::errc::broken_pipe || last == std::errc::connection_reset;
    REQUIRE(expected);
    REQUIRE(client.close().has_value());
}

TEST_CASE("endpoints of a connection") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    REQUIRE(client.remote_endpoint().value() == server.local_endpoint().value());
    REQUIRE(server.remote_endpoint().value() == client.local_endpoint().value());
    REQUIRE(client.local_endpoint().value().address() ==
            nk::ip::address(nk::ip::address_v4::loopback()));
}

TEST_CASE("connect failure names the operation and the endpoint") {
    // Bind a port and do not listen on it: nothing accepts there.
    auto holder = nk::tcp::socket::open(nk::ip::v4).value();
    REQUIRE(holder.bind(nk::ip::endpoint::parse("127.0.0.1:0").value()).has_value());
    const auto target = holder.local_endpoint().value();
    auto refused = nk::tcp::socket::connect(target);
    REQUIRE_FALSE(refused);
    REQUIRE(refused.error() == std::errc::connection_refused);
    REQUIRE(refused.error().message() == "connect " + target.to_string() + ": Connection refused");
    REQUIRE_THROWS_WITH(refused.value(), "connect " + target.to_string() + ": Connection refused");
}

TEST_CASE("bind to an address in use names the endpoint") {
    auto first = nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value(),
                                           {.reuse_address = false})
                     .value();
    const auto taken = first.local_endpoint().value();
    auto second = nk::tcp::acceptor::listen(taken, {.reuse_address = false});
    REQUIRE_FALSE(second);
    REQUIRE(second.error() == std::errc::address_in_use);
    REQUIRE(second.error().message().find("bind " + taken.to_string()) == 0);
}

TEST_CASE("IPv6 loopback") {
    auto acceptor = nk::tcp::acceptor::listen(nk::ip::endpoint::parse("[::1]:0").value());
    if (!acceptor) {
        WARN("no IPv6 loopback here: " << acceptor.error().message());
        return;
    }
    auto client = nk::tcp::socket::connect(acceptor->local_endpoint().value()).value();
    auto [server, peer] = acceptor->accept().value();
    REQUIRE(peer.family() == nk::ip::v6);
    REQUIRE(peer.address().is_loopback());
    REQUIRE(client.send_all("v6"sv).value() == 2);
    std::array<char, 2> buf{};
    REQUIRE(server.receive_exact(buf).value() == 2);
    REQUIRE(std::string_view(buf.data(), 2) == "v6");
}

TEST_CASE("an acceptor set up step by step: open, an option before bind, bind, listen_now") {
    auto first = nk::tcp::acceptor::open(nk::ip::v4).value();
    REQUIRE(first.set(nk::so::reuse_port, true).has_value());
    REQUIRE(first.bind(nk::ip::endpoint::parse("127.0.0.1:0").value()).has_value());
    REQUIRE_FALSE(first.get(nk::so::accepting_connections).value());
    REQUIRE(first.listen_now(8).has_value());
    REQUIRE(first.get(nk::so::accepting_connections).value());
    const auto where = first.local_endpoint().value();

    // The option had to be set before bind to matter: a second acceptor shares the port only
    // if it sets SO_REUSEPORT too.
    auto without = nk::tcp::acceptor::open(nk::ip::v4).value();
    auto refused = without.bind(where);
    REQUIRE_FALSE(refused);
    REQUIRE(refused.error() == std::errc::address_in_use);
    auto second = nk::tcp::acceptor::open(nk::ip::v4).value();
    REQUIRE(second.set(nk::so::reuse_port, true).has_value());
    REQUIRE(second.bind(where).has_value());
    REQUIRE(second.listen_now().has_value());
    REQUIRE(second.local_endpoint().value() == where);
}

TEST_CASE("a Unix acceptor set up step by step accepts and carries data") {
    const auto where =
        nk::local::endpoint::abstract("netkit-test-step-by-step-" + std::to_string(::getpid()))
            .value();
    auto acceptor = nk::local::stream_acceptor::open().value();
    REQUIRE(acceptor.bind(where).has_value());
    REQUIRE(acceptor.listen_now().has_value());
    auto client = nk::test::bounded(nk::local::stream_socket::connect(where).value());
    auto [server, peer] = acceptor.accept().value();
    REQUIRE(peer.is_unnamed());
    REQUIRE(client.send_all("step"sv).value() == 4);
    std::array<char, 4> buf{};
    auto bounded_server = nk::test::bounded(std::move(server));
    REQUIRE(bounded_server.receive_exact(buf).value() == 4);
    REQUIRE(std::string_view(buf.data(), 4) == "step");
}
