#include <netkit/addr/endpoint.hpp>

#include "support/catch.hpp"

#include <netkit/addr/address.hpp>
#include <netkit/addr/local_endpoint.hpp>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// Malformed addresses and endpoints, from a table and from generators: every one is refused with
// an error value of the address category (never a crash, an exception or a silent truncation),
// and every one that is accepted formats back to text that parses to the same endpoint.

namespace nk = netkit;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

// Hand-picked malformed IP endpoints: each names a way real input goes wrong.
const std::vector<std::string> malformed_ip_endpoints = {
    // out-of-range or malformed octets
    "256.0.0.1:80",
    "1.256.0.1:80",
    "1.2.256.1:80",
    "1.2.3.256:80",
    "999.999.999.999:80",
    "-1.2.3.4:80",
    "1.2.3.-4:80",
    "01.2.3.4:80",
    "1.02.3.4:80",
    "1.2.3.04:80",
    "0x7f.0.0.1:80",
    "127.1:80",
    "127.0.1:80",
    "1.2.3.4.5:80",
    "1..3.4:80",
    ".1.2.3:80",
    "1.2.3.:80",
    "1.2.3.4.:80",
    "1.2.3.4a:80",
    "a.b.c.d:80",
    "1,2,3,4:80",
    "1.2.3.4 :80",
    " 1.2.3.4:80",
    "1.2.3.4\t:80",
    "１.2.3.4:80",
    "4294967296:80",
    "1.2.3.4/24:80",
    // bad IPv6 groups and forms
    "[1:2:3:4:5:6:7:8:9]:80",
    "[1::2::3]:80",
    "[:::1]:80",
    "[12345::1]:80",
    "[g::1]:80",
    "[1:2:3:4:5:6:7]:80",
    "[::1:]:80",
    "[:1::]:80",
    "[1:2:3:4:5:6:7:8::]:80",
    "[::ffff:1.2.3.256]:80",
    "[::ffff:1.2.3]:80",
    "[::1.2.3.4.5]:80",
    "[fe80::1%]:80",
    "[fe80::1%no-such-interface-x]:80",
    "[fe80::1%%1]:80",
    "[fe80::1%-1]:80",
    "[fe80::1%4294967296]:80",
    "[]:80",
    "[ ]:80",
    "[::1 ]:80",
    "[::g]:80",
    "[1:2:3:4:5:6:7:8%1%2]:80",
    // unterminated or misplaced brackets
    "[::1:80",
    "[::1",
    "::1]:80",
    "[[::1]]:80",
    "[::1]]:80",
    "[::1][:80",
    "[",
    "]",
    "[]",
    "[::1]x:80",
    "1.2.3.4]:80",
    "[1.2.3.4]:80",
    // ports
    "1.2.3.4",
    "1.2.3.4:",
    "1.2.3.4:65536",
    "1.2.3.4:99999",
    "1.2.3.4:-1",
    "1.2.3.4:+80",
    "1.2.3.4:0x50",
    "1.2.3.4:80a",
    "1.2.3.4: 80",
    "1.2.3.4:80 ",
    "1.2.3.4:8 0",
    "1.2.3.4:80:80",
    "1.2.3.4:18446744073709551697",
    "1.2.3.4:4294967376",
    "[::1]",
    "[::1]:",
    "[::1]:65536",
    "[::1]:http",
    "1.2.3.4:http",
    "::1:80",
    "[::1]80",
    "[::1]::80",
    // empty, whitespace, junk, host names (parse does not resolve)
    "",
    ":",
    ":80",
    " ",
    "localhost:80",
    "example.com:443",
    "*:80",
    "0:80",
    "1.2.3.4:80\n",
    "\n",
    // embedded NULs (a C API would stop at the NUL and see a valid address)
    "1.2.3.4\0:80"s,
    "1.2.3.4:8\0"s,
    "[::1\0]:80"s,
    "\0"s,
    "1.2.3.4:80\0"s,
    "[::1]:80\0junk"s,
    // non-ASCII and high bytes
    "1.2.3.4:８０",
    "\xff\xfe\xfd\xfc:80",
    "[::\xff]:80",
    "1.2.3.\x80:80",
};

// Malformed bare addresses (address::parse, address_v4::parse, address_v6::parse).
const std::vector<std::string> malformed_addresses = {
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.1.1.1",
    "1.1.1.1 ",
    "::1::",
    "1:2:3:4:5:6:7:8:9",
    "[::1]",
    "::1%",
    "fe80::1%bogus-if-name",
    "x",
    "1.2.3.4:80",
    "\0"s,
    "127.0.0.1\0"s,
    "::1\0"s,
    "0x01020304",
    "-",
};

