#pragma once

#include <netkit/concepts.hpp>
#include <netkit/detail/syscall.hpp>
#include <netkit/error.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <sys/socket.h>
#include <sys/time.h>

namespace netkit {

/// A string usable as a template argument: the C name of an option ("SO_REUSEADDR").
template <std::size_t N>
struct fixed_string {
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): built from literals
    constexpr fixed_string(const char (&text)[N]) noexcept { std::copy_n(text, N, chars); }
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
    char chars[N]{}; // NOLINT(cppcoreguidelines-avoid-c-arrays): a structural type for NTTP use
};

/// Whether an option can be read (getsockopt), written (setsockopt) or both.
enum class option_access : unsigned {
    get = 1,
    set = 2,
    get_set = 3
};

/// Which protocols an option belongs to: a scope is a type with a `contains<P>` constant and a
/// `description` for the documentation table.
namespace option_scope {
/// Every socket.
struct any_protocol {
    template <class P>
    static constexpr bool contains = protocol<P>;
    static constexpr std::string_view description = "any";
};
/// IPv4 and IPv6 sockets of any protocol (TCP and UDP).
struct ip_protocols {
    template <class P>
    static constexpr bool contains = ip_protocol<P>;
    static constexpr std::string_view description = "tcp, udp";
};
/// Unix-domain sockets.
struct local_protocols {
    template <class P>
    static constexpr bool contains = local_protocol<P>;
    static constexpr std::string_view description = "local";
};
/// TCP only.
struct tcp_only {
    template <class P>
    static constexpr bool contains = std::same_as<P, tcp::protocol>;
    static constexpr std::string_view description = "tcp";
};
/// UDP only.
struct udp_only {
    template <class P>
    static constexpr bool contains = std::same_as<P, udp::protocol>;
    static constexpr std::string_view description = "udp";
};
} // namespace option_scope

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
} // namespace detail

/// bool <-> int 0/1.
struct bool_codec {
    using kernel_type = int;
    static result<socklen_t> encode(bool value, int& out, const char* /*operation*/) noexcept {
        out = value ? 1 : 0;
        return socklen_t{sizeof(int)};
    }
    static result<bool> decode(const int& in, socklen_t /*length*/,
                               const char* /*operation*/) noexcept {
        return in != 0;
    }
};

