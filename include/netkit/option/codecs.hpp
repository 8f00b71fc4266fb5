#pragma once

#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/toolchain_shims.hpp>

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <ratio>
#include <string>
#include <string_view>
#include <type_traits>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace netkit {
// ---- codecs: how a C++ value crosses to the kernel and back ----------------------------------
//
// A codec has a `kernel_type` (the storage getsockopt fills and setsockopt reads), `encode`
// (value -> kernel bytes, returning how many to pass, or an error for a value the kernel field
// cannot hold) and `decode` (kernel bytes and the length the kernel reported -> value).

namespace detail {
inline failure out_of_range(const char* operation) noexcept {
    return errc_failure(std::errc::invalid_argument, operation);
}
inline failure too_large(const char* operation) noexcept {
    return errc_failure(std::errc::value_too_large, operation);
}
inline failure out_of_memory(const char* operation) noexcept {
    return errc_failure(std::errc::not_enough_memory, operation);
}
} // namespace detail

/// Bool (`bool`) <-> int 0/1. Use it as `bool_codec`. Every codec is a class template, so that
/// its code compiles only where an option uses it, not in every file that includes netkit.
template <class Bool>
struct basic_bool_codec {
    /// The kernel's storage for the option: an int.
    using kernel_type = int;
    /// Writes 1 for true, 0 for false; returns sizeof(int). Never fails.
    static result<socklen_t> encode(Bool value, int& out, const char* /*operation*/) noexcept {
        out = value ? 1 : 0;
        return socklen_t{sizeof(int)};
    }
    /// True for any non-zero int. Never fails.
    static result<Bool> decode(const int& in, socklen_t /*length*/,
                               const char* /*operation*/) noexcept {
        return in != 0;
    }
};

/// The codec of bool options: bool <-> int 0/1.
using bool_codec = basic_bool_codec<bool>;

/// An integer (or enum) <-> the kernel's int, refusing values an int cannot hold, and with
/// `NonNegative` negative ones (sizes, counts). An unsigned `Value` stands for an unsigned kernel
/// field (SO_MARK is a u32): it travels in the int's bits, so every value up to UINT_MAX is
/// accepted and reads back unchanged.
template <class Value, bool NonNegative = false>
struct int_codec {
    /// The kernel's storage for the option: an int.
    using kernel_type = int;
    /// Stores `value` in `out` and returns sizeof(int). Errors (named by `operation`):
    /// `invalid_argument` for a negative value when `NonNegative`, `value_too_large` for a value
    /// an int (or, for an unsigned `Value`, an unsigned int) cannot hold.
    static result<socklen_t> encode(Value value, int& out, const char* operation) noexcept {
        if constexpr (std::is_enum_v<Value>) {
            out = static_cast<int>(value);
        } else if constexpr (std::is_unsigned_v<Value>) {
            if (!std::in_range<unsigned>(value)) {
                return detail::too_large(operation);
            }
            out = std::bit_cast<int>(static_cast<unsigned>(value));
        } else {
            if (NonNegative && value < 0) {
                return detail::out_of_range(operation);
            }
            if (!std::in_range<int>(value)) {
                return detail::too_large(operation);
            }
            out = static_cast<int>(value);
        }
        return socklen_t{sizeof(int)};
    }
    /// The kernel's int as a `Value` (an unsigned `Value` takes its bits). Error:
    /// `value_too_large` when a signed `Value` narrower than int cannot hold it.
    static result<Value> decode(const int& in, socklen_t /*length*/,
                                const char* operation) noexcept {
        if constexpr (std::is_enum_v<Value>) {
            // Well defined for an enum with a fixed underlying type; netkit's enums name every
            // value their option's kernel code can return.
            return static_cast<Value>(in);
        } else if constexpr (std::is_unsigned_v<Value>) {
            return static_cast<Value>(std::bit_cast<unsigned>(in));
        } else {
            if (!std::in_range<Value>(in)) {
                return detail::too_large(operation);
            }
            return static_cast<Value>(in);
        }
    }
};

