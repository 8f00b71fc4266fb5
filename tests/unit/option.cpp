#include <netkit/option/access.hpp>

#include "support/catch.hpp"

#include <netkit/option/all.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <new>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

// The sanitizers bring their own operator new, and replacing it beside them makes ASan report
// mismatched allocations inside the test framework: the allocation tests run in the plain
// builds (the dev and clang gates) only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NETKIT_TEST_REPLACES_NEW 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NETKIT_TEST_REPLACES_NEW 0
#endif
#endif
#ifndef NETKIT_TEST_REPLACES_NEW
#define NETKIT_TEST_REPLACES_NEW 1
#endif

#if NETKIT_TEST_REPLACES_NEW
// Every allocation in this test program goes through here, so a test can count them or make
// them fail: string options must be set without allocating, and read without throwing.
namespace {
std::atomic<long> allocations{0};
std::atomic<bool> refuse_allocations{false};
} // namespace

// Out of line, so that g++ at -O2 does not inline the free() below into library code whose
// matching allocation it sees as the default operator new (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
    if (refuse_allocations.load()) {
        throw std::bad_alloc();
    }
    ++allocations;
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,hicpp-no-malloc): this is operator new
    if (void* block = std::malloc(size == 0 ? 1 : size)) {
        return block;
    }
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* block) noexcept {
    std::free(block); // NOLINT(cppcoreguidelines-no-malloc,hicpp-no-malloc): operator delete
}
[[gnu::noinline]] void operator delete(void* block, std::size_t /*size*/) noexcept {
    std::free(block); // NOLINT(cppcoreguidelines-no-malloc,hicpp-no-malloc): operator delete
}
#endif

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
    } else if constexpr (std::is_same_v<T, nk::timestamping_flags>) {
        return "timestamping_flags";
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
        NETKIT_ROW(so::timestamping),
        NETKIT_ROW(so::busy_poll),
        NETKIT_ROW(so::incoming_cpu),
        NETKIT_ROW(so::zero_copy),
        NETKIT_ROW(so::receive_queue_overflow),
        NETKIT_ROW(so::pass_credentials),
        NETKIT_ROW(so::error),
        NETKIT_ROW(so::type),
        NETKIT_ROW(so::domain),
        NETKIT_ROW(so::protocol_number),
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
        NETKIT_ROW(ip::receive_errors),
        NETKIT_ROW(ip::mtu),
        NETKIT_ROW(ipv6::v6_only),
        NETKIT_ROW(ipv6::unicast_hops),
        NETKIT_ROW(ipv6::multicast_hops),
        NETKIT_ROW(ipv6::multicast_loop),
        NETKIT_ROW(ipv6::multicast_interface),
        NETKIT_ROW(ipv6::multicast_join),
        NETKIT_ROW(ipv6::multicast_leave),
        NETKIT_ROW(ipv6::receive_packet_info),
        NETKIT_ROW(ipv6::receive_errors),
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
            read_file(source_root() + "/include/netkit/option/" + header + ".hpp");
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
    REQUIRE(nk::int_codec<int, true>::encode(-1, raw, "t").error() == std::errc::invalid_argument);
    REQUIRE(nk::int_codec<std::uint64_t>::encode(std::uint64_t{1} << 32, raw, "t").error() ==
            std::errc::value_too_large);
    REQUIRE(
        nk::duration_codec<std::chrono::seconds>::encode(std::chrono::seconds(1LL << 40), raw, "t")
            .error() == std::errc::value_too_large);
    timeval tv{};
    REQUIRE(nk::timeval_codec::encode(std::chrono::microseconds(2'500'000), tv, "t").value() ==
            sizeof(timeval));
    REQUIRE(tv.tv_sec == 2);
    REQUIRE(tv.tv_usec == 500'000);
    std::array<char, 16> name{};
    REQUIRE(nk::string_codec<16>::encode(std::string_view("a\0b", 3), name, "t").error() ==
            std::errc::invalid_argument);
    REQUIRE(nk::string_codec<16>::encode(std::string(16, 'x'), name, "t").error() ==
            std::errc::value_too_large);
    REQUIRE(nk::string_codec<16>::decode(name, 0, "t").value().empty());
}

TEST_CASE("an unsigned kernel field travels in the int's bits: SO_MARK takes every u32") {
    using codec = decltype(nk::so::mark)::codec;
    STATIC_REQUIRE(std::is_same_v<decltype(nk::so::mark)::value_type, std::uint32_t>);
    for (const std::uint32_t mark : {0U, 42U, 0x7fffffffU, 0x80000000U, 0xfffffffeU, 0xffffffffU}) {
        INFO(mark);
        int raw = 0;
        REQUIRE(codec::encode(mark, raw, "t").value() == sizeof(int));
        REQUIRE(std::bit_cast<std::uint32_t>(raw) == mark);
        REQUIRE(codec::decode(raw, sizeof(int), "t").value() == mark);
    }
    int raw = 0;
    REQUIRE(codec::encode(0x80000000U, raw, "t").has_value());
    REQUIRE(raw == INT_MIN);
    REQUIRE(codec::encode(0xffffffffU, raw, "t").has_value());
    REQUIRE(raw == -1);
}

namespace {
// What set() would hand the kernel for `value`, or its error: the range checks and the codec,
// without a socket.
template <class Option, class Value>
nk::result<typename Option::codec::kernel_type> encoded(const Option& /*option*/,
                                                        const Value& value) {
    typename Option::codec::kernel_type raw{};
    auto length = nk::detail::encode_for_set<Option>(value, raw);
    if (!length) {
        return nk::failure{length.error()};
    }
    return raw;
}
} // namespace

TEST_CASE("set() checks an integer against the value type before converting it, never wraps") {
    using std::errc;
    // SO_RCVBUF: a non-negative int. 5'000'000'000 would wrap to 705032704 as an int.
    REQUIRE(encoded(nk::so::receive_buffer_size, 5'000'000'000LL).error() == errc::value_too_large);
    REQUIRE(encoded(nk::so::receive_buffer_size, 2'147'483'648LL).error() == errc::value_too_large);
    REQUIRE(encoded(nk::so::receive_buffer_size, 2'147'483'647LL).value() == INT_MAX);
    REQUIRE(encoded(nk::so::receive_buffer_size, ULLONG_MAX).error() == errc::value_too_large);
    REQUIRE(encoded(nk::so::receive_buffer_size, 4'294'967'295U).error() == errc::value_too_large);
    REQUIRE(encoded(nk::so::receive_buffer_size, 65'536ULL).value() == 65'536);
    // Negative, for an option that takes only non-negative values: invalid_argument, however far
    // below the range (the codec's answer for -1 and for INT_MIN).
    REQUIRE(encoded(nk::so::receive_buffer_size, -1LL).error() == errc::invalid_argument);
    REQUIRE(encoded(nk::so::receive_buffer_size, -5'000'000'000LL).error() ==
            errc::invalid_argument);
    REQUIRE(encoded(nk::so::receive_buffer_size, LLONG_MIN).error() == errc::invalid_argument);
    // IP_TTL takes negative values (-1: the route's default), so below INT_MIN is too large.
    REQUIRE(encoded(nk::ip::ttl, -1LL).value() == -1);
    REQUIRE(encoded(nk::ip::ttl, static_cast<long long>(INT_MIN)).value() == INT_MIN);
    REQUIRE(encoded(nk::ip::ttl, -5'000'000'000LL).error() == errc::value_too_large);
    REQUIRE(encoded(nk::ip::ttl, 5'000'000'000LL).error() == errc::value_too_large);
    // Small and unusual integer types convert exactly.
    REQUIRE(encoded(nk::ip::ttl, static_cast<short>(64)).value() == 64);
    REQUIRE(encoded(nk::ip::ttl, static_cast<unsigned char>(255)).value() == 255);
    REQUIRE(encoded(nk::ip::ttl, 'A').value() == 65);
    enum legacy_constant : long long {
        hops = 17,
        huge = 1LL << 40
    };
    REQUIRE(encoded(nk::ip::ttl, hops).value() == 17);
    REQUIRE(encoded(nk::ip::ttl, huge).error() == errc::value_too_large);
    // SO_MARK: a u32. Negative is refused, not read as its two's complement.
    REQUIRE(encoded(nk::so::mark, -1).error() == errc::invalid_argument);
    REQUIRE(encoded(nk::so::mark, LLONG_MIN).error() == errc::invalid_argument);
    REQUIRE(encoded(nk::so::mark, 0x1'0000'0000LL).error() == errc::value_too_large);
    REQUIRE(encoded(nk::so::mark, 0xffff'ffffLL).value() == -1);
    REQUIRE(encoded(nk::so::mark, 0x8000'0000ULL).value() == INT_MIN);
    REQUIRE(encoded(nk::ipv6::multicast_interface, -1).error() == errc::invalid_argument);
}

TEST_CASE("set() refuses the reported out-of-range values before any system call") {
    using namespace std::chrono;
    // On no socket (-1): a value that passes the checks reaches setsockopt, which says EBADF.
    const auto on_tcp = [](const auto& option, const auto& value) {
        return nk::detail::set_socket_option<nk::tcp::protocol>(-1, option, value);
    };
    REQUIRE(on_tcp(nk::so::receive_buffer_size, 5'000'000'000LL).error() ==
            std::errc::value_too_large); // not 705032704
    REQUIRE(on_tcp(nk::so::receive_buffer_size, 65'536LL).error() ==
            std::errc::bad_file_descriptor);
    REQUIRE(on_tcp(nk::tcp::user_timeout, seconds::max()).error() == std::errc::value_too_large);
    REQUIRE(on_tcp(nk::tcp::user_timeout, seconds(2)).error() == std::errc::bad_file_descriptor);
    REQUIRE(on_tcp(nk::tcp::keep_idle, seconds(-1)).error() == std::errc::invalid_argument);
    REQUIRE(on_tcp(nk::so::mark, 0xffffffffU).error() == std::errc::bad_file_descriptor);
    REQUIRE(on_tcp(nk::so::mark, -1).error() == std::errc::invalid_argument);
    const auto refused = on_tcp(nk::so::receive_buffer_size, ULLONG_MAX);
    REQUIRE(refused.error().message().rfind("setsockopt SO_RCVBUF: ", 0) == 0);
}

TEST_CASE("set() checks a duration against the value type before converting it, never overflows") {
    using namespace std::chrono;
    using std::errc;
    // TCP_USER_TIMEOUT counts milliseconds: seconds::max() in milliseconds is signed overflow.
    REQUIRE(encoded(nk::tcp::user_timeout, seconds::max()).error() == errc::value_too_large);
    REQUIRE(encoded(nk::tcp::user_timeout, hours::max()).error() == errc::value_too_large);
    REQUIRE(encoded(nk::tcp::user_timeout, seconds::min()).error() == errc::invalid_argument);
    REQUIRE(encoded(nk::tcp::user_timeout, seconds(-1)).error() == errc::invalid_argument);
    REQUIRE(encoded(nk::tcp::user_timeout, seconds(3)).value() == 3000);
    // The kernel's int holds 2147483647 ms: 2147483 s fits, 2147484 s does not.
    REQUIRE(encoded(nk::tcp::user_timeout, seconds(2'147'483)).value() == 2'147'483'000);
    REQUIRE(encoded(nk::tcp::user_timeout, seconds(2'147'484)).error() == errc::value_too_large);
    // TCP_KEEPIDLE counts seconds.
    REQUIRE(encoded(nk::tcp::keep_idle, minutes(2)).value() == 120);
    REQUIRE(encoded(nk::tcp::keep_idle, hours::max()).error() == errc::value_too_large);
    REQUIRE(encoded(nk::tcp::keep_idle, hours::min()).error() == errc::invalid_argument);
    // Other representations: narrow, unsigned.
    REQUIRE(encoded(nk::tcp::keep_idle, duration<int, std::ratio<60>>(3)).value() == 180);
    REQUIRE(encoded(nk::tcp::keep_idle, duration<unsigned long long>(ULLONG_MAX)).error() ==
            errc::value_too_large);
    REQUIRE(encoded(nk::tcp::keep_idle, duration<unsigned long long>(30)).value() == 30);
    // SO_RCVTIMEO: microseconds into a timeval.
    REQUIRE(encoded(nk::so::receive_timeout, hours::max()).error() == errc::value_too_large);
    REQUIRE(encoded(nk::so::receive_timeout, seconds::min()).error() == errc::invalid_argument);
    const auto tv = encoded(nk::so::receive_timeout, duration<int, std::milli>(1500)).value();
    REQUIRE(tv.tv_sec == 1);
    REQUIRE(tv.tv_usec == 500'000);
    // SO_LINGER: an optional count of seconds, checked inside the optional too.
    REQUIRE(encoded(nk::so::linger, minutes::max()).error() == errc::value_too_large);
    REQUIRE(encoded(nk::so::linger, std::optional<minutes>(minutes::min())).error() ==
            errc::invalid_argument);
    REQUIRE(encoded(nk::so::linger, std::optional<minutes>(2)).value().l_linger == 120);
    REQUIRE(encoded(nk::so::linger, std::optional<minutes>()).value().l_onoff == 0);
    REQUIRE(encoded(nk::so::linger, std::nullopt).value().l_onoff == 0);
}

TEST_CASE("a value type's limits are computed exactly in the caller's units") {
    using namespace std::chrono;
    using nk::detail::position_in_range;
    using nk::detail::range_position;
    constexpr auto top = seconds(milliseconds::max().count() / 1000);
    constexpr auto bottom = seconds(milliseconds::min().count() / 1000);
    STATIC_REQUIRE(position_in_range<milliseconds>(top) == range_position::inside);
    STATIC_REQUIRE(position_in_range<milliseconds>(top + seconds(1)) == range_position::above);
    STATIC_REQUIRE(position_in_range<milliseconds>(bottom) == range_position::inside);
    STATIC_REQUIRE(position_in_range<milliseconds>(bottom - seconds(1)) == range_position::below);
    STATIC_REQUIRE(position_in_range<int>(INT_MAX) == range_position::inside);
    STATIC_REQUIRE(position_in_range<int>(INT_MAX + 1LL) == range_position::above);
    STATIC_REQUIRE(position_in_range<int>(INT_MIN - 1LL) == range_position::below);
    STATIC_REQUIRE(position_in_range<unsigned>(-1) == range_position::below);
    STATIC_REQUIRE(position_in_range<unsigned>(UINT_MAX + 1ULL) == range_position::above);
}

TEST_CASE("floating-point values for integer and duration options are refused at compile time") {
    using namespace std::chrono;
    using nk::detail::set_value_check;
    // tests/compile_fail/option_floating_point_value.cpp proves the diagnostic; these are the
    // cases it stands for.
    STATIC_REQUIRE(set_value_check<decltype(nk::ip::ttl), double>::floating_for_whole_units);
    STATIC_REQUIRE(
        set_value_check<decltype(nk::so::receive_buffer_size), float>::floating_for_whole_units);
    STATIC_REQUIRE(set_value_check<decltype(nk::tcp::user_timeout),
                                   duration<double>>::floating_for_whole_units);
    STATIC_REQUIRE(set_value_check<decltype(nk::so::linger), double>::floating_for_whole_units);
    STATIC_REQUIRE(set_value_check<decltype(nk::so::linger),
                                   std::optional<duration<double>>>::floating_for_whole_units);
    STATIC_REQUIRE(set_value_check<decltype(nk::ip::ttl), long long>::ok);
    STATIC_REQUIRE(set_value_check<decltype(nk::tcp::user_timeout), seconds>::ok);
    // Only one mistake is reported for a value: a double for a bool is a wrong type.
    STATIC_REQUIRE_FALSE(
        set_value_check<decltype(nk::tcp::no_delay), double>::floating_for_whole_units);
    STATIC_REQUIRE(set_value_check<decltype(nk::tcp::no_delay), double>::wrong_type);
}

TEST_CASE("string options take a view: set() accepts one, and decode cannot throw") {
    using nk::detail::set_value_check;
    using congestion = decltype(nk::tcp::congestion);
    STATIC_REQUIRE(set_value_check<congestion, std::string_view>::ok);
    STATIC_REQUIRE(set_value_check<congestion, std::string>::ok);
    STATIC_REQUIRE(set_value_check<congestion, char[6]>::ok);
    STATIC_REQUIRE(set_value_check<congestion, const char*>::ok);
    STATIC_REQUIRE(nk::detail::nothrow_decodable<congestion::codec>);
    STATIC_REQUIRE(std::is_same_v<congestion::value_type, std::string>); // what get() returns
    REQUIRE(std::string_view(encoded(nk::tcp::congestion, "cubic").value().data()) == "cubic");
}

#if NETKIT_TEST_REPLACES_NEW
TEST_CASE("string options are set without allocating") {
    // Through set() itself, on no socket (-1): a value the checks pass reaches setsockopt, which
    // says EBADF. The long name needs the heap as a std::string (past the small-string buffer),
    // so building one would show in the count.
    const auto set = [](const auto& value) {
        return nk::detail::set_socket_option<nk::tcp::protocol>(-1, nk::tcp::congestion, value);
    };
    const std::string long_name(40, 'x');
    const long before = allocations.load();
    const auto from_string = set(long_name);
    const auto from_literal = set("a-name-much-longer-than-the-kernel-allows");
    const auto cubic = set("cubic");
    const long after = allocations.load();
    REQUIRE(after == before);
    REQUIRE(from_string.error() == std::errc::value_too_large);
    REQUIRE(from_literal.error() == std::errc::value_too_large);
    REQUIRE(cubic.error() == std::errc::bad_file_descriptor);
    const std::string_view long_view = long_name;
    REQUIRE(set(long_view).error() == std::errc::value_too_large);
    REQUIRE(set(std::string_view("reno")).error() == std::errc::bad_file_descriptor);
    REQUIRE(allocations.load() == before);
}

TEST_CASE("a string option's decode reports a failed allocation as an error value") {
    // get() is noexcept: a bad_alloc out of decode would end the program.
    std::array<char, 64> wide{};
    std::fill_n(wide.begin(), 40, 'y');
    refuse_allocations = true;
    bool threw = false;
    nk::result<std::string> refused = std::string();
    try {
        refused = nk::string_codec<64>::decode(wide, 64, "getsockopt X");
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    refuse_allocations = false;
    REQUIRE_FALSE(threw);
    REQUIRE_FALSE(refused);
    REQUIRE(refused.error() == std::errc::not_enough_memory);
    REQUIRE(refused.error().message().rfind("getsockopt X: ", 0) == 0);
    REQUIRE(nk::string_codec<64>::decode(wide, 64, "t").value() == std::string(40, 'y'));
}
#endif

namespace {
std::string_view mode_name(nk::ip::mtu_discovery mode) {
    switch (mode) {
    case nk::ip::mtu_discovery::dont:
        return "dont";
    case nk::ip::mtu_discovery::want:
        return "want";
    case nk::ip::mtu_discovery::always:
        return "always";
    case nk::ip::mtu_discovery::probe:
        return "probe";
    case nk::ip::mtu_discovery::interface:
        return "interface";
    case nk::ip::mtu_discovery::omit:
        return "omit";
    }
    return {};
}
} // namespace

TEST_CASE("ip::mtu_discovery names every mode IP_MTU_DISCOVER can return") {
    using mode = nk::ip::mtu_discovery;
    STATIC_REQUIRE(static_cast<int>(mode::dont) == IP_PMTUDISC_DONT);
    STATIC_REQUIRE(static_cast<int>(mode::want) == IP_PMTUDISC_WANT);
    STATIC_REQUIRE(static_cast<int>(mode::always) == IP_PMTUDISC_DO);
    STATIC_REQUIRE(static_cast<int>(mode::probe) == IP_PMTUDISC_PROBE);
    STATIC_REQUIRE(static_cast<int>(mode::interface) == IP_PMTUDISC_INTERFACE);
    STATIC_REQUIRE(static_cast<int>(mode::omit) == IP_PMTUDISC_OMIT);
    // The kernel accepts (and so can return) IP_PMTUDISC_DONT..IP_PMTUDISC_OMIT, nothing else
    // (ip_setsockopt: "val < IP_PMTUDISC_DONT || val > IP_PMTUDISC_OMIT" is EINVAL); the
    // integration test checks that on a real socket.
    using codec = decltype(nk::ip::mtu_discover)::codec;
    for (int value = IP_PMTUDISC_DONT; value <= IP_PMTUDISC_OMIT; ++value) {
        INFO(value);
        CHECK_FALSE(mode_name(codec::decode(value, sizeof(int), "t").value()).empty());
    }
}

TEST_CASE("a multicast membership becomes the kernel's request, and a group that is not "
          "multicast is refused") {
    using std::errc;
    const auto group_v4 = nk::ip::address_v4::parse("239.1.2.3").value();
    const auto local = nk::ip::address_v4::parse("192.0.2.7").value();
    STATIC_REQUIRE(std::is_same_v<decltype(nk::ip::multicast_join)::codec::kernel_type, ip_mreqn>);
    const ip_mreqn v4 =
        encoded(nk::ip::multicast_join, nk::ip::multicast_membership{group_v4, local, 3}).value();
    REQUIRE(nk::ip::address_v4::from_in_addr(v4.imr_multiaddr) == group_v4);
    REQUIRE(nk::ip::address_v4::from_in_addr(v4.imr_address) == local);
    REQUIRE(v4.imr_ifindex == 3);
    const auto unicast_v4 = encoded(nk::ip::multicast_leave, nk::ip::multicast_membership{local});
    REQUIRE(unicast_v4.error() == errc::invalid_argument);
    REQUIRE(std::string(unicast_v4.error().operation()) == "setsockopt IP_DROP_MEMBERSHIP");

    const auto group_v6 = nk::ip::address_v6::parse("ff02::1:3").value();
    STATIC_REQUIRE(
        std::is_same_v<decltype(nk::ipv6::multicast_join)::codec::kernel_type, ipv6_mreq>);
    const ipv6_mreq v6 =
        encoded(nk::ipv6::multicast_join, nk::ipv6::multicast_membership{group_v6, 2}).value();
    REQUIRE(nk::ip::address_v6::from_in6_addr(v6.ipv6mr_multiaddr) == group_v6);
    REQUIRE(v6.ipv6mr_interface == 2);
    const auto unicast_v6 = encoded(nk::ipv6::multicast_leave,
                                    nk::ipv6::multicast_membership{nk::ip::address_v6::loopback()});
    REQUIRE(unicast_v6.error() == errc::invalid_argument);
    REQUIRE(std::string(unicast_v6.error().operation()) == "setsockopt IPV6_LEAVE_GROUP");
}
