#pragma once

#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/option/codecs.hpp>
#include <netkit/protocol/concepts.hpp>

#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include <sys/socket.h>

namespace netkit {

/// A string usable as a template argument: the C name of an option ("SO_REUSEADDR").
template <std::size_t N>
struct fixed_string {
    /// Copies a string literal, its terminating NUL included (implicit, so that a literal can be
    /// written as the template argument).
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): built from literals
    constexpr fixed_string(const char (&text)[N]) noexcept {
        detail::copy_elements(text, N, chars.at);
    }
    /// The text, without its terminating NUL.
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars.at, N - 1}; }
    /// The characters and the terminating NUL, in a struct that can be copied as a whole.
    struct characters {
        /// The characters and the terminating NUL.
        char at[N]; // NOLINT(cppcoreguidelines-avoid-c-arrays): a structural type for NTTP use
    };
    /// The text (public: a template argument must be structural).
    characters chars{};
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
// ---- descriptors ------------------------------------------------------------------------------

namespace detail {
template <fixed_string Prefix, fixed_string Name>
struct joined_text {
    static constexpr auto value = [] {
        std::array<char, Prefix.view().size() + 1 + Name.view().size() + 1> out{};
        char* next = copy_elements(Prefix.view().data(), Prefix.view().size(), out.data());
        *next++ = ' ';
        copy_elements(Name.view().data(), Name.view().size(), next);
        return out;
    }();
};

// What options of one value type, access, scope and codec share, as a base: built once for all
// of them (many options are bool, get_set, any protocol) rather than once per option, which saves
// every file that includes netkit about 0.7% of its compile.
template <class Value, option_access Access, class Scope, class Codec>
struct option_kind {
    /// The C++ type `get` returns and `set` takes (the value `set` takes converts to it).
    using value_type = Value;
    /// The protocols the option applies to (an `option_scope` type); elsewhere it does not compile.
    using scope = Scope;
    /// How `value_type` crosses to the kernel's bytes and back.
    using codec = Codec;
    /// Whether the option may be read, written or both.
    static constexpr option_access access = Access;
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
/// Its members: `value_type`, `scope`, `codec` and `access`, from a base that every option of
/// the same kind shares, and `level`, `name`, `c_name`, `get_operation` and `set_operation`.
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
struct socket_option : detail::option_kind<Value, Access, Scope, Codec> {
    /// The `level` argument of getsockopt/setsockopt (SOL_SOCKET, IPPROTO_TCP, ...).
    static constexpr int level = Level;
    /// The `optname` argument of getsockopt/setsockopt (SO_REUSEADDR, ...).
    static constexpr int name = Name;
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

} // namespace netkit