/// A std::chrono duration <-> an int count of `Unit`s (TCP_KEEPIDLE in seconds, TCP_USER_TIMEOUT
/// in milliseconds, SO_BUSY_POLL in microseconds). Negative, or too many units for an int:
/// an error, not a wrap-around. A value finer than `Unit` is refused at compile time (a
/// duration that does not convert implicitly).
template <class Unit>
struct duration_codec {
    /// The kernel's storage for the option: an int count of `Unit`s.
    using kernel_type = int;
    /// Stores the count of `Unit`s and returns sizeof(int). Errors: `invalid_argument` for a
    /// negative duration, `value_too_large` for more units than an int holds.
    static result<socklen_t> encode(Unit value, int& out, const char* operation) noexcept {
        if (value.count() < 0) {
            return detail::out_of_range(operation);
        }
        if (!std::in_range<int>(value.count())) {
            return detail::too_large(operation);
        }
        out = static_cast<int>(value.count());
        return socklen_t{sizeof(int)};
    }
    /// The kernel's count as a `Unit` duration. Never fails.
    static result<Unit> decode(const int& in, socklen_t /*length*/,
                               const char* /*operation*/) noexcept {
        return Unit(static_cast<unsigned>(in));
    }
};

/// Microseconds (std::chrono::microseconds) <-> struct timeval (SO_RCVTIMEO, SO_SNDTIMEO); zero
/// means "wait forever", as in the kernel. Use it as `timeval_codec` (a template, as every codec
/// is: see `basic_bool_codec`).
template <class Microseconds>
struct basic_timeval_codec {
    /// The kernel's storage for the option: a struct timeval.
    using kernel_type = timeval;
    /// Splits `value` into seconds and microseconds; returns sizeof(timeval). Errors:
    /// `invalid_argument` for a negative duration, `value_too_large` for more seconds than a
    /// time_t holds.
    static result<socklen_t> encode(Microseconds value, timeval& out,
                                    const char* operation) noexcept {
        if (value.count() < 0) {
            return detail::out_of_range(operation);
        }
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(value);
        if (!std::in_range<time_t>(seconds.count())) {
            return detail::too_large(operation);
        }
        out.tv_sec = static_cast<time_t>(seconds.count());
        out.tv_usec = static_cast<suseconds_t>((value - seconds).count());
        return socklen_t{sizeof(timeval)};
    }
    /// The timeval as microseconds. Never fails.
    static result<Microseconds> decode(const timeval& in, socklen_t /*length*/,
                                       const char* /*operation*/) noexcept {
        return std::chrono::seconds(in.tv_sec) + Microseconds(in.tv_usec);
    }
};

/// The codec of SO_RCVTIMEO and SO_SNDTIMEO: std::chrono::microseconds <-> struct timeval.
using timeval_codec = basic_timeval_codec<std::chrono::microseconds>;

/// std::optional<Seconds> <-> struct linger: nullopt is "linger off" (close returns at once, the
/// kernel sends what is queued); a value, even zero, is "linger on" (zero: close sends RST and
/// discards what is queued). Use it as `linger_codec` (a template, as every codec is: see
/// `basic_bool_codec`).
template <class Seconds>
struct basic_linger_codec {
    /// The kernel's storage for the option: a struct linger.
    using kernel_type = ::linger;
    /// Sets l_onoff from whether `value` holds a duration, l_linger from its seconds; returns
    /// sizeof(linger). Errors: `invalid_argument` for negative seconds, `value_too_large` for
    /// more than an int holds.
    static result<socklen_t> encode(const std::optional<Seconds>& value, ::linger& out,
                                    const char* operation) noexcept {
        out.l_onoff = value.has_value() ? 1 : 0;
        out.l_linger = 0;
        if (value) {
            if (value->count() < 0) {
                return detail::out_of_range(operation);
            }
            if (!std::in_range<int>(value->count())) {
                return detail::too_large(operation);
            }
            out.l_linger = static_cast<int>(value->count());
        }
        return socklen_t{sizeof(::linger)};
    }
    /// nullopt when l_onoff is 0, else l_linger seconds. Never fails.
    static result<std::optional<Seconds>> decode(const ::linger& in, socklen_t /*length*/,
                                                 const char* /*operation*/) noexcept {
        if (in.l_onoff == 0) {
            return std::optional<Seconds>();
        }
        return std::optional<Seconds>(Seconds(in.l_linger));
    }
};

/// The codec of SO_LINGER (`so::linger`): std::optional<std::chrono::seconds> <-> struct linger.
using linger_codec = basic_linger_codec<std::chrono::seconds>;

