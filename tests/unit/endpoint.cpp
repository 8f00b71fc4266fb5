#include <netkit/addr/endpoint.hpp>

#include "support/catch.hpp"

#include <netkit/addr/address.hpp>
#include <netkit/addr/local_endpoint.hpp>

#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace nk = netkit;

namespace {
struct good_case {
    std::string_view text;
    std::string_view canonical; // what to_string gives back
};

// At least 40 inputs that must parse, with their canonical text.
const std::vector<good_case> good_ip_endpoints = {
    {"127.0.0.1:80", "127.0.0.1:80"},
    {"0.0.0.0:0", "0.0.0.0:0"},
    {"255.255.255.255:65535", "255.255.255.255:65535"},
    {"10.0.0.1:8080", "10.0.0.1:8080"},
    {"192.168.1.254:1", "192.168.1.254:1"},
    {"1.2.3.4:00080", "1.2.3.4:80"},
    {"8.8.8.8:53", "8.8.8.8:53"},
    {"224.0.0.1:5353", "224.0.0.1:5353"},
    {"239.255.255.250:1900", "239.255.255.250:1900"},
    {"100.64.0.1:443", "100.64.0.1:443"},
    {"172.16.0.1:22", "172.16.0.1:22"},
    {"127.255.255.254:9", "127.255.255.254:9"},
    {"1.1.1.1:0", "1.1.1.1:0"},
    {"9.9.9.9:65534", "9.9.9.9:65534"},
    {"198.51.100.7:7", "198.51.100.7:7"},
    {"203.0.113.99:12345", "203.0.113.99:12345"},
    {"[::1]:80", "[::1]:80"},
    {"[::]:0", "[::]:0"},
    {"[::ffff:127.0.0.1]:8080", "[::ffff:127.0.0.1]:8080"},
    {"[2001:db8::1]:443", "[2001:db8::1]:443"},
    {"[2001:0db8:0000:0000:0000:0000:0000:0001]:443", "[2001:db8::1]:443"},
    {"[FE80::1%1]:22", "[fe80::1%1]:22"},
    {"[fe80::1%lo]:22", "[fe80::1%1]:22"},
    {"[ff02::1]:5353", "[ff02::1]:5353"},
    {"[2001:db8:85a3::8a2e:370:7334]:1", "[2001:db8:85a3::8a2e:370:7334]:1"},
    {"[1:2:3:4:5:6:7:8]:65535", "[1:2:3:4:5:6:7:8]:65535"},
    {"[::2:3:4:5:6:7:8]:9", "[0:2:3:4:5:6:7:8]:9"},
    {"[1::]:9", "[1::]:9"},
    {"[1::8]:9", "[1::8]:9"},
    {"[64:ff9b::192.0.2.33]:80", "[64:ff9b::c000:221]:80"},
    {"[fd00::abcd]:4000", "[fd00::abcd]:4000"},
    {"[2001:db8::]:80", "[2001:db8::]:80"},
    {"[::ffff:0:0]:1", "[::ffff:0.0.0.0]:1"},
    {"[2001:db8:0:0:1:0:0:1]:80", "[2001:db8::1:0:0:1]:80"},
    {"[0:0:0:0:0:0:0:1]:80", "[::1]:80"},
    {"[ABCD:EF01:2345:6789:ABCD:EF01:2345:6789]:2", "[abcd:ef01:2345:6789:abcd:ef01:2345:6789]:2"},
    {"[fe80::dead:beef%4294967295]:1", "[fe80::dead:beef%4294967295]:1"},
    // Every group full, the largest scope and port: as long as an IP endpoint's text gets.
    {"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535",
     "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535"},
    {"12.34.56.78:65535", "12.34.56.78:65535"},
    {"99.99.99.99:99", "99.99.99.99:99"},
    {"200.100.50.25:5000", "200.100.50.25:5000"},
};

struct bad_case {
    std::string_view text;
    nk::address_errc why;
};

// At least 40 inputs that must be refused, each with the reason.
const std::vector<bad_case> bad_ip_endpoints = {
    {"", nk::address_errc::empty},
    {"127.0.0.1", nk::address_errc::missing_port},
    {"127.0.0.1:", nk::address_errc::invalid_port},
    {"127.0.0.1:65536", nk::address_errc::port_out_of_range},
    {"127.0.0.1:-1", nk::address_errc::port_not_a_number},
    {"127.0.0.1:80a", nk::address_errc::port_not_a_number},
    {"127.0.0.1: 80", nk::address_errc::port_not_a_number},
    {"127.0.0.1:+80", nk::address_errc::port_not_a_number},
    {"127.0.0.1:999999", nk::address_errc::port_out_of_range},
    {"127.0.0.1:0x50", nk::address_errc::port_not_a_number},
    {"256.0.0.1:80", nk::address_errc::ipv4_octet_out_of_range},
    {"1.2.3:80", nk::address_errc::invalid_ipv4},
    {"1.2.3.4.5:80", nk::address_errc::invalid_ipv4},
    {"01.2.3.4:80", nk::address_errc::invalid_ipv4},
    {"1.2.3.04:80", nk::address_errc::invalid_ipv4},
    {"1..3.4:80", nk::address_errc::invalid_ipv4},
    {"a.b.c.d:80", nk::address_errc::host_is_name},
    {" 1.2.3.4:80", nk::address_errc::invalid_ipv4},
    {"1.2.3.4 :80", nk::address_errc::invalid_ipv4},
    {"localhost:80", nk::address_errc::host_is_name},
    {":80", nk::address_errc::empty},
    {"0x7f.0.0.1:80", nk::address_errc::invalid_ipv4},
    {"1.2.3.-4:80", nk::address_errc::invalid_ipv4},
    {"::1:80", nk::address_errc::unexpected_character},
    {"2001:db8::1:80", nk::address_errc::unexpected_character},
    {"[::1]", nk::address_errc::missing_port},
    {"[::1]80", nk::address_errc::unexpected_character},
    {"[::1]:", nk::address_errc::invalid_port},
    {"[::1]:70000", nk::address_errc::port_out_of_range},
    {"[::1:80", nk::address_errc::unterminated_bracket},
    {"[]:80", nk::address_errc::invalid_ipv6},
    {"[:::1]:80", nk::address_errc::invalid_ipv6},
    {"[1:2:3:4:5:6:7:8:9]:80", nk::address_errc::invalid_ipv6},
    {"[12345::1]:80", nk::address_errc::invalid_ipv6},
    {"[g::1]:80", nk::address_errc::invalid_ipv6},
    {"[1::2::3]:80", nk::address_errc::invalid_ipv6},
    {"[127.0.0.1]:80", nk::address_errc::invalid_ipv6},
    {"[fe80::1%]:80", nk::address_errc::invalid_scope},
    {"[fe80::1%no-such-interface-x]:80", nk::address_errc::invalid_scope},
    {"[fe80::1%4294967296]:80", nk::address_errc::invalid_scope},
    {"[::1]:80:80", nk::address_errc::port_not_a_number},
    {"[::1]]:80", nk::address_errc::unexpected_character},
};
} // namespace

