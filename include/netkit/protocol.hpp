#pragma once

#include <netkit/endpoint.hpp>
#include <netkit/local_endpoint.hpp>

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
    using endpoint_type = ip::endpoint;
    static constexpr int socket_type = SOCK_STREAM;
    static constexpr int protocol_number = IPPROTO_TCP;
    static constexpr const char* name = "tcp";
};
} // namespace tcp

namespace udp {
/// UDP over IPv4 or IPv6: connectionless datagrams.
struct protocol {
    using endpoint_type = ip::endpoint;
    static constexpr int socket_type = SOCK_DGRAM;
    static constexpr int protocol_number = IPPROTO_UDP;
    static constexpr const char* name = "udp";
};
} // namespace udp

/// Unix-domain sockets (AF_UNIX). Named `local`, as POSIX does, because GNU C++ defines a macro
/// called `unix`.
namespace local {
/// A connection-oriented byte stream between processes on this host.
struct stream_protocol {
    using endpoint_type = local::endpoint;
    static constexpr int socket_type = SOCK_STREAM;
    static constexpr int protocol_number = 0;
    static constexpr const char* name = "local::stream";
};
/// Reliable, ordered datagrams between processes on this host.
struct datagram_protocol {
    using endpoint_type = local::endpoint;
    static constexpr int socket_type = SOCK_DGRAM;
    static constexpr int protocol_number = 0;
    static constexpr const char* name = "local::datagram";
};
/// Connection-oriented like a stream, with message boundaries kept like datagrams.
struct seqpacket_protocol {
    using endpoint_type = local::endpoint;
    static constexpr int socket_type = SOCK_SEQPACKET;
    static constexpr int protocol_number = 0;
    static constexpr const char* name = "local::seqpacket";
};
} // namespace local

} // namespace netkit
