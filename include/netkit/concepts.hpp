#pragma once

#include <netkit/endpoint.hpp>
#include <netkit/local_endpoint.hpp>
#include <netkit/protocol.hpp>

#include <concepts>
#include <cstddef>
#include <ranges>
#include <type_traits>

#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit {

class const_buffer;
class mutable_buffer;

// ---- protocols --------------------------------------------------------------------------------

/// A socket endpoint type: it hands the kernel a socket address and reads one back.
/// Requires: `data()` and `size()` giving the sockaddr, a static `capacity`, and
/// `from_sockaddr(const sockaddr*, socklen_t)` returning a result.
template <class E>
concept endpoint_type = std::regular<E> && requires(const E& e, const sockaddr* a, socklen_t n) {
    { e.data() } -> std::same_as<const sockaddr*>;
    { e.size() } -> std::same_as<socklen_t>;
    { E::capacity } -> std::convertible_to<socklen_t>;
    E::from_sockaddr(a, n).has_value();
};

/// A protocol tag: names a socket type, a protocol number and an endpoint type.
template <class P>
concept protocol_tag = std::is_empty_v<P> && endpoint_type<typename P::endpoint_type> && requires {
    { P::socket_type } -> std::convertible_to<int>;
    { P::protocol_number } -> std::convertible_to<int>;
};

/// What a protocol tag's socket type and endpoint type imply, each fact once, so that the role
/// concepts below and netkit's own `if constexpr` tests read the same definitions.
template <protocol_tag P>
struct protocol_traits {
    /// Its endpoints are IP addresses and ports: sockets open per address family (v4 or v6).
    static constexpr bool ip_domain = std::same_as<typename P::endpoint_type, ip::endpoint>;
    /// Its endpoints are paths or abstract names (AF_UNIX): socketpair(2) works.
    static constexpr bool local_domain = std::same_as<typename P::endpoint_type, local::endpoint>;
    /// SOCK_STREAM: bytes without boundaries, so partial transfers are normal.
    static constexpr bool byte_stream = P::socket_type == SOCK_STREAM;
    /// SOCK_DGRAM: no connection, each message may carry its own destination.
    static constexpr bool connectionless = P::socket_type == SOCK_DGRAM;
    /// SOCK_STREAM or SOCK_SEQPACKET: a listening socket accepts connections.
    static constexpr bool connection_oriented =
        P::socket_type == SOCK_STREAM || P::socket_type == SOCK_SEQPACKET;
    /// SOCK_DGRAM or SOCK_SEQPACKET: one receive takes one message, and a message larger than
    /// the buffers is cut.
    static constexpr bool message_boundaries =
        P::socket_type == SOCK_DGRAM || P::socket_type == SOCK_SEQPACKET;
};

// The role concepts: each names what a socket of P can do, the question a constraint asks.

/// Opens by address family: `open(ip::v4)` or `open(ip::v6)` (the IP protocols).
template <class P>
concept opens_by_family = protocol_tag<P> && protocol_traits<P>::ip_domain;

/// Can make a connected pair with `pair()` (socketpair(2): the Unix-domain protocols); such a
/// socket opens with `open()`, as it has one family.
template <class P>
concept can_pair = protocol_tag<P> && protocol_traits<P>::local_domain;

/// Can transfer a whole byte count in a loop: `send_all`, `receive_exact` and the resumable
/// operations (SOCK_STREAM, where a short transfer is normal and the rest follows).
template <class P>
concept can_stream = protocol_tag<P> && protocol_traits<P>::byte_stream;

/// Can address each message: `send_to`, `receive_from`, `send_message_to` (SOCK_DGRAM).
template <class P>
concept can_send_to = protocol_tag<P> && protocol_traits<P>::connectionless;

/// Can listen and accept: `basic_acceptor` (SOCK_STREAM, SOCK_SEQPACKET).
template <class P>
concept can_listen = protocol_tag<P> && protocol_traits<P>::connection_oriented;

/// Keeps message boundaries (SOCK_DGRAM, SOCK_SEQPACKET): `receive` returns a `receive_info`
/// whose `truncated()` reports a message larger than the buffers.
template <class P>
concept keeps_boundaries = protocol_tag<P> && protocol_traits<P>::message_boundaries;

// ---- bytes ------------------------------------------------------------------------------------

