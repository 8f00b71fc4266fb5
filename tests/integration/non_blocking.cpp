// Sockets opened and accepted non-blocking (SOCK_NONBLOCK, accept4): the mode is set by the call
// that makes the descriptor, and every one-call operation that cannot proceed returns an ordinary
// error value whose would_block() is true, never a wait. The peers are plain C calls where the
// wire matters.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <cstddef>
#include <future>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {
bool has_nonblock_flag(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

nk::ip::endpoint loopback_any() { return nk::ip::endpoint(nk::ip::address_v4::loopback(), 0); }

// A plain C client connected to `port` on 127.0.0.1.
int c_connect(const nk::ip::endpoint& to) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    REQUIRE(::connect(fd, to.data(), to.size()) == 0);
    return fd;
}
} // namespace

TEST_CASE("open with io_mode::non_blocking sets O_NONBLOCK in the same call, the default blocks") {
    auto blocking = nk::tcp::socket::open(nk::ip::v4).value();
    REQUIRE_FALSE(has_nonblock_flag(blocking.native_handle()));
    REQUIRE_FALSE(blocking.non_blocking().value());

    auto tcp = nk::tcp::socket::open(nk::ip::v6, nk::io_mode::non_blocking).value();
    REQUIRE(has_nonblock_flag(tcp.native_handle()));
    REQUIRE(tcp.non_blocking().value());

    auto udp = nk::udp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    REQUIRE(udp.non_blocking().value());
    auto local = nk::local::datagram_socket::open(nk::io_mode::non_blocking).value();
    REQUIRE(local.non_blocking().value());

    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    REQUIRE(a.non_blocking().value());
    REQUIRE(b.non_blocking().value());

    auto acceptor = nk::tcp::acceptor::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    REQUIRE(acceptor.non_blocking().value());
    auto local_acceptor = nk::local::stream_acceptor::open(nk::io_mode::non_blocking).value();
    REQUIRE(local_acceptor.non_blocking().value());
}

TEST_CASE("a non-blocking acceptor: accept with nothing queued is would_block, then accept4 "
          "hands out non-blocking sockets only when asked") {
    nk::listen_options options;
    options.mode = nk::io_mode::non_blocking;
    auto acceptor = nk::tcp::acceptor::listen(loopback_any(), options).value();
    REQUIRE(acceptor.non_blocking().value());

    auto nothing = acceptor.accept();
    REQUIRE_FALSE(nothing);
    REQUIRE(nothing.error().would_block());
    REQUIRE(nothing.error() == std::errc::operation_would_block);
    REQUIRE(std::string_view(nothing.error().operation()) == "accept");

    const auto where = acceptor.local_endpoint().value();
    const int first = c_connect(where);
    const int second = c_connect(where);
    REQUIRE(nk::detail::poll_one(acceptor.native_handle(), POLLIN, 10s).value() != 0);

    auto plain = acceptor.accept().value();
    REQUIRE_FALSE(has_nonblock_flag(plain.socket.native_handle()));
    // The second connection may still be on its way into the queue: wait for it without netkit.
    REQUIRE(nk::detail::poll_one(acceptor.native_handle(), POLLIN, 10s).value() != 0);
    auto fast = acceptor.accept(nk::io_mode::non_blocking).value();
    REQUIRE(has_nonblock_flag(fast.socket.native_handle()));
    REQUIRE(fast.peer.port() != 0);
    ::close(first);
    ::close(second);
}

TEST_CASE("accept with a deadline and io_mode::non_blocking returns a non-blocking socket") {
    auto acceptor = nk::tcp::acceptor::listen(loopback_any()).value();
    const int client = c_connect(acceptor.local_endpoint().value());
    auto got = acceptor.accept(10s, nk::io_mode::non_blocking).value();
    REQUIRE(got.socket.non_blocking().value());
    auto none = acceptor.accept(nk::deadline(0s), nk::io_mode::non_blocking);
    REQUIRE_FALSE(none);
    REQUIRE(none.error() == std::errc::timed_out);
    ::close(client);
}

