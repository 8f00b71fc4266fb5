#include <netkit/option.hpp>

#include "support/catch.hpp"

#include <netkit/options.hpp>

#include <chrono>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace nk = netkit;

namespace {

template <class T>
std::string type_name() {
    using namespace std::chrono;
    if constexpr (std::is_same_v<T, bool>) {
        return "bool";
    } else if constexpr (std::is_same_v<T, int>) {
        return "int";
    } else if constexpr (std::is_same_v<T, unsigned>) {
        return "unsigned";
    } else if constexpr (std::is_same_v<T, std::uint32_t>) {
        return "std::uint32_t";
    } else if constexpr (std::is_same_v<T, seconds>) {
        return "std::chrono::seconds";
    } else if constexpr (std::is_same_v<T, milliseconds>) {
        return "std::chrono::milliseconds";
    } else if constexpr (std::is_same_v<T, microseconds>) {
        return "std::chrono::microseconds";
    } else if constexpr (std::is_same_v<T, std::optional<seconds>>) {
        return "std::optional<std::chrono::seconds>";
    } else if constexpr (std::is_same_v<T, std::string>) {
        return "std::string";
    } else if constexpr (std::is_same_v<T, nk::credentials>) {
        return "netkit::credentials";
    } else if constexpr (std::is_same_v<T, ::tcp_info>) {
        return "struct tcp_info";
    } else if constexpr (std::is_same_v<T, nk::ip::address_v4>) {
        return "ip::address_v4";
    } else if constexpr (std::is_same_v<T, nk::ip::multicast_membership>) {
        return "ip::multicast_membership";
    } else if constexpr (std::is_same_v<T, nk::ipv6::multicast_membership>) {
        return "ipv6::multicast_membership";
    } else if constexpr (std::is_same_v<T, nk::ip::mtu_discovery>) {
        return "ip::mtu_discovery";
    } else {
        static_assert(sizeof(T) == 0, "add this value type to type_name()");
    }
}

std::string level_name(int level) {
    switch (level) {
    case SOL_SOCKET:
        return "SOL_SOCKET";
    case IPPROTO_IP:
        return "IPPROTO_IP";
    case IPPROTO_IPV6:
        return "IPPROTO_IPV6";
    case IPPROTO_TCP:
        return "IPPROTO_TCP";
    case IPPROTO_UDP:
        return "IPPROTO_UDP";
    default:
        return std::to_string(level);
    }
}

template <class Option>
std::string row(std::string_view cpp_name, const Option&) {
    const char* access = Option::access == nk::option_access::get   ? "get"
                         : Option::access == nk::option_access::set ? "set"
                                                                    : "get, set";
    std::ostringstream out;
    out << "| `" << cpp_name << "` | " << level_name(Option::level) << " | " << Option::c_name
        << " | `" << type_name<typename Option::value_type>() << "` | " << access << " | "
        << Option::scope::description << " |";
    return out.str();
}

#define NETKIT_ROW(option) row(#option, nk::option)

std::vector<std::string> all_rows() {
    return {
        NETKIT_ROW(so::reuse_address),
        NETKIT_ROW(so::reuse_port),
        NETKIT_ROW(so::keep_alive),
        NETKIT_ROW(so::linger),
        NETKIT_ROW(so::receive_buffer_size),
        NETKIT_ROW(so::send_buffer_size),
        NETKIT_ROW(so::receive_low_watermark),
        NETKIT_ROW(so::send_low_watermark),
        NETKIT_ROW(so::receive_timeout),
        NETKIT_ROW(so::send_timeout),
        NETKIT_ROW(so::broadcast),
        NETKIT_ROW(so::dont_route),
        NETKIT_ROW(so::oob_inline),
        NETKIT_ROW(so::priority),
        NETKIT_ROW(so::mark),
        NETKIT_ROW(so::bind_to_device),
        NETKIT_ROW(so::timestamp),
        NETKIT_ROW(so::timestamp_ns),
        NETKIT_ROW(so::busy_poll),
        NETKIT_ROW(so::incoming_cpu),
        NETKIT_ROW(so::zero_copy),
        NETKIT_ROW(so::receive_queue_overflow),
        NETKIT_ROW(so::pass_credentials),
        NETKIT_ROW(so::error),
        NETKIT_ROW(so::type),
        NETKIT_ROW(so::domain),
        NETKIT_ROW(so::protocol),
        NETKIT_ROW(so::accepting_connections),
        NETKIT_ROW(so::peer_credentials),
        NETKIT_ROW(ip::ttl),
        NETKIT_ROW(ip::tos),
        NETKIT_ROW(ip::multicast_ttl),
        NETKIT_ROW(ip::multicast_loop),
        NETKIT_ROW(ip::multicast_interface),
        NETKIT_ROW(ip::multicast_join),
        NETKIT_ROW(ip::multicast_leave),
        NETKIT_ROW(ip::packet_info),
        NETKIT_ROW(ip::receive_tos),
        NETKIT_ROW(ip::receive_ttl),
        NETKIT_ROW(ip::free_bind),
        NETKIT_ROW(ip::transparent),
        NETKIT_ROW(ip::mtu_discover),
        NETKIT_ROW(ip::mtu),
        NETKIT_ROW(ipv6::v6_only),
        NETKIT_ROW(ipv6::unicast_hops),
        NETKIT_ROW(ipv6::multicast_hops),
        NETKIT_ROW(ipv6::multicast_loop),
        NETKIT_ROW(ipv6::multicast_interface),
        NETKIT_ROW(ipv6::multicast_join),
        NETKIT_ROW(ipv6::multicast_leave),
        NETKIT_ROW(ipv6::receive_packet_info),
        NETKIT_ROW(ipv6::traffic_class),
        NETKIT_ROW(ipv6::receive_traffic_class),
        NETKIT_ROW(tcp::no_delay),
        NETKIT_ROW(tcp::cork),
        NETKIT_ROW(tcp::quick_ack),
        NETKIT_ROW(tcp::keep_idle),
        NETKIT_ROW(tcp::keep_interval),
        NETKIT_ROW(tcp::keep_count),
        NETKIT_ROW(tcp::user_timeout),
        NETKIT_ROW(tcp::max_segment),
        NETKIT_ROW(tcp::fast_open),
        NETKIT_ROW(tcp::fast_open_connect),
        NETKIT_ROW(tcp::not_sent_low_watermark),
        NETKIT_ROW(tcp::defer_accept),
        NETKIT_ROW(tcp::congestion),
        NETKIT_ROW(tcp::info),
        NETKIT_ROW(udp::segment_size),
        NETKIT_ROW(udp::gro),
        NETKIT_ROW(udp::cork),
    };
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string source_root() {
    std::string here = __FILE__;
    return here.substr(0, here.rfind("/tests/unit/"));
}

} // namespace

TEST_CASE("docs/options.md lists every descriptor, exactly as the code defines it") {
    const auto rows = all_rows();

    // Every descriptor in the headers is in the list above: count their declarations.
    std::size_t declared = 0;
    const std::regex declaration(R"(inline constexpr socket_option<)");
    for (const char* header : {"socket", "ip", "ipv6", "tcp", "udp"}) {
        const std::string text =
            read_file(source_root() + "/include/netkit/options/" + header + ".hpp");
        REQUIRE_FALSE(text.empty());
        declared += static_cast<std::size_t>(std::distance(
            std::sregex_iterator(text.begin(), text.end(), declaration), std::sregex_iterator()));
    }
    REQUIRE(rows.size() == declared);

    const std::string doc = read_file(source_root() + "/docs/options.md");
    const auto begin = doc.find("<!-- options-table-begin -->");
    const auto end = doc.find("<!-- options-table-end -->");
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    std::string expected =
        "<!-- options-table-begin -->\n| C++ | level | C name | value type | access | protocols |\n"
        "|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        expected += r + "\n";
    }
    const std::string actual = doc.substr(begin, end - begin);
    if (actual != expected) {
        std::ofstream("options-table.md") << expected;
        FAIL("docs/options.md is out of date; the table it should hold was written to "
             "options-table.md:\n"
             << expected);
    }
}

