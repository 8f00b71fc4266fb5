#pragma once

#include <netkit/address_error.hpp>
#include <netkit/result.hpp>

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace netkit::ip {

/// The IP version a socket is opened for.
enum class family : int {
    v4 = AF_INET, ///< IPv4 (AF_INET)
    v6 = AF_INET6 ///< IPv6 (AF_INET6)
};
inline constexpr family v4 = family::v4; ///< `ip::v4`, as in `tcp::socket::open(ip::v4)`
inline constexpr family v6 = family::v6; ///< `ip::v6`, as in `tcp::socket::open(ip::v6)`

namespace detail {
/// A parse that refused `input`: the error quotes it (its first 25 bytes).
inline netkit::failure parse_failure(address_errc code, const char* operation,
                                     std::string_view input) noexcept {
    return netkit::failure{netkit::error(make_error_code(code), operation, input)};
}
/// The same failure, reported by an outer parse for its whole input.
inline netkit::failure parse_failure(const netkit::error& inner, const char* operation,
                                     std::string_view input) noexcept {
    return netkit::failure{netkit::error(inner.code(), operation, input)};
}

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool all_digits(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(), is_digit);
}

/// True for a host name in RFC 1123 syntax (dot-separated labels of letters, digits and inner
/// hyphens, an optional final dot) whose last label is not all digits, so "localhost" and
/// "example.com" are names but "1.2.3.400" and "0x7f.0.0.1" are not.
inline bool is_host_name(std::string_view text) noexcept {
    if (!text.empty() && text.back() == '.') {
        text.remove_suffix(1);
    }
    if (text.empty() || text.size() > 253) {
        return false;
    }
    const auto letter_digit_hyphen = [](char c) {
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
    };
    std::string_view label;
    while (!text.empty()) {
        const auto dot = text.find('.');
        label = text.substr(0, dot);
        text = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !std::all_of(label.begin(), label.end(), letter_digit_hyphen) ||
            (dot != std::string_view::npos && text.empty())) {
            return false;
        }
    }
    return !all_digits(label);
}

/// Why `text`, which inet_pton refused, is not a dotted quad: a host name, four decimal octets
/// with one over 255, or anything else (too few or many parts, leading zeros, other characters).
inline address_errc ipv4_failure_reason(std::string_view text) noexcept {
    if (is_host_name(text)) {
        return address_errc::host_is_name;
    }
    std::size_t parts = 0;
    bool over = false;
    for (std::size_t start = 0;;) {
        const auto dot = text.find('.', start);
        const auto part = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (part.empty() || !all_digits(part)) {
            return address_errc::invalid_ipv4;
        }
        unsigned value = 0;
        for (const char c : part) {
            value = std::min(value * 10 + static_cast<unsigned>(c - '0'), 1000U);
        }
        over = over || value > 255;
        ++parts;
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    return parts == 4 && over ? address_errc::ipv4_octet_out_of_range : address_errc::invalid_ipv4;
}
/// inet_pton needs a NUL-terminated string; longest valid IPv6 text is 45 characters.
template <std::size_t N>
bool copy_terminated(std::string_view text, std::array<char, N>& out) noexcept {
    if (text.size() >= N || text.find('\0') != std::string_view::npos) {
        return false;
    }
    std::copy(text.begin(), text.end(), out.begin());
    out[text.size()] = '\0';
    return true;
}
} // namespace detail

/// An IPv4 address, stored in network byte order.
class address_v4 {
public:
    /// The four octets, in network order: {127, 0, 0, 1}.
    using bytes_type = std::array<std::uint8_t, 4>;

    /// 0.0.0.0
    constexpr address_v4() noexcept = default;
    /// From the four octets in network order.
    constexpr explicit address_v4(const bytes_type& bytes) noexcept : bytes_(bytes) {}
    /// From a host-order integer: address_v4(0x7f000001) is 127.0.0.1.
    constexpr explicit address_v4(std::uint32_t host_order) noexcept
        : bytes_{static_cast<std::uint8_t>(host_order >> 24),
                 static_cast<std::uint8_t>(host_order >> 16),
                 static_cast<std::uint8_t>(host_order >> 8),
                 static_cast<std::uint8_t>(host_order)} {}

    /// 0.0.0.0 (INADDR_ANY): bind to every local address.
    static constexpr address_v4 any() noexcept { return address_v4(); }
    /// 127.0.0.1 (INADDR_LOOPBACK).
    static constexpr address_v4 loopback() noexcept { return address_v4(0x7f000001U); }
    /// 255.255.255.255 (INADDR_BROADCAST).
    static constexpr address_v4 broadcast() noexcept { return address_v4(0xffffffffU); }