TEST_CASE("good IP endpoints parse, format canonically and round-trip") {
    REQUIRE(good_ip_endpoints.size() >= 40);
    for (const auto& [text, canonical] : good_ip_endpoints) {
        INFO("input: " << text);
        auto parsed = nk::ip::endpoint::parse(text);
        REQUIRE(parsed.has_value());
        CHECK(parsed->to_string() == canonical);
        auto again = nk::ip::endpoint::parse(parsed->to_string());
        REQUIRE(again.has_value());
        REQUIRE(*again == *parsed);
    }
}

TEST_CASE("bad IP endpoints are refused with the reason") {
    REQUIRE(bad_ip_endpoints.size() >= 40);
    for (const auto& [text, why] : bad_ip_endpoints) {
        INFO("input: " << text);
        auto parsed = nk::ip::endpoint::parse(text);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().code() == make_error_code(why));
        REQUIRE(parsed.error().code() == std::errc::invalid_argument);
    }
}

TEST_CASE("parse errors quote the input and give the precise reason") {
    struct message_case {
        std::string_view text;
        nk::address_errc why;
        std::string_view message;
    };
    const std::vector<message_case> cases = {
        {"300.1.1.1:80", nk::address_errc::ipv4_octet_out_of_range,
         R"(parse ip::endpoint "300.1.1.1:80": IPv4 octet out of range (0-255))"},
        {"localhost:80", nk::address_errc::host_is_name,
         R"(parse ip::endpoint "localhost:80": a host name, not a numeric address )"
         R"((names need netkit::resolve))"},
        {"example.com", nk::address_errc::host_is_name,
         R"(parse ip::endpoint "example.com": a host name, not a numeric address )"
         R"((names need netkit::resolve))"},
        {"1.2.3.4:80x", nk::address_errc::port_not_a_number,
         R"(parse ip::endpoint "1.2.3.4:80x": port is not a decimal number)"},
        {"1.2.3.4:65536", nk::address_errc::port_out_of_range,
         R"(parse ip::endpoint "1.2.3.4:65536": port out of range (0-65535))"},
        {"1.2.3:80", nk::address_errc::invalid_ipv4,
         R"(parse ip::endpoint "1.2.3:80": invalid IPv4 address)"},
        {"[fe80::1%no-such-if]:80", nk::address_errc::invalid_scope,
         R"(parse ip::endpoint "[fe80::1%no-such-if]:80": invalid IPv6 scope (unknown interface))"},
    };
    for (const auto& [text, why, message] : cases) {
        INFO("input: " << text);
        const auto parsed = nk::ip::endpoint::parse(text);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().code() == make_error_code(why));
        CHECK(parsed.error().code() == std::errc::invalid_argument);
        CHECK(parsed.error().operation() == std::string_view("parse ip::endpoint"));
        CHECK(parsed.error().message() == message);
    }

    // Each parser names itself and quotes what it was given.
    CHECK(nk::ip::address::parse("example.com").error().message() ==
          R"(parse ip::address "example.com": a host name, not a numeric address )"
          R"((names need netkit::resolve))");
    CHECK(nk::ip::address::parse("1:2").error().message() ==
          R"(parse ip::address "1:2": invalid IPv6 address)");
    CHECK(nk::ip::address_v4::parse("1.2.3.256").error().message() ==
          R"(parse ip::address_v4 "1.2.3.256": IPv4 octet out of range (0-255))");
    CHECK(nk::ip::address_v6::parse("fe80::1%").error().message() ==
          R"(parse ip::address_v6 "fe80::1%": invalid IPv6 scope (unknown interface))");
    CHECK(nk::local::endpoint::path("").error().message() ==
          R"(local::endpoint::path "": empty address)");
    CHECK(nk::local::endpoint::parse("@" + std::string(200, 'a')).error().message() ==
          R"(parse local::endpoint "@aaaaaaaaaaaaaaaaaaaaaaaa"...: )"
          R"(Unix socket path too long for sun_path)");
}

