#pragma once

#include <netkit/addr/address_v4.hpp>
#include <netkit/addr/address_v6.hpp>

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace netkit::ip {

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

} // namespace netkit::ip

/// Hashes an ip::address, for unordered containers.
template <>
struct std::hash<netkit::ip::address> {
    /// Consistent with `==`.
    std::size_t operator()(const netkit::ip::address& a) const noexcept {
        return a.is_v4() ? std::hash<netkit::ip::address_v4>{}(a.v4())
                         : std::hash<netkit::ip::address_v6>{}(a.v6());
    }
};
