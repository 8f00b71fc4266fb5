// The leak check's own test: a hidden test case that leaks a socket on purpose. ctest runs it
// through support/expect_leak.cmake, which passes only if the runner names the leak and exits
// non-zero -- proof that a real leak in any other test case would fail it.

#include <netkit/netkit.hpp>

#include "support/catch.hpp"

TEST_CASE("a socket left open on purpose", "[.leak_canary]") {
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
    REQUIRE(sock.release() >= 0); // released, so nothing will ever close it
}