/// std::string <-> a NUL-free name of at most Capacity-1 bytes (TCP_CONGESTION, SO_BINDTODEVICE).
/// `encode` takes a std::string_view, so setting from a literal, a std::string or a view copies
/// the bytes once, into the kernel's buffer, and allocates nothing; `decode` reports an
/// allocation failure as `not_enough_memory` instead of throwing.
template <std::size_t Capacity>
struct string_codec {
    /// The kernel's storage for the option: a buffer of `Capacity` chars.
    using kernel_type = std::array<char, Capacity>;
    /// Copies the name into `out` (no NUL added) and returns its length. Errors:
    /// `invalid_argument` for a name containing a NUL, `value_too_large` for one of `Capacity`
    /// bytes or more.
    static result<socklen_t> encode(std::string_view value, kernel_type& out,
                                    const char* operation) noexcept {
        if (value.find('\0') != std::string_view::npos) {
            return detail::out_of_range(operation);
        }
        if (value.size() >= Capacity) {
            return detail::too_large(operation);
        }
        detail::copy_elements(value.data(), value.size(), out.data());
        return static_cast<socklen_t>(value.size());
    }
    /// The same for a NUL-terminated string such as a literal, whose conversion to a
    /// std::string_view libc++ does not promise cannot throw.
    static result<socklen_t> encode(const char* value, kernel_type& out,
                                    const char* operation) noexcept {
        return encode(std::string_view(value, ::strlen(value)), out, operation);
    }
    /// The name up to its first NUL, within the `length` bytes the kernel reported. Error:
    /// `not_enough_memory` if the string cannot be allocated.
    static result<std::string> decode(const kernel_type& in, socklen_t length,
                                      const char* operation) noexcept {
        const std::size_t bytes = detail::min_of<std::size_t>(length, Capacity);
        const std::string_view name(in.data(), ::strnlen(in.data(), bytes));
#if defined(__cpp_exceptions)
        try {
            return std::string(name);
        } catch (const std::bad_alloc&) {
            return detail::out_of_memory(operation);
        }
#else
        (void)operation; // without exceptions, a failed allocation ends the program anyway
        return std::string(name);
#endif
    }
};

/// A multicast group to join or leave on one interface (`ip::multicast_membership`,
/// `ipv6::multicast_membership`) -> the kernel's request for it, `Request`: a struct ip_mreqn
/// (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP) or a struct ipv6_mreq (IPV6_JOIN_GROUP,
/// IPV6_LEAVE_GROUP). `ip::membership_codec` and `ipv6::membership_codec` name the two.
template <class Membership, class Request>
    requires std::same_as<Request, ip_mreqn> || std::same_as<Request, ipv6_mreq>
struct multicast_membership_codec {
    /// The kernel's storage for the option: the request struct.
    using kernel_type = Request;
    /// Fills the request and returns its size. Error: `invalid_argument` when `group` is not a
    /// multicast address.
    static result<socklen_t> encode(const Membership& value, Request& out,
                                    const char* operation) noexcept {
        if (!value.group.is_multicast()) {
            return detail::out_of_range(operation);
        }
        if constexpr (std::same_as<Request, ip_mreqn>) {
            out.imr_multiaddr = value.group.to_in_addr();
            out.imr_address = value.interface.to_in_addr();
            out.imr_ifindex = value.interface_index;
        } else {
            out.ipv6mr_multiaddr = value.group.to_in6_addr();
            out.ipv6mr_interface = value.interface_index;
        }
        return socklen_t{sizeof(Request)};
    }
};

/// A plain kernel struct passed as it is (tcp_info, ip_mreqn, ...). Bytes the kernel did not
/// fill (an older kernel's shorter tcp_info) stay zero.
template <class Struct>
struct struct_codec {
    /// The kernel's storage for the option: the struct itself.
    using kernel_type = Struct;
    /// Copies `value`; returns sizeof(Struct). Never fails.
    static result<socklen_t> encode(const Struct& value, Struct& out,
                                    const char* /*operation*/) noexcept {
        out = value;
        return socklen_t{sizeof(Struct)};
    }
    /// A copy of the struct. Never fails.
    static result<Struct> decode(const Struct& in, socklen_t /*length*/,
                                 const char* /*operation*/) noexcept {
        return in;
    }
};

} // namespace netkit