// How a refused input appears in the message: its first 25 bytes quoted, `"` and `\` escaped
// with a backslash and bytes that are not printable ASCII as \xNN, then "..." if it was longer.
std::string quoted(std::string_view input) {
    static constexpr std::size_t kept = 25;
    std::string out = "\"";
    for (const char c : input.substr(0, kept)) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte > 0x7e) {
            std::array<char, 5> hex{};
            std::snprintf(hex.data(), hex.size(), "\\x%02x", static_cast<unsigned>(byte));
            out += hex.data();
        } else {
            out += c;
        }
    }
    out += '"';
    if (input.size() > kept) {
        out += "...";
    }
    return out;
}

// Refused with an address error whose message quotes the input: "operation "input": reason".
template <class Result>
void require_address_error(const Result& result, std::string_view input) {
    INFO("input (" << input.size() << " bytes): " << std::string(input));
    REQUIRE_FALSE(result.has_value());
    REQUIRE(result.error().code().category() == nk::address_category());
    REQUIRE(result.error().message() == std::string(result.error().operation()) + " " +
                                            quoted(input) + ": " + result.error().code().message());
}

// A byte string random in the ways parsers get wrong: address characters mostly, some junk.
std::string random_text(std::mt19937& random) {
    static constexpr std::string_view alphabet = "0123456789abcdefABCDEF:.[]%@/ -+x\0\xff"sv;
    std::uniform_int_distribution<std::size_t> length(0, 64);
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string text(length(random), ' ');
    for (auto& c : text) {
        c = alphabet[pick(random)];
    }
    return text;
}

} // namespace

TEST_CASE("over 100 malformed IP endpoints are refused with an address error") {
    REQUIRE(malformed_ip_endpoints.size() >= 100);
    for (const auto& text : malformed_ip_endpoints) {
        require_address_error(nk::ip::endpoint::parse(text), text);
    }
}

TEST_CASE("malformed bare addresses are refused by every address parser") {
    for (const auto& text : malformed_addresses) {
        require_address_error(nk::ip::address::parse(text), text);
    }
    for (const auto& text : {"1.2.3"s, "256.1.1.1"s, "::1"s, "1.2.3.4\0"s, ""s}) {
        require_address_error(nk::ip::address_v4::parse(text), text);
    }
    for (const auto& text : {"1.2.3.4"s, ":::"s, "::1\0"s, "fe80::%"s, ""s}) {
        require_address_error(nk::ip::address_v6::parse(text), text);
    }
}

TEST_CASE("an IPv4 text is accepted exactly when the kernel's inet_pton accepts it") {
    // inet_pton is the reference: any disagreement is a parser bug in one direction or the other.
    std::mt19937 random(20261125);
    std::uniform_int_distribution<int> octet(-20, 300);
    for (int i = 0; i < 20000; ++i) {
        std::string text;
        const int parts = 3 + i % 3;
        for (int p = 0; p < parts; ++p) {
            text += (p != 0 ? "." : "") + std::to_string(octet(random));
        }
        if (i % 7 == 0) {
            text.insert(random() % (text.size() + 1), 1, "0 x.:"[random() % 5]);
        }
        in_addr reference{};
        const bool kernel_accepts = ::inet_pton(AF_INET, text.c_str(), &reference) == 1;
        auto parsed = nk::ip::address_v4::parse(text);
        INFO("input: " << text);
        REQUIRE(parsed.has_value() == kernel_accepts);
        if (kernel_accepts) {
            REQUIRE(parsed->to_string() == text);
        }
    }
}

TEST_CASE("random byte strings never crash an endpoint parser, and what parses round-trips") {
    std::mt19937 random(7);
    for (int i = 0; i < 50000; ++i) {
        const std::string text = random_text(random);
        auto ip = nk::ip::endpoint::parse(text);
        if (ip) {
            auto again = nk::ip::endpoint::parse(ip->to_string());
            INFO("input: " << text);
            REQUIRE(again.has_value());
            REQUIRE(*again == *ip);
        } else {
            require_address_error(ip, text);
        }
        auto local = nk::local::endpoint::parse(text);
        if (local) {
            // A Unix name is kept byte for byte, never rewritten or cut.
            const std::string_view name =
                text.front() == '@' ? std::string_view(text).substr(1) : text;
            REQUIRE(local->name() == name);
        } else {
            require_address_error(local, text);
        }
    }
}

