#pragma once

#include <netkit/concepts.hpp>
#include <netkit/detail/syscall.hpp>
#include <netkit/result.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <ratio>
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
    /// Copies a string literal, its terminating NUL included (implicit, so that a literal can be
    /// written as the template argument).
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): built from literals
    constexpr fixed_string(const char (&text)[N]) noexcept { std::copy_n(text, N, chars); }
    /// The text, without its terminating NUL.
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
    /// The characters and the terminating NUL (public: a template argument must be structural).
    char chars[N]{}; // NOLINT(cppcoreguidelines-avoid-c-arrays): a structural type for NTTP use
};

/// Whether an option can be read (getsockopt), written (setsockopt) or both.
enum class option_access : unsigned {
    get = 1,    ///< read-only: `get` compiles, `set` does not
    set = 2,    ///< write-only: `set` compiles, `get` does not
    get_set = 3 ///< both
};

/// Which protocols an option belongs to: a scope is a type with a `contains<P>` constant and a
/// `description` for the documentation table.
namespace option_scope {
/// Every socket.
struct any_protocol {
    /// True if the option applies to sockets of the protocol tag `P`.
    template <class P>
    static constexpr bool contains = protocol_tag<P>;
    /// The protocols, as the table in docs/options.md lists them.
    static constexpr std::string_view description = "any";
};
/// IPv4 and IPv6 sockets of any protocol (TCP and UDP).
struct ip_protocols {
    /// True if the option applies to sockets of the protocol tag `P`.
    template <class P>
    static constexpr bool contains = opens_by_family<P>;
    /// The protocols, as the table in docs/options.md lists them.
    static constexpr std::string_view description = "tcp, udp";
};
/// Unix-domain sockets.
struct local_protocols {
    /// True if the option applies to sockets of the protocol tag `P`.
    template <class P>
    static constexpr bool contains = can_pair<P>;
    /// The protocols, as the table in docs/options.md lists them.
    static constexpr std::string_view description = "local";
};
/// TCP only.
struct tcp_only {
    /// True if the option applies to sockets of the protocol tag `P`.
    template <class P>
    static constexpr bool contains = std::same_as<P, tcp::protocol>;
    /// The protocols, as the table in docs/options.md lists them.
    static constexpr std::string_view description = "tcp";
};
/// UDP only.
struct udp_only {
    /// True if the option applies to sockets of the protocol tag `P`.
    template <class P>
    static constexpr bool contains = std::same_as<P, udp::protocol>;
    /// The protocols, as the table in docs/options.md lists them.
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
inline failure out_of_memory(const char* operation) noexcept {
    return errc_failure(std::errc::not_enough_memory, operation);
}
} // namespace detail

/// bool <-> int 0/1.
struct bool_codec {
    /// The kernel's storage for the option: an int.
    using kernel_type = int;
    /// Writes 1 for true, 0 for false; returns sizeof(int). Never fails.
    static result<socklen_t> encode(bool value, int& out, const char* /*operation*/) noexcept {
        out = value ? 1 : 0;
        return socklen_t{sizeof(int)};
    }
    /// True for any non-zero int. Never fails.
    static result<bool> decode(const int& in, socklen_t /*length*/,
                               const char* /*operation*/) noexcept {
        return in != 0;
    }
};

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

/// std::chrono::microseconds <-> struct timeval (SO_RCVTIMEO, SO_SNDTIMEO); zero means "wait
/// forever", as in the kernel.
struct timeval_codec {
    /// The kernel's storage for the option: a struct timeval.
    using kernel_type = timeval;
    /// Splits `value` into seconds and microseconds; returns sizeof(timeval). Errors:
    /// `invalid_argument` for a negative duration, `value_too_large` for more seconds than a
    /// time_t holds.
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
    /// The timeval as microseconds. Never fails.
    static result<std::chrono::microseconds> decode(const timeval& in, socklen_t /*length*/,
                                                    const char* /*operation*/) noexcept {
        return std::chrono::seconds(in.tv_sec) + std::chrono::microseconds(in.tv_usec);
    }
};

/// std::optional<std::chrono::seconds> <-> struct linger: nullopt is "linger off" (close returns
/// at once, the kernel sends what is queued); a value, even zero, is "linger on" (zero: close
/// sends RST and discards what is queued).
struct linger_codec {
    /// The kernel's storage for the option: a struct linger.
    using kernel_type = ::linger;
    /// Sets l_onoff from whether `value` holds a duration, l_linger from its seconds; returns
    /// sizeof(linger). Errors: `invalid_argument` for negative seconds, `value_too_large` for
    /// more than an int holds.
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
    /// nullopt when l_onoff is 0, else l_linger seconds. Never fails.
    static result<std::optional<std::chrono::seconds>>
    decode(const ::linger& in, socklen_t /*length*/, const char* /*operation*/) noexcept {
        if (in.l_onoff == 0) {
            return std::optional<std::chrono::seconds>();
        }
        return std::optional<std::chrono::seconds>(std::chrono::seconds(in.l_linger));
    }
};

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
        std::copy(value.begin(), value.end(), out.begin());
        return static_cast<socklen_t>(value.size());
    }
    /// The name up to its first NUL, within the `length` bytes the kernel reported. Error:
    /// `not_enough_memory` if the string cannot be allocated.
    static result<std::string> decode(const kernel_type& in, socklen_t length,
                                      const char* operation) noexcept {
        const std::size_t bytes = std::min<std::size_t>(length, Capacity);
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
    /// The C++ type `get` returns and `set` takes (the value `set` takes converts to it).
    using value_type = Value;
    /// The protocols the option applies to (an `option_scope` type); elsewhere it does not compile.
    using scope = Scope;
    /// How `value_type` crosses to the kernel's bytes and back.
    using codec = Codec;
    /// The `level` argument of getsockopt/setsockopt (SOL_SOCKET, IPPROTO_TCP, ...).
    static constexpr int level = Level;
    /// The `optname` argument of getsockopt/setsockopt (SO_REUSEADDR, ...).
    static constexpr int name = Name;
    /// Whether the option may be read, written or both.
    static constexpr option_access access = Access;
    /// "SO_REUSEADDR"
    static constexpr std::string_view c_name = CName.view();
    /// "getsockopt SO_REUSEADDR": the operation an error of `get` names.
    static constexpr const char* get_operation =
        detail::joined_text<"getsockopt", CName>::value.data();
    /// "setsockopt SO_REUSEADDR": the operation an error of `set` names.
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

// ---- what set() accepts, and how it checks a value's range before converting it -------------

template <class T>
inline constexpr bool is_duration = false;
template <class Rep, class Period>
inline constexpr bool is_duration<std::chrono::duration<Rep, Period>> = true;

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

// What a value counts in: the scalar itself, a duration's rep, or that of an optional's value
// (SO_LINGER's optional<seconds> counts in seconds' rep).
template <class T>
struct count_type {
    using type = T;
};
template <class Rep, class Period>
struct count_type<std::chrono::duration<Rep, Period>> {
    using type = Rep;
};
template <class T>
struct count_type<std::optional<T>> : count_type<T> {};
template <class T>
using count_type_t = typename count_type<T>::type;

// A value type counted in whole units: an integer (not bool), an integer-rep duration, or an
// optional one of those.
template <class T>
constexpr bool counts_whole_units() noexcept {
    return std::is_integral_v<count_type_t<T>> && !std::is_same_v<count_type_t<T>, bool>;
}

// A floating-point value: a float or double, a duration<double>, or an optional one.
template <class V>
constexpr bool is_floating_value() noexcept {
    return std::is_floating_point_v<count_type_t<V>>;
}

// A caller's value whose range set() checks against the value type before converting: an
// integer or unscoped enum for an integer option, an integer-rep duration for a duration option,
// either (or an optional one) for an optional duration. Other values (strings, structs, enums of
// the option's own type) are passed to the codec as they are.
template <class T, class V>
constexpr bool range_checked() noexcept {
    if constexpr (is_optional<T>) {
        if constexpr (is_optional<V>) {
            return range_checked<typename T::value_type, typename V::value_type>();
        } else {
            return range_checked<typename T::value_type, V>();
        }
    } else if constexpr (is_duration<T>) {
        if constexpr (is_duration<V>) {
            return std::is_integral_v<typename V::rep> && std::is_convertible_v<V, T>;
        } else {
            return false;
        }
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        return (std::is_integral_v<V> && !std::is_same_v<V, bool>) ||
               (std::is_enum_v<V> && std::is_convertible_v<V, T>);
    } else {
        return false;
    }
}

// Any integer (char types and unscoped enums included) as long long or unsigned long long,
// which hold it exactly, so that std::in_range and std::cmp_* accept it.
template <class V>
constexpr auto widened(V value) noexcept {
    if constexpr (std::is_enum_v<V>) {
        return widened(static_cast<std::underlying_type_t<V>>(value));
    } else if constexpr (std::is_signed_v<V>) {
        return static_cast<long long>(value);
    } else {
        return static_cast<unsigned long long>(value);
    }
}

enum class range_position {
    inside,
    below,
    above
};

// Where `value` lies against the range of value type T, computed without converting it (a
// conversion is what would wrap). For durations, T's limits are counted in the caller's units:
// V converts to T implicitly, so one V is a whole number of T's units and the limits divide
// exactly, the exact form of "compare with duration_cast<V>(T::max())".
template <class T, class V>
constexpr range_position position_in_range(const V& value) noexcept {
    if constexpr (is_optional<T>) {
        if constexpr (is_optional<V>) {
            return value ? position_in_range<typename T::value_type>(*value)
                         : range_position::inside;
        } else {
            return position_in_range<typename T::value_type>(value);
        }
    } else if constexpr (is_duration<T>) {
        using ratio = std::ratio_divide<typename V::period, typename T::period>;
        static_assert(ratio::den == 1, "a duration that converts implicitly divides exactly");
        using wide = decltype(widened(T::max().count()));
        constexpr auto most = widened(T::max().count()) / static_cast<wide>(ratio::num);
        constexpr auto least = widened(T::min().count()) / static_cast<wide>(ratio::num);
        if (std::cmp_greater(widened(value.count()), most)) {
            return range_position::above;
        }
        if (std::cmp_less(widened(value.count()), least)) {
            return range_position::below;
        }
        return range_position::inside;
    } else {
        if (std::in_range<T>(widened(value))) {
            return range_position::inside;
        }
        return widened(value) < 0 ? range_position::below : range_position::above;
    }
}

// T's lowest value (optional: engaged with the lowest duration).
template <class T>
constexpr T lowest_value() noexcept {
    if constexpr (is_optional<T>) {
        return T(lowest_value<typename T::value_type>());
    } else if constexpr (is_duration<T>) {
        return T::min();
    } else {
        return std::numeric_limits<T>::lowest();
    }
}

// Whether T has negative values at all.
template <class T>
constexpr bool can_be_negative() noexcept {
    return std::is_signed_v<count_type_t<T>>;
}

/// The codec's encode, called with `value` as it is (a std::string_view for a string option).
template <class Codec, class Value>
concept encodable_from = requires(const Value& value, typename Codec::kernel_type& out) {
    Codec::encode(value, out, "");
};

/// The codec's encode, called with a `Value`, cannot throw.
template <class Codec, class Value>
concept nothrow_encodable_from = requires(const Value& value, typename Codec::kernel_type& out) {
    { Codec::encode(value, out, "") }
    noexcept;
};

/// The codec's decode cannot throw.
template <class Codec>
concept nothrow_decodable = requires(const typename Codec::kernel_type& in) {
    { Codec::decode(in, socklen_t{}, "") }
    noexcept;
};

/// The compile-time verdict on `set(option, value)`: each flag is one mistake, and at most one
/// is set, so the first diagnostic names it.
template <class Option, class Value>
struct set_value_check {
    using value_type = typename Option::value_type;
    using codec = typename Option::codec;
    static constexpr bool floating_for_whole_units =
        counts_whole_units<value_type>() && is_floating_value<Value>();
    static constexpr bool wrong_type =
        !floating_for_whole_units &&
        (std::is_same_v<value_type, bool> != std::is_same_v<Value, bool> ||
         !(std::is_convertible_v<const Value&, value_type> || encodable_from<codec, Value>));
    // Range-checked values are converted to value_type (which cannot throw) and encoded; other
    // values go to the codec as they are if it takes them, else converted to value_type.
    static constexpr bool passed_as_is =
        !range_checked<value_type, Value>() && encodable_from<codec, Value>;
    static constexpr bool may_throw =
        !floating_for_whole_units && !wrong_type &&
        (passed_as_is ? !nothrow_encodable_from<codec, Value>
                      : !(nothrow_encodable_from<codec, value_type> &&
                          (range_checked<value_type, Value>() ||
                           std::is_nothrow_convertible_v<const Value&, value_type>)));
    static constexpr bool ok = !floating_for_whole_units && !wrong_type && !may_throw;
};

/// Why `get` or `set` refuses a call: the first of its checks that fails, in the order a user
/// would fix them (an option at all, then its direction, its protocol, the value).
enum class option_refusal {
    none,
    not_a_descriptor,
    write_only,
    read_only,
    other_protocol,
    decode_may_throw,
    floating_value,
    wrong_value_type,
    may_throw
};

/// The verdict on `get(option)` on a socket of Protocol. Each refusal overload is constrained on
/// its own verdict, so exactly one sentence is printed.
template <class Option, class Protocol>
consteval option_refusal get_refusal() noexcept {
    if constexpr (!socket_option_descriptor<Option>) {
        return option_refusal::not_a_descriptor;
    } else if constexpr (!gettable_option<Option>) {
        return option_refusal::write_only;
    } else if constexpr (!option_applies_to_protocol<Option, Protocol>) {
        return option_refusal::other_protocol;
    } else if constexpr (!nothrow_decodable<typename Option::codec>) {
        return option_refusal::decode_may_throw;
    } else {
        return option_refusal::none;
    }
}

/// The verdict on `set(option, value)` on a socket of Protocol.
template <class Option, class Value, class Protocol>
consteval option_refusal set_refusal() noexcept {
    if constexpr (!socket_option_descriptor<Option>) {
        return option_refusal::not_a_descriptor;
    } else if constexpr (!settable_option<Option>) {
        return option_refusal::read_only;
    } else if constexpr (!option_applies_to_protocol<Option, Protocol>) {
        return option_refusal::other_protocol;
    } else if constexpr (set_value_check<Option, Value>::floating_for_whole_units) {
        return option_refusal::floating_value;
    } else if constexpr (set_value_check<Option, Value>::wrong_type) {
        return option_refusal::wrong_value_type;
    } else if constexpr (set_value_check<Option, Value>::may_throw) {
        return option_refusal::may_throw;
    } else {
        return option_refusal::none;
    }
}

/// Range-checks `value` against the option's value type, then has the codec encode it into
/// `raw`. A value above the range is `value_too_large`; one below it is `invalid_argument` if
/// the value type has no negative values or the codec refuses its lowest one (the codec's own
/// error for it), else `value_too_large`: the same errors the codecs give for the kernel's field.
template <class Option, class Value>
result<socklen_t> encode_for_set(const Value& value,
                                 typename Option::codec::kernel_type& raw) noexcept {
    using value_type = typename Option::value_type;
    using codec = typename Option::codec;
    constexpr const char* operation = Option::set_operation;
    if constexpr (range_checked<value_type, Value>()) {
        switch (position_in_range<value_type>(value)) {
        case range_position::above:
            return too_large(operation);
        case range_position::below:
            if constexpr (!can_be_negative<value_type>()) {
                return out_of_range(operation);
            } else {
                auto lowest = codec::encode(lowest_value<value_type>(), raw, operation);
                if (!lowest) {
                    return lowest;
                }
                return too_large(operation);
            }
        case range_position::inside:
            break;
        }
        return codec::encode(static_cast<value_type>(value), raw, operation);
    } else if constexpr (set_value_check<Option, Value>::passed_as_is) {
        return codec::encode(value, raw, operation);
    } else {
        return codec::encode(static_cast<value_type>(value), raw, operation);
    }
}

// socket_base's get() and set() refuse a mistake before these are instantiated (get_refusal,
// set_refusal and an overload per mistake, so that a requires-expression sees it). The checks
// below, in the same order, stop at the first mistake for any other caller: each static_assert
// sentence names one, and nothing past it is instantiated, so it is the only error printed.

template <class Protocol, class Option>
result<typename Option::value_type> get_socket_option(int fd, const Option& /*option*/) noexcept {
    constexpr bool is_descriptor = socket_option_descriptor<Option>;
    static_assert(is_descriptor, "netkit: get() takes a socket option descriptor");
    constexpr bool readable = !is_descriptor || gettable_option<Option>;
    static_assert(readable,
                  "netkit: this socket option is write-only: it cannot be read with get()");
    constexpr bool applies =
        !is_descriptor || !readable || option_applies_to_protocol<Option, Protocol>;
    static_assert(applies,
                  "netkit: this socket option does not apply to the protocol of this socket");
    if constexpr (is_descriptor && readable && applies) {
        using codec = typename Option::codec;
        constexpr bool decode_cannot_throw = nothrow_decodable<codec>;
        static_assert(decode_cannot_throw,
                      "netkit: the codec of this socket option has a decode that may throw: get() "
                      "is noexcept, so decode must be too (return an error value instead)");
        if constexpr (decode_cannot_throw) {
            typename codec::kernel_type raw{};
            socklen_t length = sizeof raw;
            if (auto got = get_option(fd, Option::level, Option::name, &raw, &length,
                                      Option::get_operation);
                !got) {
                return failure{got.error()};
            }
            return codec::decode(raw, length, Option::get_operation);
        }
    }
    return failure{}; // not reached: a static_assert above has failed
}

template <class Protocol, class Option, class Value>
result<void> set_socket_option(int fd, const Option& /*option*/, const Value& value) noexcept {
    constexpr bool is_descriptor = socket_option_descriptor<Option>;
    static_assert(is_descriptor, "netkit: set() takes a socket option descriptor");
    constexpr bool writable = !is_descriptor || settable_option<Option>;
    static_assert(writable, "netkit: this socket option is read-only: it cannot be set with set()");
    constexpr bool applies =
        !is_descriptor || !writable || option_applies_to_protocol<Option, Protocol>;
    static_assert(applies,
                  "netkit: this socket option does not apply to the protocol of this socket");
    if constexpr (is_descriptor && writable && applies) {
        using check = set_value_check<Option, Value>;
        constexpr bool not_floating = !check::floating_for_whole_units;
        static_assert(not_floating,
                      "netkit: a floating-point value cannot set an integer or duration socket "
                      "option: it would be truncated, so convert it yourself, rounding as you "
                      "mean to");
        constexpr bool right_type = !check::wrong_type;
        static_assert(right_type,
                      "netkit: wrong value type for this socket option (see its value_type; a "
                      "bool option takes true or false, and only a bool option does)");
        constexpr bool cannot_throw = !check::may_throw;
        static_assert(cannot_throw,
                      "netkit: this value cannot reach the codec of this socket option without a "
                      "call that may throw, and set() is noexcept (a string option takes a "
                      "std::string_view, and the encode of a codec must be noexcept)");
        if constexpr (check::ok) {
            typename Option::codec::kernel_type raw{};
            auto length = encode_for_set<Option>(value, raw);
            if (!length) {
                return failure{length.error()};
            }
            return set_option(fd, Option::level, Option::name, &raw, *length,
                              Option::set_operation);
        }
    }
    return failure{}; // not reached: a static_assert above has failed
}

} // namespace detail

} // namespace netkit
