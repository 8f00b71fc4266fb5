// close vs shutdown, as the POSIX books teach it: close ends one descriptor, shutdown ends the
// connection for every descriptor that refers to it.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <string_view>

#include <sys/wait.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::string_view_literals;

namespace {
bool peer_sees_nothing_yet(nk::tcp::socket& peer) {
    std::array<char, 16> buf{};
    auto got = peer.receive(buf, nk::receive_flag::dont_wait);
    return !got && got.error().would_block();
}
} // namespace

TEST_CASE("closing one duplicate does not end the connection") {
    auto [client, server] = nk::test::tcp_pair();
    auto copy = client.duplicate().value();
    REQUIRE(client.close().has_value());
    REQUIRE_FALSE(client.is_open());

    REQUIRE(peer_sees_nothing_yet(server)); // no EOF: the connection lives on in `copy`
    REQUIRE(copy.send_all("still here"sv).value() == 10);
    std::array<char, 10> buf{};
    REQUIRE(server.receive_exact(buf).value() == 10);
    REQUIRE(std::string_view(buf.data(), buf.size()) == "still here");
}

TEST_CASE("shutdown(write) sends end-of-stream at once, although another descriptor remains") {
    auto [client, server] = nk::test::tcp_pair();
    auto copy = client.duplicate().value();
    REQUIRE(client.send_all("last words"sv).value() == 10);
    REQUIRE(client.shutdown(nk::shutdown::write).has_value());

    std::array<char, 10> buf{};
    REQUIRE(server.receive_exact(buf).value() == 10);
    std::array<char, 4> more{};
    REQUIRE(server.receive(more).value() == 0); // end of stream, with `copy` still open
    REQUIRE(copy.is_open());

    // The other direction still works: shutdown(write) is a half-close.
    REQUIRE(server.send_all("reply"sv).value() == 5);
    std::array<char, 5> reply{};
    REQUIRE(copy.receive_exact(reply).value() == 5);

    // The shut-down side can no longer send, from either descriptor.
    auto after = copy.send("x"sv);
    REQUIRE_FALSE(after);
    REQUIRE(after.error() == std::errc::broken_pipe);
}

TEST_CASE("after shutdown(read) receive returns 0") {
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(server.shutdown(nk::shutdown::read).has_value());
    std::array<char, 8> buf{};
    REQUIRE(server.receive(buf).value() == 0);
}

TEST_CASE("shutdown(both) ends both directions") {
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(client.shutdown(nk::shutdown::both).has_value());
    std::array<char, 8> buf{};
    REQUIRE(server.receive(buf).value() == 0);
    REQUIRE(client.receive(buf).value() == 0);
    REQUIRE(client.send("x"sv).error() == std::errc::broken_pipe);
}

TEST_CASE("a forked child closing its copy does not end the parent's connection") {
    auto [client, server] = nk::test::tcp_pair();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child's copies close; only exit status speaks for it.
        const bool closed = client.close().has_value() && server.close().has_value();
        ::_exit(closed ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    REQUIRE(peer_sees_nothing_yet(server));
    REQUIRE(client.send_all("after fork"sv).value() == 10);
    std::array<char, 10> buf{};
    REQUIRE(server.receive_exact(buf).value() == 10);
    REQUIRE(std::string_view(buf.data(), buf.size()) == "after fork");
}

TEST_CASE("close reports errors and is idempotent") {
    auto [client, server] = nk::test::tcp_pair();
    REQUIRE(client.close().has_value());
    REQUIRE(client.close().has_value()); // nothing owned: nothing to close, no double close
    nk::file_descriptor bogus(::dup(server.native_handle()));
    const int raw = bogus.get();
    REQUIRE(::close(raw) == 0); // someone else closed it behind our back
    auto closed = bogus.close();
    REQUIRE_FALSE(closed);
    REQUIRE(closed.error() == std::errc::bad_file_descriptor);
}
