#pragma once

#include <netkit/addr/address.hpp>
#include <netkit/option/codecs.hpp>
#include <netkit/option/descriptor.hpp>

#include <netinet/in.h>

/// IPPROTO_IPV6 options. They need a socket opened with `ip::v6`; on an IPv4 socket the kernel
/// answers ENOPROTOOPT, since the family is chosen at run time.
namespace netkit::ipv6 {

/// A multicast group to join or leave on one interface (IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP);
/// interface index 0 lets the kernel choose.
struct multicast_membership {
    /// The group's address; it must be a multicast address (ff00::/8).
    ip::address_v6 group;
    /// The interface's index (if_nametoindex), or 0 to let the kernel choose.
    unsigned interface_index = 0;
};

/// The codec of IPV6_JOIN_GROUP and IPV6_LEAVE_GROUP: multicast_membership -> ipv6_mreq.
using membership_codec = multicast_membership_codec<multicast_membership, ipv6_mreq>;

using option_scope::ip_protocols;
using option_scope::udp_only;

/// IPV6_V6ONLY: refuse IPv4-mapped traffic on this IPv6 socket.
inline constexpr socket_option<"IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, bool,
                               option_access::get_set, ip_protocols>
    v6_only{};
/// IPV6_UNICAST_HOPS: hop limit of unicast packets (-1: route default).
inline constexpr socket_option<"IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, int,
                               option_access::get_set, ip_protocols>
    unicast_hops{};
/// IPV6_MULTICAST_HOPS: hop limit of multicast packets.
inline constexpr socket_option<"IPV6_MULTICAST_HOPS", IPPROTO_IPV6, IPV6_MULTICAST_HOPS, int,
                               option_access::get_set, udp_only>
    multicast_hops{};
/// IPV6_MULTICAST_LOOP: deliver our own multicast back to local listeners.
inline constexpr socket_option<"IPV6_MULTICAST_LOOP", IPPROTO_IPV6, IPV6_MULTICAST_LOOP, bool,
                               option_access::get_set, udp_only>
    multicast_loop{};
/// IPV6_MULTICAST_IF: the interface index multicast leaves from.
inline constexpr socket_option<"IPV6_MULTICAST_IF", IPPROTO_IPV6, IPV6_MULTICAST_IF, unsigned,
                               option_access::get_set, udp_only>
    multicast_interface{};
/// IPV6_JOIN_GROUP (write-only): join a multicast group.
inline constexpr socket_option<"IPV6_JOIN_GROUP", IPPROTO_IPV6, IPV6_JOIN_GROUP,
                               multicast_membership, option_access::set, udp_only, membership_codec>
    multicast_join{};
/// IPV6_LEAVE_GROUP (write-only): leave a multicast group.
inline constexpr socket_option<"IPV6_LEAVE_GROUP", IPPROTO_IPV6, IPV6_LEAVE_GROUP,
                               multicast_membership, option_access::set, udp_only, membership_codec>
    multicast_leave{};
/// IPV6_RECVPKTINFO: receive each datagram's destination address and interface.
inline constexpr socket_option<"IPV6_RECVPKTINFO", IPPROTO_IPV6, IPV6_RECVPKTINFO, bool,
                               option_access::get_set, udp_only>
    receive_packet_info{};
/// IPV6_RECVERR: queue ICMPv6 errors and local send errors on the socket's error queue, read
/// with `read_error_queue` (io/error_queue.hpp).
inline constexpr socket_option<"IPV6_RECVERR", IPPROTO_IPV6, IPV6_RECVERR, bool,
                               option_access::get_set, ip_protocols>
    receive_errors{};
/// IPV6_TCLASS: the traffic class of outgoing packets (-1: default).
inline constexpr socket_option<"IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, int,
                               option_access::get_set, ip_protocols>
    traffic_class{};
/// IPV6_RECVTCLASS: receive each datagram's traffic class as a control message.
inline constexpr socket_option<"IPV6_RECVTCLASS", IPPROTO_IPV6, IPV6_RECVTCLASS, bool,
                               option_access::get_set, udp_only>
    receive_traffic_class{};

} // namespace netkit::ipv6
