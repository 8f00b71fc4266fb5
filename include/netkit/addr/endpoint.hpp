#pragma once

#include <netkit/addr/address.hpp>
#include <netkit/addr/address_error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/endpoint_conversions.hpp>
#include <netkit/detail/minimal_algorithms.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>

namespace netkit::ip {

/// An IP address and a port. It holds the kernel's own `sockaddr_in`/`sockaddr_in6`, so handing
/// it to bind, connect or sendto costs no conversion.
class endpoint {
public:
    /// 0.0.0.0:0
    endpoint() noexcept { storage_.v4.sin_family = AF_INET; }
    /// `host` and `port` (host byte order); an IPv6 host keeps its scope id.
    endpoint(const ip::address& host, std::uint16_t port) noexcept {
        if (host.is_v4()) {
            storage_.v4.sin_family = AF_INET;
            storage_.v4.sin_port = htons(port);
            storage_.v4.sin_addr = host.v4().to_in_addr();
        } else {
            storage_.v6.sin6_family = AF_INET6;
            storage_.v6.sin6_port = htons(port);
            storage_.v6.sin6_addr = host.v6().to_in6_addr();
            storage_.v6.sin6_scope_id = host.v6().scope_id();
        }
    }
    /// The wildcard address of a family ("0.0.0.0" or "::") with a port: what a server binds.
    endpoint(ip::family family, std::uint16_t port) noexcept
        : endpoint(family == ip::family::v4 ? ip::address(address_v4::any())
                                            : ip::address(address_v6::any()),
                   port) {}

    /// "1.2.3.4:80", "[::1]:80", "[fe80::1%eth0]:80". The port is required and decimal (0-65535);
    /// IPv6 hosts must be bracketed, so the port is never ambiguous.
    static result<endpoint> parse(std::string_view text) noexcept {
        constexpr const char* operation = "parse ip::endpoint";
        const auto fail = [text](address_errc code) {
            return detail::parse_failure(code, operation, text);
        };
        if (text.empty()) {
            return fail(address_errc::empty);
        }
        std::string_view host;
        std::string_view rest;
        if (text.front() == '[') {
            const auto close = text.find(']');
            if (close == std::string_view::npos) {
                return fail(address_errc::unterminated_bracket);
            }
            host = text.substr(1, close - 1);
            rest = text.substr(close + 1);
            if (host.empty()) {
                return fail(address_errc::invalid_ipv6);
            }
        } else {
            const auto colon = text.find(':');
            if (colon == std::string_view::npos) {
                // "example.com": a name is the deeper mistake than the missing port.
                return fail(detail::is_host_name(text) ? address_errc::host_is_name
                                                       : address_errc::missing_port);
            }
            host = text.substr(0, colon);
            rest = text.substr(colon);
            if (rest.find(':', 1) != std::string_view::npos) {
                // "::1:80" and friends: an unbracketed IPv6 address.
                return fail(address_errc::unexpected_character);
            }
        }
        if (rest.empty()) {
            return fail(address_errc::missing_port);
        }
        if (rest.front() != ':') {
            return fail(address_errc::unexpected_character);
        }
        std::uint16_t port = 0;
        if (const auto why = parse_port(rest.substr(1), port); why != address_errc{}) {
            return fail(why);
        }
        if (text.front() == '[') {
            auto parsed_v6 = address_v6::parse(host);
            if (!parsed_v6) {
                return detail::parse_failure(parsed_v6.error(), operation, text);
            }
            return endpoint(*parsed_v6, port);
        }
        auto parsed_v4 = address_v4::parse(host);
        if (!parsed_v4) {
            return detail::parse_failure(parsed_v4.error(), operation, text);
        }
        return endpoint(*parsed_v4, port);
    }

    /// Reads a socket address the kernel produced (getsockname, recvfrom, ...).
    static result<endpoint> from_sockaddr(const sockaddr* address, socklen_t length) noexcept {
        if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) {
            return failure{error(make_error_code(address_errc::address_too_short), "endpoint")};
        }
        sa_family_t family{};
        std::memcpy(&family, address, sizeof family);
        endpoint result;
        if (family == AF_INET) {
            if (length < static_cast<socklen_t>(sizeof(sockaddr_in))) {
                return failure{error(make_error_code(address_errc::address_too_short), "endpoint")};
            }
            std::memcpy(&result.storage_.v4, address, sizeof(sockaddr_in));
        } else if (family == AF_INET6) {
            if (length < static_cast<socklen_t>(sizeof(sockaddr_in6))) {
                return failure{error(make_error_code(address_errc::address_too_short), "endpoint")};
            }
            std::memcpy(&result.storage_.v6, address, sizeof(sockaddr_in6));
        } else {
            return failure{error(make_error_code(address_errc::wrong_family), "endpoint")};
        }
        return result;
    }