TEST_CASE("descriptors carry their C names and error texts") {
    STATIC_REQUIRE(decltype(nk::so::reuse_address)::c_name == "SO_REUSEADDR");
    REQUIRE(std::string_view(decltype(nk::tcp::keep_idle)::set_operation) ==
            "setsockopt TCP_KEEPIDLE");
    REQUIRE(std::string_view(decltype(nk::tcp::keep_idle)::get_operation) ==
            "getsockopt TCP_KEEPIDLE");
    STATIC_REQUIRE(
        nk::option_applies_to_protocol<decltype(nk::so::linger), nk::local::stream_protocol>);
    STATIC_REQUIRE_FALSE(
        nk::option_applies_to_protocol<decltype(nk::so::peer_credentials), nk::tcp::protocol>);
}

TEST_CASE("codecs refuse values the kernel field cannot hold") {
    int raw = 0;
    REQUIRE(nk::int_codec<std::uint32_t>::encode(0xffffffffU, raw, "t").error() ==
            std::errc::value_too_large);
    REQUIRE(nk::int_codec<int, true>::encode(-1, raw, "t").error() == std::errc::invalid_argument);
    REQUIRE(
        nk::duration_codec<std::chrono::seconds>::encode(std::chrono::seconds(1LL << 40), raw, "t")
            .error() == std::errc::value_too_large);
    timeval tv{};
    REQUIRE(nk::timeval_codec::encode(std::chrono::microseconds(2'500'000), tv, "t").value() ==
            sizeof(timeval));
    REQUIRE(tv.tv_sec == 2);
    REQUIRE(tv.tv_usec == 500'000);
    std::array<char, 16> name{};
    REQUIRE(nk::string_codec<16>::encode(std::string("a\0b", 3), name, "t").error() ==
            std::errc::invalid_argument);
    REQUIRE(nk::string_codec<16>::encode(std::string(16, 'x'), name, "t").error() ==
            std::errc::value_too_large);
    REQUIRE(nk::string_codec<16>::decode(name, 0, "t").value().empty());
}