TEST_CASE("endpoints convert to and from the kernel's socket addresses") {
    const auto v4 = nk::ip::endpoint::parse("10.1.2.3:4567").value();
    REQUIRE(v4.size() == sizeof(sockaddr_in));
    sockaddr_in in{};
    std::memcpy(&in, v4.data(), sizeof in);
    REQUIRE(in.sin_family == AF_INET);
    REQUIRE(ntohs(in.sin_port) == 4567);
    REQUIRE(ntohl(in.sin_addr.s_addr) == 0x0a010203U);

    sockaddr_storage storage{};
    std::memcpy(&storage, v4.data(), v4.size());
    REQUIRE(nk::ip::endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), v4.size())
                .value() == v4);

    const auto v6 = nk::ip::endpoint::parse("[fe80::1%3]:9").value();
    REQUIRE(v6.size() == sizeof(sockaddr_in6));
    sockaddr_in6 in6{};
    std::memcpy(&in6, v6.data(), sizeof in6);
    REQUIRE(in6.sin6_scope_id == 3);
    REQUIRE(v6.address().v6().scope_id() == 3);
}

TEST_CASE("endpoints round-trip through sockaddr_storage") {
    for (const char* text : {"10.1.2.3:4567", "[fe80::1%3]:9", "[::ffff:1.2.3.4]:65535"}) {
        const auto ip = nk::ip::endpoint::parse(text).value();
        const sockaddr_storage storage = ip.to_sockaddr_storage();
        REQUIRE(storage.ss_family == (ip.family() == nk::ip::v4 ? AF_INET : AF_INET6));
        REQUIRE(nk::ip::endpoint::from_sockaddr(storage, ip.size()).value() == ip);
        // A length larger than the storage is clamped, not read past.
        REQUIRE(nk::ip::endpoint::from_sockaddr(storage, 100000).value() == ip);
    }
    for (const auto& local :
         {nk::local::endpoint::path("/run/app.sock").value(),
          nk::local::endpoint::abstract("app").value(), nk::local::endpoint()}) {
        const sockaddr_storage storage = local.to_sockaddr_storage();
        REQUIRE(storage.ss_family == AF_UNIX);
        REQUIRE(nk::local::endpoint::from_sockaddr(storage, local.size()).value() == local);
    }
    // The other family is refused, not misread.
    const auto v4 = nk::ip::endpoint::parse("1.2.3.4:5").value().to_sockaddr_storage();
    REQUIRE(nk::local::endpoint::from_sockaddr(v4, sizeof v4).error().code() ==
            make_error_code(nk::address_errc::wrong_family));
}

TEST_CASE("from_sockaddr refuses short or foreign addresses") {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    const auto* raw = reinterpret_cast<const sockaddr*>(&in);
    REQUIRE(nk::ip::endpoint::from_sockaddr(raw, sizeof in - 1).error().code() ==
            make_error_code(nk::address_errc::address_too_short));
    REQUIRE(nk::ip::endpoint::from_sockaddr(nullptr, 0).error().code() ==
            make_error_code(nk::address_errc::address_too_short));
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    REQUIRE(nk::ip::endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&un), sizeof un)
                .error()
                .code() == make_error_code(nk::address_errc::wrong_family));
    REQUIRE(nk::local::endpoint::from_sockaddr(raw, sizeof in).error().code() ==
            make_error_code(nk::address_errc::wrong_family));
}