/// A buffer type layout-compatible with `iovec`.
template <class B>
concept buffer_type = std::same_as<std::remove_cv_t<B>, const_buffer> ||
    std::same_as<std::remove_cv_t<B>, mutable_buffer> || std::same_as<std::remove_cv_t<B>, iovec>;

/// A contiguous, sized range of trivially copyable elements: its bytes can go to the kernel as
/// they are (std::string, std::vector<T>, std::array<T, N>, std::span<T>, T[N], ...). A range of
/// buffers is not one: it is a `buffer_sequence`, whose bytes are elsewhere.
template <class R>
concept byte_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    std::is_trivially_copyable_v<std::ranges::range_value_t<R>> &&
    !buffer_type<std::ranges::range_value_t<R>>;

/// A byte range the kernel may write into: its elements are not const (a std::string_view or a
/// const container is not one).
template <class R>
concept mutable_byte_range =
    byte_range<R> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

/// A sequence of buffers: a range whose elements are `const_buffer`, `mutable_buffer` or `iovec`.
/// A contiguous one goes to the kernel as it is; any other is copied into iovecs on the stack.
template <class S>
concept buffer_sequence = std::ranges::sized_range<S> && buffer_type<std::ranges::range_value_t<S>>;

/// A sequence of buffers the kernel may write into (no `const_buffer` elements).
template <class S>
concept mutable_buffer_sequence = buffer_sequence<S> &&
    !std::same_as<std::remove_cv_t<std::ranges::range_value_t<S>>, const_buffer>;

namespace detail {

/// Why a send or a receive refuses its data: the first check that fails.
enum class data_refusal {
    none,
    not_a_buffer,
    not_trivially_copyable,
    const_object,
    read_only_range,
    const_buffer_sequence
};

/// The verdict on the data of a send (`Data` as deduced from a `const Data&` parameter).
template <class Data>
consteval data_refusal send_refusal() noexcept {
    using type = std::remove_cvref_t<Data>;
    if constexpr (buffer_sequence<type> || std::same_as<type, const_buffer> ||
                  std::same_as<type, mutable_buffer>) {
        return data_refusal::none;
    } else if constexpr (!std::ranges::contiguous_range<const type&> ||
                         !std::ranges::sized_range<const type&>) {
        return data_refusal::not_a_buffer;
    } else if constexpr (!std::is_trivially_copyable_v<std::ranges::range_value_t<const type&>>) {
        return data_refusal::not_trivially_copyable;
    } else {
        return data_refusal::none;
    }
}

/// The verdict on the target of a receive (`Data` as deduced from a `Data&&` parameter).
template <class Data>
consteval data_refusal receive_refusal() noexcept {
    using type = std::remove_reference_t<Data>;
    if constexpr (buffer_sequence<std::remove_cv_t<type>>) {
        return mutable_buffer_sequence<std::remove_cv_t<type>>
                   ? data_refusal::none
                   : data_refusal::const_buffer_sequence;
    } else if constexpr (std::is_const_v<type>) {
        return data_refusal::const_object;
    } else if constexpr (std::same_as<type, mutable_buffer>) {
        return data_refusal::none;
    } else if constexpr (std::same_as<type, const_buffer>) {
        return data_refusal::read_only_range;
    } else if constexpr (!std::ranges::contiguous_range<type&> ||
                         !std::ranges::sized_range<type&>) {
        return data_refusal::not_a_buffer;
    } else if constexpr (!std::is_trivially_copyable_v<std::ranges::range_value_t<type&>>) {
        return data_refusal::not_trivially_copyable;
    } else if constexpr (!mutable_byte_range<type&>) {
        return data_refusal::read_only_range;
    } else {
        return data_refusal::none;
    }
}

} // namespace detail

/// What the send functions take: a byte range, a `const_buffer` or `mutable_buffer`, or a buffer
/// sequence. Anything else is refused with a sentence that says what is wrong with it.
template <class Data>
concept sendable_data = detail::send_refusal<Data>()
== detail::data_refusal::none;

/// What the receive functions write into: a writable byte range, a `mutable_buffer`, or a
/// sequence of buffers that are not `const_buffer`. A const object, a read-only view or a range
/// of non-trivially-copyable elements is refused with a sentence that names it.
template <class Data>
concept receive_target = detail::receive_refusal<Data>()
== detail::data_refusal::none;

} // namespace netkit
