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
concept protocol = std::is_empty_v<P> && endpoint_type<typename P::endpoint_type> && requires {
    { P::socket_type } -> std::convertible_to<int>;
    { P::protocol_number } -> std::convertible_to<int>;
};

/// A protocol over IP (its endpoints are addresses and ports; it opens per address family).
template <class P>
concept ip_protocol = protocol<P> && std::same_as<typename P::endpoint_type, ip::endpoint>;

/// A Unix-domain protocol (its endpoints are paths or abstract names; socketpair works).
template <class P>
concept local_protocol = protocol<P> && std::same_as<typename P::endpoint_type, local::endpoint>;

/// A byte stream (SOCK_STREAM): no message boundaries, so partial transfers are normal.
template <class P>
concept stream_protocol = protocol<P> && P::socket_type == SOCK_STREAM;

/// Connectionless datagrams (SOCK_DGRAM): each send is one message, which may be addressed.
template <class P>
concept datagram_protocol = protocol<P> && P::socket_type == SOCK_DGRAM;

/// A protocol with connections: it can listen and accept (SOCK_STREAM, SOCK_SEQPACKET).
template <class P>
concept connection_oriented_protocol = protocol<P> &&
    (P::socket_type == SOCK_STREAM || P::socket_type == SOCK_SEQPACKET);

/// A protocol that keeps message boundaries (SOCK_DGRAM, SOCK_SEQPACKET): a message larger than
/// the receive buffer is truncated, and netkit reports it.
template <class P>
concept message_protocol = protocol<P> &&
    (P::socket_type == SOCK_DGRAM || P::socket_type == SOCK_SEQPACKET);

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

} // namespace netkit