TEST_CASE("endpoints order, compare and hash") {
    std::set<nk::ip::endpoint> ordered;
    std::unordered_set<nk::ip::endpoint> hashed;
    for (const auto& c : good_ip_endpoints) {
        const auto e = nk::ip::endpoint::parse(c.text).value();
        ordered.insert(e);
        hashed.insert(e);
    }
    REQUIRE(ordered.size() == hashed.size());
    REQUIRE(ordered.begin()->family() == nk::ip::v4); // IPv4 sorts first
    const auto a = nk::ip::endpoint::parse("1.2.3.4:5").value();
    const auto b = nk::ip::endpoint::parse("1.2.3.4:6").value();
    REQUIRE(a < b);
    REQUIRE(a != b);
    REQUIRE(std::hash<nk::ip::endpoint>{}(a) ==
            std::hash<nk::ip::endpoint>{}(nk::ip::endpoint::parse("1.2.3.4:5").value()));
}

TEST_CASE("Unix endpoints: paths, abstract names, limits") {
    const auto path = nk::local::endpoint::parse("/run/app.sock").value();
    REQUIRE(path.is_path());
    REQUIRE(path.name() == "/run/app.sock");
    REQUIRE(path.to_string() == "/run/app.sock");

    using namespace std::string_view_literals;
    const auto abstract = nk::local::endpoint::abstract("with\0nul"sv).value();
    REQUIRE(abstract.is_abstract());
    REQUIRE(abstract.name() == "with\0nul"sv);
    REQUIRE(abstract.to_string() == "@with\\x00nul");
    REQUIRE(nk::local::endpoint::parse("@svc").value() ==
            nk::local::endpoint::abstract("svc").value());

    const std::string longest(nk::local::endpoint::max_name_length, 'p');
    REQUIRE(nk::local::endpoint::path(longest).value().to_string() == longest);
    REQUIRE(nk::local::endpoint::abstract(longest).value().to_string() == "@" + longest);
    // The longest text: every byte of the longest name escaped. It is never cut.
    const std::string unprintable(nk::local::endpoint::max_name_length, '\x01');
    std::string escaped = "@";
    for (std::size_t i = 0; i < unprintable.size(); ++i) {
        escaped += "\\x01";
    }
    REQUIRE(nk::local::endpoint::abstract(unprintable).value().to_string() == escaped);
    const std::string too_long(nk::local::endpoint::max_name_length + 1, 'p');
    auto refused = nk::local::endpoint::path(too_long);
    REQUIRE(refused.error().code() == make_error_code(nk::address_errc::path_too_long));
    REQUIRE(refused.error().code() == std::errc::filename_too_long);
    REQUIRE(nk::local::endpoint::abstract(too_long).error().code() ==
            make_error_code(nk::address_errc::path_too_long));
    REQUIRE(nk::local::endpoint::path("a\0b"sv).error().code() ==
            make_error_code(nk::address_errc::embedded_nul));
    REQUIRE(nk::local::endpoint::path("").error().code() ==
            make_error_code(nk::address_errc::empty));

    // Round trip through the kernel's representation.
    const auto back = nk::local::endpoint::from_sockaddr(path.data(), path.size()).value();
    REQUIRE(back == path);
    REQUIRE(nk::local::endpoint().is_unnamed());
    REQUIRE(nk::local::endpoint().to_string() == "(unnamed)");
}

TEST_CASE("addresses: classification and conversions") {
    STATIC_REQUIRE(nk::ip::address_v4::loopback().is_loopback());
    STATIC_REQUIRE(nk::ip::address_v4(0xe0000001U).is_multicast());
    STATIC_REQUIRE(nk::ip::address_v6::loopback().is_loopback());
    constexpr auto mapped = nk::ip::address_v6::v4_mapped(nk::ip::address_v4::loopback());
    STATIC_REQUIRE(mapped.is_v4_mapped());
    STATIC_REQUIRE(mapped.to_v4() == nk::ip::address_v4::loopback());
    REQUIRE(nk::ip::address::parse("::1").value().is_v6());
    REQUIRE(nk::ip::address::parse("10.0.0.1").value().is_v4());
    REQUIRE(nk::ip::address::parse("fe80::1").value().v6().is_link_local());
    REQUIRE(nk::ip::address_v4::parse("1.2.3.4").value().to_uint() == 0x01020304U);
    REQUIRE(nk::ip::address::parse("nonsense").error().code() ==
            make_error_code(nk::address_errc::host_is_name));
    REQUIRE(nk::ip::address::parse("1.2.3").error().code() ==
            make_error_code(nk::address_errc::invalid_ipv4));
    REQUIRE(nk::ip::address::parse("1:2").error().code() ==
            make_error_code(nk::address_errc::invalid_ipv6));
}
