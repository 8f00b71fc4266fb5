#pragma once

#include <netkit/addr/endpoint.hpp>
#include <netkit/addr/local_endpoint.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

namespace netkit {

// A protocol tag is an empty type that names, at compile time, everything the kernel needs to
// open a socket of it and everything the type system needs to decide what may be done with it.
// Each tag states its socket type (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET), its protocol number
// and its endpoint type; the concepts in concepts.hpp classify tags from those.

namespace tcp {
/// TCP over IPv4 or IPv6: a connection-oriented byte stream.
struct protocol {
    /// The address a socket of this protocol binds, connects and sends to.
    using endpoint_type = ip::endpoint;
    /// SOCK_STREAM, the `type` argument of socket(2).
    static constexpr int socket_type = SOCK_STREAM;
    /// IPPROTO_TCP, the `protocol` argument of socket(2).
    static constexpr int protocol_number = IPPROTO_TCP;
    /// The protocol\'s name in netkit\'s diagnostics (compile-time messages, error texts).
    static constexpr const char* name = "tcp";
};
} // namespace tcp

namespace udp {
/// UDP over IPv4 or IPv6: connectionless datagrams.
struct protocol {
    /// The address a socket of this protocol binds, connects and sends to.
    using endpoint_type = ip::endpoint;
    /// SOCK_DGRAM, the `type` argument of socket(2).
    static constexpr int socket_type = SOCK_DGRAM;
    /// IPPROTO_UDP, the `protocol` argument of socket(2).
    static constexpr int protocol_number = IPPROTO_UDP;
    /// The protocol\'s name in netkit\'s diagnostics (compile-time messages, error texts).
    static constexpr const char* name = "udp";
};
} // namespace udp

/// Unix-domain sockets (AF_UNIX). Named `local`, as POSIX does, because GNU C++ defines a macro
/// called `unix`.
namespace local {
/// A connection-oriented byte stream between processes on this host.
struct stream_protocol {
    /// The address a socket of this protocol binds, connects and sends to.
    using endpoint_type = local::endpoint;
    /// SOCK_STREAM, the `type` argument of socket(2).
    static constexpr int socket_type = SOCK_STREAM;
    /// 0, the `protocol` argument of socket(2): AF_UNIX has one protocol per socket type.
    static constexpr int protocol_number = 0;
    /// The protocol\'s name in netkit\'s diagnostics (compile-time messages, error texts).
    static constexpr const char* name = "local::stream";
};
/// Reliable, ordered datagrams between processes on this host.
struct datagram_protocol {
    /// The address a socket of this protocol binds, connects and sends to.
    using endpoint_type = local::endpoint;
    /// SOCK_DGRAM, the `type` argument of socket(2).
    static constexpr int socket_type = SOCK_DGRAM;
    /// 0, the `protocol` argument of socket(2): AF_UNIX has one protocol per socket type.
    static constexpr int protocol_number = 0;
    /// The protocol\'s name in netkit\'s diagnostics (compile-time messages, error texts).
    static constexpr const char* name = "local::datagram";
};
/// Connection-oriented like a stream, with message boundaries kept like datagrams.
struct seqpacket_protocol {
    /// The address a socket of this protocol binds, connects and sends to.
    using endpoint_type = local::endpoint;
    /// SOCK_SEQPACKET, the `type` argument of socket(2).
    static constexpr int socket_type = SOCK_SEQPACKET;
    /// 0, the `protocol` argument of socket(2): AF_UNIX has one protocol per socket type.
    static constexpr int protocol_number = 0;
    /// The protocol\'s name in netkit\'s diagnostics (compile-time messages, error texts).
    static constexpr const char* name = "local::seqpacket";
};
} // namespace local

} // namespace netkit
