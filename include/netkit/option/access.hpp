#pragma once

#include <netkit/core/result.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/option/descriptor.hpp>
#include <netkit/sys/syscall.hpp>

#include <concepts>
#include <cstddef>
#include <limits>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <sys/socket.h>

namespace netkit {

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