    /// Strict dotted-quad: four decimal octets 0-255, no leading zeros, nothing else. A host name
    /// is refused as `address_errc::host_is_name` (names need `netkit::resolve`).
    static result<address_v4> parse(std::string_view text) noexcept {
        constexpr const char* operation = "parse ip::address_v4";
        if (text.empty()) {
            return detail::parse_failure(address_errc::empty, operation, text);
        }
        std::array<char, INET_ADDRSTRLEN> buffer{};
        in_addr parsed{};
        if (!detail::copy_terminated(text, buffer) ||
            ::inet_pton(AF_INET, buffer.data(), &parsed) != 1) {
            return detail::parse_failure(detail::ipv4_failure_reason(text), operation, text);
        }
        return from_in_addr(parsed);
    }

    /// From the kernel's `in_addr` (network byte order).
    static address_v4 from_in_addr(const in_addr& value) noexcept {
        address_v4 result;
        std::memcpy(result.bytes_.data(), &value, 4);
        return result;
    }
    /// The kernel's `in_addr` (network byte order).
    [[nodiscard]] in_addr to_in_addr() const noexcept {
        in_addr value{};
        std::memcpy(&value, bytes_.data(), 4);
        return value;
    }

    /// The four octets, in network order.
    [[nodiscard]] constexpr const bytes_type& to_bytes() const noexcept { return bytes_; }
    /// As a host-order integer: 127.0.0.1 is 0x7f000001.
    [[nodiscard]] constexpr std::uint32_t to_uint() const noexcept {
        return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
               (std::uint32_t{bytes_[2]} << 8) | std::uint32_t{bytes_[3]};
    }
    /// True for 0.0.0.0.
    [[nodiscard]] constexpr bool is_unspecified() const noexcept { return to_uint() == 0; }
    /// True for 127.0.0.0/8.
    [[nodiscard]] constexpr bool is_loopback() const noexcept { return bytes_[0] == 127; }
    /// True for 224.0.0.0/4.
    [[nodiscard]] constexpr bool is_multicast() const noexcept {
        return (bytes_[0] & 0xf0) == 0xe0;
    }

    /// The dotted quad: "127.0.0.1".
    [[nodiscard]] std::string to_string() const {
        std::array<char, INET_ADDRSTRLEN> text{};
        const in_addr value = to_in_addr();
        ::inet_ntop(AF_INET, &value, text.data(), text.size());
        return text.data();
    }

    /// Ordered as the host-order integers are; equal when the four octets are.
    friend constexpr auto operator<=>(const address_v4&, const address_v4&) noexcept = default;

private:
    bytes_type bytes_{};
};

/// An IPv6 address with its scope id (the interface index of a link-local address; 0 if none).
class address_v6 {
public:
    /// The sixteen bytes, in network order.
    using bytes_type = std::array<std::uint8_t, 16>;

    /// :: with scope id 0.
    constexpr address_v6() noexcept = default;
    /// From the sixteen bytes in network order, and a scope id (0: none).
    constexpr explicit address_v6(const bytes_type& bytes, std::uint32_t scope_id = 0) noexcept
        : bytes_(bytes),
          scope_id_(scope_id) {}

    /// :: (in6addr_any): bind to every local address.
    static constexpr address_v6 any() noexcept { return address_v6(); }
    /// ::1 (in6addr_loopback).
    static constexpr address_v6 loopback() noexcept {
        bytes_type bytes{};
        bytes[15] = 1;
        return address_v6(bytes);
    }
    /// \::ffff:a.b.c.d, the form an IPv4 peer takes on a dual-stack IPv6 socket.
    static constexpr address_v6 v4_mapped(const address_v4& ipv4) noexcept {
        bytes_type bytes{};
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        std::copy(ipv4.to_bytes().begin(), ipv4.to_bytes().end(), bytes.begin() + 12);
        return address_v6(bytes);
    }

    /// RFC 4291 text, optionally followed by "%scope": a decimal index or an interface name
    /// (looked up with if_nametoindex). No brackets here: those belong to endpoints.
    static result<address_v6> parse(std::string_view text) noexcept {
        constexpr const char* operation = "parse ip::address_v6";
        const std::string_view input = text;
        if (text.empty()) {
            return detail::parse_failure(address_errc::empty, operation, input);
        }
        std::uint32_t scope = 0;
        if (const auto percent = text.find('%'); percent != std::string_view::npos) {
            if (!parse_scope(text.substr(percent + 1), scope)) {
                return detail::parse_failure(address_errc::invalid_scope, operation, input);
            }
            text = text.substr(0, percent);
        }
        std::array<char, INET6_ADDRSTRLEN> buffer{};
        in6_addr parsed{};
        if (!detail::copy_terminated(text, buffer) ||
            ::inet_pton(AF_INET6, buffer.data(), &parsed) != 1) {
            return detail::parse_failure(address_errc::invalid_ipv6, operation, input);
        }
        address_v6 result = from_in6_addr(parsed);
        result.scope_id_ = scope;
        return result;
    }