TEST_CASE("a refused input is quoted cut to 25 bytes, with unprintable bytes escaped") {
    // Long inputs keep their first 25 bytes and end with "...": the message never grows with
    // the input.
    const std::string long_host(1000, '1');
    CHECK(nk::ip::endpoint::parse(long_host + ":80").error().message() ==
          R"(parse ip::endpoint "1111111111111111111111111"...: invalid IPv4 address)");
    CHECK(nk::ip::address_v4::parse(std::string(25, 'x')).error().message() ==
          R"(parse ip::address_v4 "xxxxxxxxxxxxxxxxxxxxxxxxx": a host name, not a numeric )"
          R"(address (names need netkit::resolve))");
    CHECK(nk::ip::address_v4::parse(std::string(26, 'x')).error().message() ==
          R"(parse ip::address_v4 "xxxxxxxxxxxxxxxxxxxxxxxxx"...: a host name, not a numeric )"
          R"(address (names need netkit::resolve))");
    CHECK(nk::local::endpoint::path(std::string(5000, 'p')).error().message() ==
          R"(local::endpoint::path "ppppppppppppppppppppppppp"...: )"
          R"(Unix socket path too long for sun_path)");

    // Control bytes, NULs, bytes over 0x7f, quotes and backslashes are escaped, so a message
    // cannot carry a terminal escape sequence or be misread where the quoted text ends.
    CHECK(nk::ip::endpoint::parse("1.2.3.4\0:80"s).error().message() ==
          R"(parse ip::endpoint "1.2.3.4\x00:80": invalid IPv4 address)");
    CHECK(nk::ip::endpoint::parse("\x1b[31m\xff:80"s).error().message() ==
          R"(parse ip::endpoint "\x1b[31m\xff:80": invalid IPv4 address)");
    CHECK(nk::ip::endpoint::parse(R"(a"b\c:80)").error().message() ==
          R"(parse ip::endpoint "a\"b\\c:80": invalid IPv4 address)");
    CHECK(nk::local::endpoint::path("/tmp/a\0b"s).error().message() ==
          R"(local::endpoint::path "/tmp/a\x00b": NUL byte inside a Unix socket path)");
    // A byte escaped at the cut is escaped whole.
    CHECK(nk::ip::address::parse(std::string(24, '9') + "\n\n").error().message() ==
          R"(parse ip::address "999999999999999999999999\x0a"...: invalid IPv4 address)");
}

TEST_CASE("Unix-domain names: overlong, empty and NUL-bearing paths are refused, never truncated") {
    constexpr std::size_t limit = nk::local::endpoint::max_name_length;
    STATIC_REQUIRE(limit == sizeof(sockaddr_un::sun_path) - 1);

    const std::string longest(limit, 'p');
    REQUIRE(nk::local::endpoint::path(longest).value().to_string() == longest);
    REQUIRE(nk::local::endpoint::abstract(longest).has_value());

    const std::vector<std::string> bad_paths = {
        "",
        std::string(limit + 1, 'p'),
        std::string(limit + 100, 'p'),
        std::string(4096, '/'),
        "/tmp/a\0b"s,
        "\0"s,
        "/tmp/sock\0"s,
        std::string(limit, 'p') + "\0"s,
    };
    for (const auto& text : bad_paths) {
        require_address_error(nk::local::endpoint::path(text), text);
    }
    for (const auto& text : {"@"s + std::string(limit + 1, 'a'), std::string(limit + 1, 'x')}) {
        require_address_error(nk::local::endpoint::parse(text), text);
    }
    REQUIRE(nk::local::endpoint::path(std::string(limit + 1, 'p')).error().code() ==
            make_error_code(nk::address_errc::path_too_long));
    REQUIRE(nk::local::endpoint::path("/a\0b"s).error().code() ==
            make_error_code(nk::address_errc::embedded_nul));
}

TEST_CASE("socket addresses of every length and family are read safely") {
    // A sockaddr from a peer or a buggy caller: every length from 0 past the storage, every
    // family byte. from_sockaddr must refuse or accept without reading past `length`.
    std::mt19937 random(99);
    for (socklen_t length = 0; length <= sizeof(sockaddr_storage); ++length) {
        for (const sa_family_t family :
             {sa_family_t{AF_INET}, sa_family_t{AF_INET6}, sa_family_t{AF_UNIX},
              sa_family_t{AF_UNSPEC}, sa_family_t{AF_PACKET}, sa_family_t{0xffff}}) {
            // Heap copy of exactly `length` bytes, so ASan sees any read past it.
            std::vector<unsigned char> bytes(length);
            for (auto& b : bytes) {
                b = static_cast<unsigned char>(random());
            }
            if (length >= sizeof family) {
                std::memcpy(bytes.data(), &family, sizeof family);
            }
            const auto* raw = reinterpret_cast<const sockaddr*>(bytes.data());
            auto ip = nk::ip::endpoint::from_sockaddr(length == 0 ? nullptr : raw, length);
            auto local = nk::local::endpoint::from_sockaddr(length == 0 ? nullptr : raw, length);
            INFO("family " << family << ", length " << length);
            if (ip) {
                REQUIRE((family == AF_INET || family == AF_INET6));
            } else {
                REQUIRE(ip.error().code().category() == nk::address_category());
            }
            if (local) {
                REQUIRE(family == AF_UNIX);
            } else {
                REQUIRE(local.error().code().category() == nk::address_category());
            }
        }
    }
}
