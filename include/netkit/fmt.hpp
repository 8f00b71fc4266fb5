#pragma once

/// fmt formatters for netkit's addresses, endpoints and errors. Opt-in: this is the only
/// netkit header that needs {fmt}.
///
/// @code
/// fmt::print("listening on {}\n", acceptor.local_endpoint().value());   // 127.0.0.1:8080
/// fmt::print("failed: {}\n", result.error());                           // connect 127.0.0.1:9:
/// Connection refused
/// @endcode

#include <netkit/addr/address.hpp>
#include <netkit/addr/endpoint.hpp>
#include <netkit/addr/local_endpoint.hpp>
#include <netkit/core/error.hpp>

#include <fmt/format.h>

#include <string>

namespace netkit::detail {
/// Formats any netkit type with a `to_string()` (or an error's `message()`), honouring the
/// string format spec (width, fill, alignment).
struct text_formatter : fmt::formatter<fmt::string_view> {
    template <class FormatContext>
    auto format_text(const std::string& text, FormatContext& context) const {
        return fmt::formatter<fmt::string_view>::format(fmt::string_view(text), context);
    }
};
} // namespace netkit::detail

/// @namespace fmt
/// {fmt}'s namespace, where the formatters below specialise `fmt::formatter`.

/// An IPv4 address as its dotted quad (address_v4::to_string).
/// The string format spec applies: `fmt::format("{:>24}", x)`.
template <>
struct fmt::formatter<netkit::ip::address_v4> : netkit::detail::text_formatter {
    /// Writes the text into `context`, padded and aligned as the format spec says.
    template <class FormatContext>
    auto format(const netkit::ip::address_v4& a, FormatContext& context) const {
        return format_text(a.to_string(), context);
    }
};
/// An IPv6 address in RFC 5952 text (address_v6::to_string).
/// The string format spec applies: `fmt::format("{:>24}", x)`.
template <>
struct fmt::formatter<netkit::ip::address_v6> : netkit::detail::text_formatter {
    /// Writes the text into `context`, padded and aligned as the format spec says.
    template <class FormatContext>
    auto format(const netkit::ip::address_v6& a, FormatContext& context) const {
        return format_text(a.to_string(), context);
    }
};
/// An IPv4 or IPv6 address as its text (address::to_string).
/// The string format spec applies: `fmt::format("{:>24}", x)`.
template <>
struct fmt::formatter<netkit::ip::address> : netkit::detail::text_formatter {
    /// Writes the text into `context`, padded and aligned as the format spec says.
    template <class FormatContext>
    auto format(const netkit::ip::address& a, FormatContext& context) const {
        return format_text(a.to_string(), context);
    }
};
/// An IP endpoint as "1.2.3.4:80" or "[::1]:80" (endpoint::to_string).
/// The string format spec applies: `fmt::format("{:>24}", x)`.
template <>
struct fmt::formatter<netkit::ip::endpoint> : netkit::detail::text_formatter {
    /// Writes the text into `context`, padded and aligned as the format spec says.
    template <class FormatContext>
    auto format(const netkit::ip::endpoint& e, FormatContext& context) const {
        return format_text(e.to_string(), context);
    }
};
/// A Unix-domain endpoint as `/path`, `@abstract` or `(unnamed)` (endpoint::to_string).
/// The string format spec applies: `fmt::format("{:>24}", x)`.
template <>
struct fmt::formatter<netkit::local::endpoint> : netkit::detail::text_formatter {
    /// Writes the text into `context`, padded and aligned as the format spec says.
    template <class FormatContext>
    auto format(const netkit::local::endpoint& e, FormatContext& context) const {
        return format_text(e.to_string(), context);
    }
};
/// An error as its message: operation, endpoint if any, and reason (error::message).
/// The string format spec applies: `fmt::format("{:>24}", x)`.
template <>
struct fmt::formatter<netkit::error> : netkit::detail::text_formatter {
    /// Writes the text into `context`, padded and aligned as the format spec says.
    template <class FormatContext>
    auto format(const netkit::error& e, FormatContext& context) const {
        return format_text(e.message(), context);
    }
};