    /// From the kernel's `in6_addr` and a scope id (0: none).
    static address_v6 from_in6_addr(const in6_addr& value, std::uint32_t scope_id = 0) noexcept {
        address_v6 result;
        std::memcpy(result.bytes_.data(), &value, 16);
        result.scope_id_ = scope_id;
        return result;
    }
    /// The kernel's `in6_addr` (the scope id travels apart, in `sockaddr_in6`).
    [[nodiscard]] in6_addr to_in6_addr() const noexcept {
        in6_addr value{};
        std::memcpy(&value, bytes_.data(), 16);
        return value;
    }

    /// The sixteen bytes, in network order.
    [[nodiscard]] constexpr const bytes_type& to_bytes() const noexcept { return bytes_; }
    /// The scope id: the interface index of a link-local address; 0 if none.
    [[nodiscard]] constexpr std::uint32_t scope_id() const noexcept { return scope_id_; }
    /// Sets the scope id (an interface index; 0 for none).
    constexpr void scope_id(std::uint32_t id) noexcept { scope_id_ = id; }

    /// True for ::, whatever the scope id.
    [[nodiscard]] constexpr bool is_unspecified() const noexcept {
        return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
    }
    /// True for ::1 with scope id 0.
    [[nodiscard]] constexpr bool is_loopback() const noexcept { return *this == loopback(); }
    /// True for ff00::/8.
    [[nodiscard]] constexpr bool is_multicast() const noexcept { return bytes_[0] == 0xff; }
    /// True for fe80::/10 (such an address needs a scope id to be used).
    [[nodiscard]] constexpr bool is_link_local() const noexcept {
        return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
    }
    /// True for \::ffff:0:0/96, an IPv4 address seen through an IPv6 socket.
    [[nodiscard]] constexpr bool is_v4_mapped() const noexcept {
        return std::all_of(bytes_.begin(), bytes_.begin() + 10,
                           [](std::uint8_t b) { return b == 0; }) &&
               bytes_[10] == 0xff && bytes_[11] == 0xff;
    }
    /// The IPv4 address inside a v4-mapped address (only meaningful if `is_v4_mapped()`).
    [[nodiscard]] constexpr address_v4 to_v4() const noexcept {
        return address_v4(address_v4::bytes_type{bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
    }

    /// RFC 5952 text, with "%index" when the scope id is set.
    [[nodiscard]] std::string to_string() const {
        std::array<char, INET6_ADDRSTRLEN> text{};
        const in6_addr value = to_in6_addr();
        ::inet_ntop(AF_INET6, &value, text.data(), text.size());
        std::string result = text.data();
        if (scope_id_ != 0) {
            result += '%';
            result += std::to_string(scope_id_);
        }
        return result;
    }

    /// Ordered by the bytes, then the scope id; equal when both are.
    friend constexpr auto operator<=>(const address_v6&, const address_v6&) noexcept = default;

private:
    /// A decimal index or an interface name; false if neither.
    static bool parse_scope(std::string_view scope, std::uint32_t& index) noexcept {
        if (scope.empty()) {
            return false;
        }
        if (detail::all_digits(scope)) {
            if (scope.size() > 10) {
                return false;
            }
            std::uint64_t value = 0;
            for (char c : scope) {
                value = value * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (value > UINT32_MAX) {
                return false;
            }
            index = static_cast<std::uint32_t>(value);
            return true;
        }
        std::array<char, IF_NAMESIZE> name{};
        if (!detail::copy_terminated(scope, name)) {
            return false;
        }
        const unsigned found = ::if_nametoindex(name.data());
        if (found == 0) {
            return false;
        }
        index = std::uint32_t{found};
        return true;
    }

    bytes_type bytes_{};
    std::uint32_t scope_id_ = 0;
};

/// An IPv4 or IPv6 address.
class address {
public:
    /// 0.0.0.0
    constexpr address() noexcept = default;
    /// An IPv4 address (implicit: an address_v4 is an address).
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): a v4 address is an address
    constexpr address(const address_v4& ipv4) noexcept : v4_(ipv4) {}
    /// An IPv6 address (implicit: an address_v6 is an address).
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): a v6 address is an address
    constexpr address(const address_v6& ipv6) noexcept : family_(family::v6), v6_(ipv6) {}

    /// Either form; IPv6 is told apart by its ':'.
    static result<address> parse(std::string_view text) noexcept {
        constexpr const char* operation = "parse ip::address";
        if (text.find(':') != std::string_view::npos) {
            auto parsed_v6 = address_v6::parse(text);
            if (!parsed_v6) {
                return detail::parse_failure(parsed_v6.error(), operation, text);
            }
            return address(*parsed_v6);
        }
        auto parsed_v4 = address_v4::parse(text);
        if (!parsed_v4) {
            return detail::parse_failure(parsed_v4.error(), operation, text);
        }
        return address(*parsed_v4);
    }

    /// v4 or v6.
    [[nodiscard]] constexpr ip::family family() const noexcept { return family_; }
    /// True if it holds an IPv4 address.
    [[nodiscard]] constexpr bool is_v4() const noexcept { return family_ == family::v4; }
    /// True if it holds an IPv6 address.
    [[nodiscard]] constexpr bool is_v6() const noexcept { return family_ == family::v6; }
    /// The IPv4 address; meaningful only if `is_v4()`.
    [[nodiscard]] constexpr const address_v4& v4() const noexcept { return v4_; }
    /// The IPv6 address; meaningful only if `is_v6()`.
    [[nodiscard]] constexpr const address_v6& v6() const noexcept { return v6_; }

    /// address_v4::is_unspecified or address_v6::is_unspecified, by family.
    [[nodiscard]] constexpr bool is_unspecified() const noexcept {
        return is_v4() ? v4_.is_unspecified() : v6_.is_unspecified();
    }
    /// address_v4::is_loopback or address_v6::is_loopback, by family.
    [[nodiscard]] constexpr bool is_loopback() const noexcept {
        return is_v4() ? v4_.is_loopback() : v6_.is_loopback();
    }
    /// address_v4::is_multicast or address_v6::is_multicast, by family.
    [[nodiscard]] constexpr bool is_multicast() const noexcept {
        return is_v4() ? v4_.is_multicast() : v6_.is_multicast();
    }
    /// The text of the address it holds: "127.0.0.1", "::1", "fe80::1%2".
    [[nodiscard]] std::string to_string() const {
        return is_v4() ? v4_.to_string() : v6_.to_string();
    }

    /// True for the same family and the same address (scope id included, for IPv6).
    friend constexpr bool operator==(const address& a, const address& b) noexcept {
        return a.family_ == b.family_ && (a.is_v4() ? a.v4_ == b.v4_ : a.v6_ == b.v6_);
    }
    /// IPv4 addresses order before IPv6 ones.
    friend constexpr std::strong_ordering operator<=>(const address& a, const address& b) noexcept {
        if (a.family_ != b.family_) {
            return a.is_v4() ? std::strong_ordering::less : std::strong_ordering::greater;
        }
        return a.is_v4() ? a.v4_ <=> b.v4_ : a.v6_ <=> b.v6_;
    }

private:
    ip::family family_ = family::v4;
    address_v4 v4_{};
    address_v6 v6_{};
};

namespace detail {
inline std::size_t hash_bytes(const std::uint8_t* data, std::size_t size,
                              std::size_t seed) noexcept {
    // FNV-1a: small, good enough for hash tables of addresses, and the same on every platform.
    std::uint64_t hash = 14695981039346656037ULL ^ seed;
    for (std::size_t i = 0; i < size; ++i) {
        hash = (hash ^ data[i]) * 1099511628211ULL;
    }
    return static_cast<std::size_t>(hash);
}
} // namespace detail

} // namespace netkit::ip

/// Hashes an ip::address_v4, for unordered containers.
template <>
struct std::hash<netkit::ip::address_v4> {
    /// Consistent with `==`.
    std::size_t operator()(const netkit::ip::address_v4& a) const noexcept {
        return netkit::ip::detail::hash_bytes(a.to_bytes().data(), 4, 4);
    }
};
/// Hashes an ip::address_v6, for unordered containers.
template <>
struct std::hash<netkit::ip::address_v6> {
    /// Consistent with `==` (the scope id included).
    std::size_t operator()(const netkit::ip::address_v6& a) const noexcept {
        return netkit::ip::detail::hash_bytes(a.to_bytes().data(), 16, a.scope_id());
    }
};
/// Hashes an ip::address, for unordered containers.
template <>
struct std::hash<netkit::ip::address> {
    /// Consistent with `==`.
    std::size_t operator()(const netkit::ip::address& a) const noexcept {
        return a.is_v4() ? std::hash<netkit::ip::address_v4>{}(a.v4())
                         : std::hash<netkit::ip::address_v6>{}(a.v6());
    }
};
