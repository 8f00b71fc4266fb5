#pragma once

#include <string>
#include <system_error>
#include <type_traits>

namespace netkit {

/// Why a text could not be read as an address or endpoint, or why a name cannot be an endpoint.
enum class address_errc {
    empty = 1,               ///< nothing to parse
    invalid_ipv4,            ///< not four decimal octets 0-255 without leading zeros
    invalid_ipv6,            ///< not an RFC 4291 text form
    invalid_scope,           ///< "%" not followed by a known interface name or a number
    missing_port,            ///< no ":port" after the host
    invalid_port,            ///< an empty port, or more digits than a port has ("000080")
    unterminated_bracket,    ///< "[" without "]"
    unexpected_character,    ///< trailing or misplaced text
    path_too_long,           ///< a Unix-domain name longer than sun_path holds
    embedded_nul,            ///< a NUL byte inside a filesystem path
    wrong_family,            ///< a socket address of another family than the endpoint type
    address_too_short,       ///< a socket address shorter than its family requires
    ipv4_octet_out_of_range, ///< four decimal octets, one of them over 255
    host_is_name,            ///< a host name, not a numeric address: a job for `netkit::resolve`
    port_not_a_number,       ///< a port with a character other than a decimal digit
    port_out_of_range,       ///< a decimal port over 65535
};

namespace detail {
class address_category_impl final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "netkit.address"; }
    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<address_errc>(value)) {
        case address_errc::empty:
            return "empty address";
        case address_errc::invalid_ipv4:
            return "invalid IPv4 address";
        case address_errc::invalid_ipv6:
            return "invalid IPv6 address";
        case address_errc::invalid_scope:
            return "invalid IPv6 scope (unknown interface)";
        case address_errc::missing_port:
            return "missing port";
        case address_errc::invalid_port:
            return "invalid port (expected 0-65535)";
        case address_errc::unterminated_bracket:
            return "unterminated '[' in address";
        case address_errc::unexpected_character:
            return "unexpected character in address";
        case address_errc::path_too_long:
            return "Unix socket path too long for sun_path";
        case address_errc::embedded_nul:
            return "NUL byte inside a Unix socket path";
        case address_errc::wrong_family:
            return "socket address of the wrong family";
        case address_errc::address_too_short:
            return "socket address too short for its family";
        case address_errc::ipv4_octet_out_of_range:
            return "IPv4 octet out of range (0-255)";
        case address_errc::host_is_name:
            return "a host name, not a numeric address (names need netkit::resolve)";
        case address_errc::port_not_a_number:
            return "port is not a decimal number";
        case address_errc::port_out_of_range:
            return "port out of range (0-65535)";
        }
        return "unknown address error";
    }
    [[nodiscard]] std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<address_errc>(value)) {
        case address_errc::path_too_long:
            return std::errc::filename_too_long;
        case address_errc::wrong_family:
            return std::errc::address_family_not_supported;
        default:
            return std::errc::invalid_argument;
        }
    }
};
} // namespace detail

/// The category of `address_errc`; its conditions map onto `std::errc::invalid_argument`
/// (and `filename_too_long`, `address_family_not_supported`) so generic checks still work.
inline const std::error_category& address_category() noexcept {
    static const detail::address_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(address_errc code) noexcept {
    return {static_cast<int>(code), address_category()};
}

} // namespace netkit

template <>
struct std::is_error_code_enum<netkit::address_errc> : std::true_type {};
