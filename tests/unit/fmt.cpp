#include <netkit/fmt.hpp>

#include "support/catch.hpp"

#include <system_error>

namespace nk = netkit;

TEST_CASE("addresses and endpoints format as their text") {
    REQUIRE(fmt::format("{}", nk::ip::address_v4::loopback()) == "127.0.0.1");
    REQUIRE(fmt::format("{}", nk::ip::address_v6::loopback()) == "::1");
    REQUIRE(fmt::format("{}", nk::ip::address(nk::ip::address_v4(0x0a000001U))) == "10.0.0.1");
    REQUIRE(fmt::format("{}", nk::ip::endpoint::parse("[::1]:80").value()) == "[::1]:80");
    REQUIRE(fmt::format("{}", nk::local::endpoint::abstract("svc").value()) == "@svc");
    REQUIRE(fmt::format("{:>12}|", nk::ip::endpoint::parse("1.2.3.4:5").value()) ==
            "   1.2.3.4:5|");
}

TEST_CASE("errors format as their message") {
    const nk::error e(std::make_error_code(std::errc::connection_refused), "connect");
    REQUIRE(fmt::format("{}", e) == "connect: Connection refused");
}
