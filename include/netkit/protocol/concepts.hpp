#pragma once

#include <netkit/addr/endpoint.hpp>
#include <netkit/addr/local_endpoint.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/protocol/tags.hpp>

#include <concepts>
#include <type_traits>

#include <sys/socket.h>

namespace netkit {

/// A socket endpoint type: it hands the kernel a socket address and reads one back.
/// Requires: a regular value type (default-constructible, copyable, movable, compared with `==`),
/// `data()` and `size()` giving the sockaddr, a static `capacity`, and
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

} // namespace netkit