TEST_CASE("every one-call operation on a non-blocking stream returns would_block as a value") {
    auto acceptor = nk::tcp::acceptor::listen(loopback_any()).value();
    const int peer = c_connect(acceptor.local_endpoint().value());
    auto sock = acceptor.accept(nk::io_mode::non_blocking).value().socket;

    std::array<char, 16> buffer{};
    auto nothing = sock.receive(buffer);
    REQUIRE_FALSE(nothing);
    REQUIRE(nothing.error().would_block());
    REQUIRE(nothing.error() == std::errc::resource_unavailable_try_again);

    std::array<nk::mutable_buffer, 2> scatter{nk::buffer(buffer.data(), 8),
                                              nk::buffer(buffer.data() + 8, 8)};
    auto nothing_scattered = sock.receive(scatter);
    REQUIRE_FALSE(nothing_scattered);
    REQUIRE(nothing_scattered.error().would_block());
    auto nothing_message = sock.receive_message(buffer);
    REQUIRE_FALSE(nothing_message);
    REQUIRE(nothing_message.error().would_block());

    // A peer (plain C) that never reads: fill the socket until send refuses.
    sock.set(nk::so::send_buffer_size, 4096).value();
    const std::vector<std::byte> chunk(65536, std::byte{'x'});
    std::size_t sent = 0;
    nk::result<std::size_t> last = std::size_t{0};
    for (int i = 0; i < 10000 && last; ++i) {
        last = sock.send(chunk);
        if (last) {
            sent += *last;
        }
    }
    REQUIRE_FALSE(last);
    REQUIRE(last.error().would_block());
    REQUIRE(sent > 0);
    const std::array<nk::const_buffer, 2> gather{nk::buffer(chunk), nk::buffer(chunk)};
    auto gathered = sock.send(gather);
    REQUIRE_FALSE(gathered);
    REQUIRE(gathered.error().would_block());

    // The bytes that did go arrive in full at the plain peer.
    std::size_t received = 0;
    std::array<char, 65536> sink{};
    while (received < sent) {
        const ssize_t got = ::recv(peer, sink.data(), sink.size(), 0);
        REQUIRE(got > 0);
        received += static_cast<std::size_t>(got);
    }
    REQUIRE(received == sent);
    ::close(peer);
}

TEST_CASE("a non-blocking datagram socket: receive and receive_from are would_block when empty") {
    auto a = nk::udp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    a.bind(loopback_any()).value();
    std::array<char, 16> buffer{};
    auto nothing = a.receive_from(buffer);
    REQUIRE_FALSE(nothing);
    REQUIRE(nothing.error().would_block());
    auto nothing_plain = a.receive(buffer);
    REQUIRE_FALSE(nothing_plain);
    REQUIRE(nothing_plain.error().would_block());

    // A plain C sender: the datagram is there at the next call, no wait needed.
    const int sender = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(sender >= 0);
    const auto to = a.local_endpoint().value();
    REQUIRE(::sendto(sender, "hi", 2, 0, to.data(), to.size()) == 2);
    REQUIRE(nk::detail::poll_one(a.native_handle(), POLLIN, 10s).value() != 0);
    auto got = a.receive_from(buffer).value();
    REQUIRE(got.size == 2);
    REQUIRE(got.sender.has_value());
    ::close(sender);
}

TEST_CASE("connect_to on a non-blocking socket is operation_in_progress, then completes") {
    auto acceptor = nk::tcp::acceptor::listen(loopback_any()).value();
    auto sock = nk::tcp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    auto started = sock.connect_to(acceptor.local_endpoint().value());
    // Loopback may finish the handshake at once; otherwise the connection is in progress.
    if (!started) {
        REQUIRE(started.error() == std::errc::operation_in_progress);
        REQUIRE(nk::detail::poll_one(sock.native_handle(), POLLOUT, 10s).value() != 0);
        REQUIRE(sock.get(nk::so::error).value() == 0);
    }
    auto [server, peer] = acceptor.accept(10s).value();
    REQUIRE(sock.send("x"sv).value() == 1);
    char c = 0;
    REQUIRE(::recv(server.native_handle(), &c, 1, 0) == 1);
    REQUIRE(c == 'x');
    (void)peer;
}

TEST_CASE("send_all and receive_exact on a non-blocking socket still finish, waiting for "
          "readiness between steps") {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    auto ends = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    auto& a = ends.first;
    auto& b = ends.second;
    const std::vector<std::byte> data(1U << 20U, std::byte{7});
    std::vector<std::byte> in(data.size());
    auto reader =
        std::async(std::launch::async, [&b, &in] { return b.receive_exact(in, {}, 10s); });
    REQUIRE(a.send_all(data, {}, nk::deadline(10s)).value() == data.size());
    REQUIRE(reader.get().value() == data.size());
    REQUIRE(in == data);
}