/// An integer (or enum) <-> the kernel's int, refusing values an int cannot hold, and with
/// `NonNegative` negative ones (sizes, counts).
template <class Value, bool NonNegative = false>
struct int_codec {
    using kernel_type = int;
    static result<socklen_t> encode(Value value, int& out, const char* operation) noexcept {
        if constexpr (std::is_enum_v<Value>) {
            out = static_cast<int>(value);
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
    static result<Value> decode(const int& in, socklen_t /*length*/,
                                const char* operation) noexcept {
        if constexpr (std::is_enum_v<Value>) {
            return static_cast<Value>(in);
        } else {
            // Unsigned kernel values (SO_MARK, TCP_USER_TIMEOUT) travel in an int's bits.
            if constexpr (std::is_unsigned_v<Value>) {
                return static_cast<Value>(static_cast<unsigned>(in));
            } else {
                if (!std::in_range<Value>(in)) {
                    return detail::too_large(operation);
                }
                return static_cast<Value>(in);
            }
        }
    }
};

/// A std::chrono duration <-> an int count of `Unit`s (TCP_KEEPIDLE in seconds, TCP_USER_TIMEOUT
/// in milliseconds, SO_BUSY_POLL in microseconds). Negative, or too many units for an int:
/// an error, not a wrap-around. A value finer than `Unit` is refused at compile time (a
/// duration that does not convert implicitly).
template <class Unit>
struct duration_codec {
    using kernel_type = int;
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
    static result<Unit> decode(const int& in, socklen_t /*length*/,
                               const char* /*operation*/) noexcept {
        return Unit(static_cast<unsigned>(in));
    }
};

/// std::chrono::microseconds <-> struct timeval (SO_RCVTIMEO, SO_SNDTIMEO); zero means "wait
/// forever", as in the kernel.
struct timeval_codec {
    using kernel_type = timeval;
    static result<socklen_t> encode(std::chrono::microseconds value, timeval& out,
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
    static result<std::chrono::microseconds> decode(const timeval& in, socklen_t /*length*/,
                                                    const char* /*operation*/) noexcept {
        return std::chrono::seconds(in.tv_sec) + std::chrono::microseconds(in.tv_usec);
    }
};

/// std::optional<std::chrono::seconds> <-> struct linger: nullopt is "linger off" (close returns
/// at once, the kernel sends what is queued); a value, even zero, is "linger on" (zero: close
/// sends RST and discards what is queued).
struct linger_codec {
    using kernel_type = ::linger;
    static result<socklen_t> encode(const std::optional<std::chrono::seconds>& value, ::linger& out,
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
    static result<std::optional<std::chrono::seconds>>
    decode(const ::linger& in, socklen_t /*length*/, const char* /*operation*/) noexcept {
        if (in.l_onoff == 0) {
            return std::optional<std::chrono::seconds>();
        }
        return std::optional<std::chrono::seconds>(std::chrono::seconds(in.l_linger));
    }
};

/// std::string <-> a NUL-free name of at most Capacity-1 bytes (TCP_CONGESTION, SO_BINDTODEVICE).
template <std::size_t Capacity>
struct string_codec {
    using kernel_type = std::array<char, Capacity>;
    static result<socklen_t> encode(const std::string& value, kernel_type& out,
                                    const char* operation) noexcept {
        if (value.find('\0') != std::string::npos) {
            return detail::out_of_range(operation);
        }
        if (value.size() >= Capacity) {
            return detail::too_large(operation);
        }
        std::copy(value.begin(), value.end(), out.begin());
        return static_cast<socklen_t>(value.size());
    }
    static result<std::string> decode(const kernel_type& in, socklen_t length,
                                      const char* /*operation*/) {
        const std::size_t bytes = std::min<std::size_t>(length, Capacity);
        return std::string(in.data(), ::strnlen(in.data(), bytes));
    }
};

/// A plain kernel struct passed as it is (tcp_info, ip_mreqn, ...). Bytes the kernel did not
/// fill (an older kernel's shorter tcp_info) stay zero.
template <class Struct>
struct struct_codec {
    using kernel_type = Struct;
    static result<socklen_t> encode(const Struct& value, Struct& out,
                                    const char* /*operation*/) noexcept {
        out = value;
        return socklen_t{sizeof(Struct)};
    }
    static result<Struct> decode(const Struct& in, socklen_t /*length*/,
                                 const char* /*operation*/) noexcept {
        return in;
    }
};

// ---- descriptors ------------------------------------------------------------------------------

namespace detail {
template <fixed_string Prefix, fixed_string Name>
struct joined_text {
    static constexpr auto value = [] {
        std::array<char, Prefix.view().size() + 1 + Name.view().size() + 1> out{};
        auto next = std::copy(Prefix.view().begin(), Prefix.view().end(), out.begin());
        *next++ = ' ';
        std::copy(Name.view().begin(), Name.view().end(), next);
        return out;
    }();
};

template <class Value>
struct default_codec {
    using type = int_codec<Value>;
};
template <>
struct default_codec<bool> {
    using type = bool_codec;
};
} // namespace detail

/// A compile-time socket option descriptor: its C name, level, option name, C++ value type,
/// access, the protocols it applies to, and the codec between the value and the kernel's bytes.
///
/// Declaring an option netkit lacks takes one line, and gets every check netkit's own get:
/// @code
/// inline constexpr netkit::socket_option<"TCP_THIN_LINEAR_TIMEOUTS", IPPROTO_TCP,
///     TCP_THIN_LINEAR_TIMEOUTS, bool, netkit::option_access::get_set,
///     netkit::option_scope::tcp_only> thin_linear_timeouts{};
/// @endcode
template <fixed_string CName, int Level, int Name, class Value,
          option_access Access = option_access::get_set, class Scope = option_scope::any_protocol,
          class Codec = typename detail::default_codec<Value>::type>
struct socket_option {
    using value_type = Value;
    using scope = Scope;
    using codec = Codec;
    static constexpr int level = Level;
    static constexpr int name = Name;
    static constexpr option_access access = Access;
    /// "SO_REUSEADDR"
    static constexpr std::string_view c_name = CName.view();
    /// "getsockopt SO_REUSEADDR", "setsockopt SO_REUSEADDR": what errors name.
    static constexpr const char* get_operation =
        detail::joined_text<"getsockopt", CName>::value.data();
    static constexpr const char* set_operation =
        detail::joined_text<"setsockopt", CName>::value.data();
};

/// Any socket option descriptor.
template <class O>
concept socket_option_descriptor = requires {
    typename O::value_type;
    typename O::scope;
    typename O::codec;
    typename O::codec::kernel_type;
    { O::level } -> std::convertible_to<int>;
    { O::name } -> std::convertible_to<int>;
    { O::access } -> std::convertible_to<option_access>;
};

/// An option that getsockopt can read.
template <class O>
concept gettable_option = socket_option_descriptor<O> &&
                          (static_cast<unsigned>(O::access) &
                           static_cast<unsigned>(option_access::get)) != 0;

/// An option that setsockopt can write.
template <class O>
concept settable_option = socket_option_descriptor<O> &&
                          (static_cast<unsigned>(O::access) &
                           static_cast<unsigned>(option_access::set)) != 0;

/// An option that belongs to protocol P.
template <class O, class P>
concept option_applies_to_protocol = socket_option_descriptor<O> && O::scope::template contains<P>;

namespace detail {

template <class Protocol, class Option>
result<typename Option::value_type> get_socket_option(int fd, const Option& /*option*/) noexcept {
    static_assert(socket_option_descriptor<Option>,
                  "netkit: get() takes a socket option descriptor");
    static_assert(gettable_option<Option>,
                  "netkit: this socket option is write-only: it cannot be read with get()");
    static_assert(option_applies_to_protocol<Option, Protocol>,
                  "netkit: this socket option does not apply to this socket's protocol");
    typename Option::codec::kernel_type raw{};
    socklen_t length = sizeof raw;
    if (auto got =
            get_option(fd, Option::level, Option::name, &raw, &length, Option::get_operation);
        !got) {
        return failure{got.error()};
    }
    return Option::codec::decode(raw, length, Option::get_operation);
}

template <class Protocol, class Option, class Value>
result<void> set_socket_option(int fd, const Option& /*option*/, const Value& value) noexcept {
    static_assert(socket_option_descriptor<Option>,
                  "netkit: set() takes a socket option descriptor");
    static_assert(settable_option<Option>,
                  "netkit: this socket option is read-only: it cannot be set with set()");
    static_assert(option_applies_to_protocol<Option, Protocol>,
                  "netkit: this socket option does not apply to this socket's protocol");
    using value_type = typename Option::value_type;
    static_assert(std::is_same_v<value_type, bool> == std::is_same_v<Value, bool> &&
                      std::is_convertible_v<const Value&, value_type>,
                  "netkit: wrong value type for this socket option (see its value_type; a bool "
                  "option takes true or false, and only a bool option does)");
    typename Option::codec::kernel_type raw{};
    auto length = Option::codec::encode(static_cast<value_type>(value), raw, Option::set_operation);
    if (!length) {
        return failure{length.error()};
    }
    return set_option(fd, Option::level, Option::name, &raw, *length, Option::set_operation);
}

} // namespace detail

} // namespace netkit
