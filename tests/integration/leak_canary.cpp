// The descriptor check's own tests: hidden test cases that leak a socket, or close a descriptor
// they did not open, on purpose. ctest runs each through support/expect_leak.cmake, which passes
// only if the runner names the problem and exits non-zero -- proof that the same mistake in any
// other test case would fail it.

#include <netkit/netkit.hpp>

#include "support/catch.hpp"

#include <unistd.h>

namespace {
// Open before any test case starts, as a descriptor owned by someone else would be.
const int opened_before_the_test = ::dup(STDERR_FILENO);
} // namespace

TEST_CASE("a socket left open on purpose", "[.leak_canary]") {
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
    REQUIRE(sock.release() >= 0); // released, so nothing will ever close it
}

TEST_CASE("a descriptor opened before the test case is closed by it", "[.close_canary]") {
    REQUIRE(opened_before_the_test >= 0);
    REQUIRE(::close(opened_before_the_test) == 0);
}
