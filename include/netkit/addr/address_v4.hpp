#pragma once

#include <netkit/addr/address_error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <arpa/inet.h>
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
    for (const char c : text) {
        if (!is_digit(c)) {
            return false;
        }
    }
    return true;
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
    const auto letters_digits_hyphens = [&](std::string_view part) {
        for (const char c : part) {
            if (!letter_digit_hyphen(c)) {
                return false;
            }
        }
        return true;
    };
    std::string_view label;
    while (!text.empty()) {
        const auto dot = text.find('.');
        label = text.substr(0, dot);
        text = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !letters_digits_hyphens(label) || (dot != std::string_view::npos && text.empty())) {
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
            value = netkit::detail::min_of(value * 10 + static_cast<unsigned>(c - '0'), 1000U);
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
    netkit::detail::copy_elements(text.data(), text.size(), out.data());
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

    /// Equal when the four octets are.
    friend constexpr bool operator==(const address_v4&, const address_v4&) noexcept = default;
    /// Ordered as the host-order integers are.
    // Written out: a defaulted one would need std::array's <=>, which libc++ 14 lacks.
    friend constexpr std::strong_ordering operator<=>(const address_v4& left,
                                                      const address_v4& right) noexcept {
        return left.to_uint() <=> right.to_uint();
    }

private:
    bytes_type bytes_{};
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
