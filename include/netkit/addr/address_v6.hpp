#pragma once

#include <netkit/addr/address_v4.hpp>
#include <netkit/detail/minimal_algorithms.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace netkit::ip {

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
        const address_v4::bytes_type ipv4_bytes = ipv4.to_bytes();
        netkit::detail::copy_elements(ipv4_bytes.data(), ipv4_bytes.size(), bytes.data() + 12);
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
    [[nodiscard]] constexpr bool is_unspecified() const noexcept { return zeros(bytes_.size()); }
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
        return zeros(10) && bytes_[10] == 0xff && bytes_[11] == 0xff;
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

    /// Equal when the bytes and the scope id are.
    friend constexpr bool operator==(const address_v6&, const address_v6&) noexcept = default;
    /// Ordered by the bytes, then the scope id.
    // Written out: a defaulted one would need std::array's <=>, which libc++ 14 lacks.
    friend constexpr std::strong_ordering operator<=>(const address_v6& left,
                                                      const address_v6& right) noexcept {
        for (std::size_t i = 0; i < left.bytes_.size(); ++i) {
            if (const auto order = left.bytes_[i] <=> right.bytes_[i]; order != 0) {
                return order;
            }
        }
        return left.scope_id_ <=> right.scope_id_;
    }

private:
    /// True when the first `count` bytes are all zero.
    [[nodiscard]] constexpr bool zeros(std::size_t count) const noexcept {
        for (std::size_t i = 0; i < count; ++i) {
            if (bytes_[i] != 0) {
                return false;
            }
        }
        return true;
    }
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

} // namespace netkit::ip

/// Hashes an ip::address_v6, for unordered containers.
template <>
struct std::hash<netkit::ip::address_v6> {
    /// Consistent with `==` (the scope id included).
    std::size_t operator()(const netkit::ip::address_v6& a) const noexcept {
        return netkit::ip::detail::hash_bytes(a.to_bytes().data(), 16, a.scope_id());
    }
};
