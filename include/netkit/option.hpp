#pragma once

#include <netkit/concepts.hpp>
#include <netkit/detail/syscall.hpp>
#include <netkit/error.hpp>

#include <concepts>
#include <type_traits>
#include <utility>

#include <sys/socket.h>

namespace netkit {

/// Whether an option can be read (getsockopt), written (setsockopt) or both.
enum class option_access : unsigned { get = 1, set = 2, get_set = 3 };

/// Which protocols an option belongs to; a scope is a type with a `contains<P>` constant.
namespace option_scope {
/// Every socket (SOL_SOCKET options).
struct any_protocol {
    template <class P>
    static constexpr bool contains = protocol<P>;
};
/// IPv4 and IPv6 sockets of any protocol.
struct ip_protocols {
    template <class P>
    static constexpr bool contains = ip_protocol<P>;
};
/// Unix-domain sockets.
struct local_protocols {
    template <class P>
    static constexpr bool contains = local_protocol<P>;
};
/// Exactly the listed protocols.
template <class... Protocols>
struct only {
    template <class P>
    static constexpr bool contains = (std::same_as<P, Protocols> || ...);
};
} // namespace option_scope

/// How a value crosses to the kernel: an `int` that the kernel reads as-is (or as 0/1 for bool).
template <class Value>
struct int_codec {
    using kernel_type = int;
    static result<int> to_kernel(const Value& value) noexcept { return static_cast<int>(value); }
    static result<Value> from_kernel(const int& raw) noexcept {
        if constexpr (std::is_same_v<Value, bool>) {
            return raw != 0;
        } else {
            return static_cast<Value>(raw);
        }
    }
};

/// A compile-time socket option descriptor: level, name, value type, access, the protocols it
/// applies to, and the codec between the C++ value and the kernel's representation.
///
/// Declaring an option netkit lacks takes one line:
/// @code
/// inline constexpr netkit::socket_option<SOL_SOCKET, SO_KEEPALIVE, bool> my_keepalive{};
/// @endcode
template <int Level, int Name, class Value, option_access Access = option_access::get_set,
          class Scope = option_scope::any_protocol, class Codec = int_codec<Value>>
struct socket_option {
    using value_type = Value;
    using scope = Scope;
    using codec = Codec;
    static constexpr int level = Level;
    static constexpr int name = Name;
    static constexpr option_access access = Access;
};

/// Any `socket_option` instantiation.
template <class O>
concept socket_option_descriptor = requires {
    typename O::value_type;
    typename O::scope;
    typename O::codec;
    { O::level } -> std::convertible_to<int>;
    { O::name } -> std::convertible_to<int>;
    { O::access } -> std::convertible_to<option_access>;
};

/// An option that getsockopt can read.
template <class O>
concept gettable_option = socket_option_descriptor<O> &&
                          (static_cast<unsigned>(O::access) & static_cast<unsigned>(option_access::get)) != 0;

/// An option that setsockopt can write.
template <class O>
concept settable_option = socket_option_descriptor<O> &&
                          (static_cast<unsigned>(O::access) & static_cast<unsigned>(option_access::set)) != 0;

/// An option that belongs to protocol P.
template <class O, class P>
concept option_applies_to_protocol = socket_option_descriptor<O> && O::scope::template contains<P>;

namespace detail {

template <class Protocol, class Option>
result<typename Option::value_type> get_socket_option(int fd, const Option& /*option*/) noexcept {
    static_assert(socket_option_descriptor<Option>, "netkit: get() takes a socket option descriptor");
    static_assert(gettable_option<Option>,
                  "netkit: this socket option is write-only: it cannot be read with get()");
    static_assert(option_applies_to_protocol<Option, Protocol>,
                  "netkit: this socket option does not apply to this socket's protocol");
    typename Option::codec::kernel_type raw{};
    socklen_t length = sizeof raw;
    if (auto got = get_option(fd, Option::level, Option::name, &raw, &length); !got) {
        return failure{got.error()};
    }
    return Option::codec::from_kernel(raw);
}

template <class Protocol, class Option, class Value>
result<void> set_socket_option(int fd, const Option& /*option*/, const Value& value) noexcept {
    static_assert(socket_option_descriptor<Option>, "netkit: set() takes a socket option descriptor");
    static_assert(settable_option<Option>,
                  "netkit: this socket option is read-only: it cannot be set with set()");
    static_assert(option_applies_to_protocol<Option, Protocol>,
                  "netkit: this socket option does not apply to this socket's protocol");
    static_assert(std::is_same_v<typename Option::value_type, bool> == std::is_same_v<Value, bool>,
                  "netkit: wrong value type for this socket option (a bool option takes true or "
                  "false, and only a bool option does)");
    static_assert(std::is_convertible_v<const Value&, typename Option::value_type>,
                  "netkit: wrong value type for this socket option");
    auto raw = Option::codec::to_kernel(static_cast<typename Option::value_type>(value));
    if (!raw) {
        return failure{raw.error()};
    }
    return set_option(fd, Option::level, Option::name, &*raw, sizeof *raw);
}

} // namespace detail

/// SOL_SOCKET options.
namespace so {
/// SO_REUSEADDR: bind a port whose old connections sit in TIME_WAIT.
inline constexpr socket_option<SOL_SOCKET, SO_REUSEADDR, bool> reuse_address{};
/// SO_ERROR (read-only): the pending socket error, cleared by reading it.
inline constexpr socket_option<SOL_SOCKET, SO_ERROR, int, option_access::get> error{};
} // namespace so

} // namespace netkit
