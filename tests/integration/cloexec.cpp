// Every descriptor netkit creates is close-on-exec, so no socket leaks into a child program.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <fcntl.h>

namespace nk = netkit;

namespace {
bool close_on_exec(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC) != 0;
}
} // namespace

TEST_CASE("sockets, acceptors, accepted sockets, socketpairs and duplicates are CLOEXEC") {
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value()).value();
    CHECK(close_on_exec(acceptor.native_handle()));
    auto client = nk::tcp::socket::connect(acceptor.local_endpoint().value()).value();
    CHECK(close_on_exec(client.native_handle()));
    auto [server, peer] = acceptor.accept().value();
    CHECK(close_on_exec(server.native_handle()));
    auto copy = server.duplicate().value();
    CHECK(close_on_exec(copy.native_handle()));

    auto udp = nk::udp::socket::open(nk::ip::v4).value();
    CHECK(close_on_exec(udp.native_handle()));
    auto [a, b] = nk::local::datagram_socket::pair().value();
    CHECK(close_on_exec(a.native_handle()));
    CHECK(close_on_exec(b.native_handle()));
    auto local = nk::local::stream_socket::open().value();
    CHECK(close_on_exec(local.native_handle()));
}

TEST_CASE("release hands the descriptor over without closing it") {
    auto sock = nk::udp::socket::open(nk::ip::v4).value();
    const int fd = sock.release();
    REQUIRE_FALSE(sock.is_open());
    REQUIRE(::fcntl(fd, F_GETFD) >= 0); // still open: ours now
    nk::udp::socket adopted{nk::file_descriptor(fd)};
    REQUIRE(adopted.native_handle() == fd);
    REQUIRE(adopted.local_endpoint().has_value());
}