    /// v4 or v6.
    [[nodiscard]] ip::family family() const noexcept {
        return storage_.any.sa_family == AF_INET6 ? ip::family::v6 : ip::family::v4;
    }
    /// The IP address (with its scope id, for IPv6).
    [[nodiscard]] ip::address address() const noexcept {
        if (family() == ip::family::v4) {
            return address_v4::from_in_addr(storage_.v4.sin_addr);
        }
        return address_v6::from_in6_addr(storage_.v6.sin6_addr, storage_.v6.sin6_scope_id);
    }
    /// The port, in host byte order.
    [[nodiscard]] std::uint16_t port() const noexcept {
        return ntohs(family() == ip::family::v4 ? storage_.v4.sin_port : storage_.v6.sin6_port);
    }
    /// Replaces the port (given in host byte order); the address stays.
    void port(std::uint16_t value) noexcept {
        (family() == ip::family::v4 ? storage_.v4.sin_port : storage_.v6.sin6_port) = htons(value);
    }

    /// Reads `length` bytes of a `sockaddr_storage` that the kernel or a C API filled.
    static result<endpoint> from_sockaddr(const sockaddr_storage& address,
                                          socklen_t length) noexcept {
        return netkit::detail::endpoint_from_storage<endpoint>(address, length);
    }
    /// The address copied into a `sockaddr_storage`, for C APIs that take one (its length is
    /// `size()`).
    [[nodiscard]] sockaddr_storage to_sockaddr_storage() const noexcept {
        return netkit::detail::to_sockaddr_storage(data(), size());
    }

    /// The socket address, ready for the kernel.
    [[nodiscard]] const sockaddr* data() const noexcept { return &storage_.any; }
    /// The address length the kernel takes with `data()`: sizeof(sockaddr_in) or
    /// sizeof(sockaddr_in6).
    [[nodiscard]] socklen_t size() const noexcept {
        return family() == ip::family::v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    }
    /// Largest socket address this type reads back from the kernel.
    static constexpr socklen_t capacity = sizeof(sockaddr_in6);

    /// "1.2.3.4:80" or "[::1]:80" (scope as "%index").
    [[nodiscard]] std::string to_string() const {
        return netkit::detail::sockaddr_string(data(), size());
    }

    /// True for the same family, address (scope id included) and port.
    friend bool operator==(const endpoint& a, const endpoint& b) noexcept {
        return a.family() == b.family() && a.port() == b.port() && a.address() == b.address();
    }
    /// Ordered by address, then port.
    friend std::strong_ordering operator<=>(const endpoint& a, const endpoint& b) noexcept {
        if (auto order = a.address() <=> b.address(); order != 0) {
            return order;
        }
        return a.port() <=> b.port();
    }

private:
    /// Decimal 0-65535 (leading zeros allowed up to five digits); the reason it is not, or a
    /// value-initialised `address_errc` on success.
    static address_errc parse_port(std::string_view text, std::uint16_t& port) noexcept {
        if (text.empty()) {
            return address_errc::invalid_port;
        }
        if (!detail::all_digits(text)) {
            return address_errc::port_not_a_number;
        }
        std::uint32_t value = 0;
        for (char c : text) {
            value =
                netkit::detail::min_of(value * 10 + static_cast<std::uint32_t>(c - '0'), 100000U);
        }
        if (value > 65535) {
            return address_errc::port_out_of_range;
        }
        if (text.size() > 5) {
            return address_errc::invalid_port; // "000080": more digits than a port has
        }
        port = static_cast<std::uint16_t>(value);
        return address_errc{};
    }

    union storage {
        sockaddr any;
        sockaddr_in v4;
        sockaddr_in6 v6;
    } storage_{};
};

} // namespace netkit::ip

/// Hashes an IP endpoint (address and port), for unordered containers.
template <>
struct std::hash<netkit::ip::endpoint> {
    /// Consistent with `==`.
    std::size_t operator()(const netkit::ip::endpoint& e) const noexcept {
        return std::hash<netkit::ip::address>{}(e.address()) * 31U + e.port();
    }
};
