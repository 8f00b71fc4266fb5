#include <netkit/addr/resolve.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <netdb.h>
#include <netinet/in.h>

namespace nk = netkit;

// Name resolution without a network: numeric hosts, the hosts file, the services database where
// the machine has one, and a name in the reserved .invalid domain, which can never resolve.

TEST_CASE("a numeric host resolves without DNS") {
    nk::resolve_hints hints;
    hints.numeric_host = true;
    hints.numeric_service = true;
    auto found = nk::resolve("127.0.0.1", "8080", hints).value();
    REQUIRE(found.size() == 1);
    REQUIRE(found.front() == nk::ip::endpoint::parse("127.0.0.1:8080").value());
    auto v6 = nk::resolve("::1", "80", hints).value();
    REQUIRE(v6.front().family() == nk::ip::v6);
}

TEST_CASE("localhost resolves to a loopback address") {
    auto found = nk::resolve("localhost", "80");
    REQUIRE(found.has_value());
    REQUIRE_FALSE(found->empty());
    REQUIRE(std::all_of(found->begin(), found->end(),
                        [](const auto& e) { return e.address().is_loopback(); }));
    nk::resolve_hints only_v4;
    only_v4.family = nk::ip::v4;
    auto v4 = nk::resolve("localhost", "80", only_v4).value();
    REQUIRE(
        std::all_of(v4.begin(), v4.end(), [](const auto& e) { return e.family() == nk::ip::v4; }));
}

TEST_CASE("a service name is looked up in the services database, or is a clear error") {
    // The database is /etc/services (Debian's netbase, in scripts/packages.sh's test list); a
    // minimal machine has none, and then the name is refused. getservbyname_r says which
    // machine this is, so the test checks the one outcome that is right here.
    servent entry{};
    servent* known = nullptr;
    std::array<char, 1024> scratch{};
    ::getservbyname_r("http", "tcp", &entry, scratch.data(), scratch.size(), &known);

    nk::resolve_hints hints;
    hints.numeric_host = true;
    auto found = nk::resolve("127.0.0.1", "http", hints);
    if (known != nullptr) {
        REQUIRE(found);
        REQUIRE(found->front().port() == ntohs(static_cast<std::uint16_t>(known->s_port)));
    } else {
        REQUIRE(found.error().code() == nk::resolve_errc::service);
        REQUIRE(found.error().message() ==
                R"(resolve "127.0.0.1":http: )" +
                    nk::make_error_code(nk::resolve_errc::service).message());
    }
}

TEST_CASE("failures carry getaddrinfo's own codes and messages") {
    nk::resolve_hints hints;
    hints.numeric_host = true;
    auto bad = nk::resolve("not-an-address", "80", hints);
    REQUIRE_FALSE(bad);
    REQUIRE(bad.error().code() == nk::resolve_errc::no_name);
    REQUIRE(bad.error().message() == R"(resolve "not-an-address":80: )" +
                                         nk::make_error_code(nk::resolve_errc::no_name).message());

    auto missing = nk::resolve("host.invalid", "80");
    REQUIRE_FALSE(missing);
    const auto& code = missing.error().code();
    const bool expected = code == nk::resolve_errc::no_name || code == nk::resolve_errc::again ||
                          code == nk::resolve_errc::fail || code == nk::resolve_errc::no_data;
    REQUIRE(expected);
    REQUIRE_FALSE(code.message().empty());
    REQUIRE(missing.error().message() == R"(resolve "host.invalid":80: )" + code.message());

    nk::resolve_hints numeric_service;
    numeric_service.numeric_service = true;
    REQUIRE(nk::resolve("127.0.0.1", "http", numeric_service).error().code() ==
            nk::resolve_errc::no_name);
}

TEST_CASE("a failed resolve names the host and the service, cut to fit") {
    // With numeric_service a service name is refused as a name (EAI_NONAME) before any lookup,
    // so the messages below do not depend on the machine having a services database.
    nk::resolve_hints hints;
    hints.numeric_host = true;
    hints.numeric_service = true;
    const std::string reason = nk::make_error_code(nk::resolve_errc::no_name).message();
    REQUIRE(reason == "Name or service not known");

    REQUIRE(nk::resolve("no-such-host.invalid", "80", hints).error().message() ==
            R"(resolve "no-such-host.invalid":80: Name or service not known)");
    // A long host keeps its first bytes, the service whole.
    REQUIRE(nk::resolve("a-very-long-host-name-that-is-long.invalid", "https", hints)
                .error()
                .message() == R"(resolve "a-very-long-host-na"...:https: )" + reason);
    // A long service keeps at least 8 bytes next to a long host.
    const auto long_both = nk::resolve(std::string(40, 'h'), std::string(40, 's'), hints);
    REQUIRE(long_both.error().code().category() == nk::resolve_category());
    REQUIRE(long_both.error().message() ==
            R"(resolve "hhhhhhhhhhhhhhhh"...:ssssssss...: )" + long_both.error().code().message());
    // Unprintable bytes are escaped; no service, no ":".
    REQUIRE(nk::resolve("bad\x01host", "", hints).error().message() ==
            R"(resolve "bad\x01host": )" + reason);
}

TEST_CASE("an endpoint list is a contiguous range that copies, moves and grows") {
    nk::ip::endpoint_list list;
    REQUIRE(list.empty());
    REQUIRE(list.begin() == list.end());
    // Enough appends to regrow the storage several times, each element checked after it.
    for (std::uint16_t port = 1; port <= 300; ++port) {
        REQUIRE(list.push_back(nk::ip::endpoint(nk::ip::address_v4::loopback(), port)));
    }
    REQUIRE(list.size() == 300);
    REQUIRE(list.end() - list.begin() == 300);
    for (std::size_t i = 0; i < list.size(); ++i) {
        REQUIRE(list[i].port() == i + 1);
        REQUIRE(&list[i] == list.data() + i);
    }
    nk::ip::endpoint_list copy = list;
    REQUIRE(copy.size() == 300);
    REQUIRE(copy.data() != list.data());
    REQUIRE(std::equal(copy.begin(), copy.end(), list.begin(), list.end()));
    nk::ip::endpoint_list moved = std::move(copy);
    REQUIRE(moved.size() == 300);
    REQUIRE(moved.front().port() == 1);
    copy = moved; // assignment to a moved-from list
    REQUIRE(copy.size() == 300);
    copy = nk::ip::endpoint_list{};
    REQUIRE(copy.empty());
    REQUIRE(std::vector<nk::ip::endpoint>(list.begin(), list.end()).size() == 300);
    REQUIRE(list == moved);
    REQUIRE_FALSE(list == nk::ip::endpoint_list{});
}

TEST_CASE("an endpoint list appends one of its own endpoints when it must grow to do so") {
    nk::ip::endpoint_list list;
    // Fill to the capacity the first growth gives (4), then append an element of the list
    // itself, which sits in the storage the growth moves.
    for (std::uint16_t port = 1; port <= 4; ++port) {
        REQUIRE(list.push_back(nk::ip::endpoint(nk::ip::address_v4::loopback(), port)));
    }
    for (int round = 0; round < 6; ++round) {
        REQUIRE(list.push_back(list.front()));
        REQUIRE(list[list.size() - 1] == list.front());
    }
    REQUIRE(list.size() == 10);
}
