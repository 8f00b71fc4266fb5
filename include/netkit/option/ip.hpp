#pragma once

#include <netkit/addr/address.hpp>
#include <netkit/option/codecs.hpp>
#include <netkit/option/descriptor.hpp>

#include <netinet/in.h>

namespace netkit::ip {

/// A multicast group to join or leave on one interface (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP).
/// The interface is named by index if `interface_index` is not 0, else by its address
/// (0.0.0.0: let the kernel choose by route).
struct multicast_membership {
    /// The group's address; it must be a multicast address (224.0.0.0/4).
    address_v4 group;
    /// The local interface's address, used when `interface_index` is 0; any() lets the kernel
    /// choose.
    address_v4 interface = address_v4::any();
    /// The interface's index (if_nametoindex), or 0 to name it by `interface` instead.
    int interface_index = 0;
};

/// The codec of IP_ADD_MEMBERSHIP and IP_DROP_MEMBERSHIP: multicast_membership -> ip_mreqn.
using membership_codec = multicast_membership_codec<multicast_membership, ip_mreqn>;

/// Address (`address_v4`) <-> struct in_addr (IP_MULTICAST_IF). Use it as `in_addr_codec` (a
/// template, as every codec is: see `basic_bool_codec`).
template <class Address>
struct basic_in_addr_codec {
    /// The kernel's storage for the option: a struct in_addr.
    using kernel_type = in_addr;
    /// Stores the address; returns sizeof(in_addr). Never fails.
    static result<socklen_t> encode(const Address& value, in_addr& out,
                                    const char* /*operation*/) noexcept {
        out = value.to_in_addr();
        return socklen_t{sizeof(in_addr)};
    }
    /// The in_addr as an address_v4. Never fails.
    static result<Address> decode(const in_addr& in, socklen_t /*length*/,
                                  const char* /*operation*/) noexcept {
        return Address::from_in_addr(in);
    }
};

/// The codec of IP_MULTICAST_IF: address_v4 <-> struct in_addr.
using in_addr_codec = basic_in_addr_codec<address_v4>;

/// IP_MTU_DISCOVER: how path MTU discovery treats this socket's packets. The enumerators are
/// every mode the kernel accepts and returns (IP_PMTUDISC_DONT to IP_PMTUDISC_OMIT, ip(7)), so a
/// value read back is always one of them.
enum class mtu_discovery : int {
    dont = IP_PMTUDISC_DONT,           ///< never set DF: fragment when needed
    want = IP_PMTUDISC_WANT,           ///< per-route default
    always = IP_PMTUDISC_DO,           ///< always set DF; a too-large datagram fails with EMSGSIZE
    probe = IP_PMTUDISC_PROBE,         ///< set DF, ignore the path MTU
    interface = IP_PMTUDISC_INTERFACE, ///< interface MTU, not the path MTU; no DF; ICMP ignored
    omit = IP_PMTUDISC_OMIT,           ///< like interface, but larger packets may be fragmented
};

// IPPROTO_IP options. Multicast and packet-info options only mean something for datagrams, so
// they apply to UDP only; the rest to any IPv4 socket.
using option_scope::ip_protocols;
using option_scope::udp_only;

/// IP_TTL: the time-to-live of outgoing unicast packets (1-255).
inline constexpr socket_option<"IP_TTL", IPPROTO_IP, IP_TTL, int, option_access::get_set,
                               ip_protocols>
    ttl{};
/// IP_TOS: the type-of-service / DSCP byte of outgoing packets.
inline constexpr socket_option<"IP_TOS", IPPROTO_IP, IP_TOS, int, option_access::get_set,
                               ip_protocols>
    tos{};
/// IP_MULTICAST_TTL: the TTL of outgoing multicast datagrams (default 1: this network only).
inline constexpr socket_option<"IP_MULTICAST_TTL", IPPROTO_IP, IP_MULTICAST_TTL, int,
                               option_access::get_set, udp_only>
    multicast_ttl{};
/// IP_MULTICAST_LOOP: deliver our own multicast datagrams back to local listeners.
inline constexpr socket_option<"IP_MULTICAST_LOOP", IPPROTO_IP, IP_MULTICAST_LOOP, bool,
                               option_access::get_set, udp_only>
    multicast_loop{};
/// IP_MULTICAST_IF: the interface (by address) multicast datagrams leave from.
inline constexpr socket_option<"IP_MULTICAST_IF", IPPROTO_IP, IP_MULTICAST_IF, address_v4,
                               option_access::get_set, udp_only, in_addr_codec>
    multicast_interface{};
/// IP_ADD_MEMBERSHIP (write-only): join a multicast group.
inline constexpr socket_option<"IP_ADD_MEMBERSHIP", IPPROTO_IP, IP_ADD_MEMBERSHIP,
                               multicast_membership, option_access::set, udp_only, membership_codec>
    multicast_join{};
/// IP_DROP_MEMBERSHIP (write-only): leave a multicast group.
inline constexpr socket_option<"IP_DROP_MEMBERSHIP", IPPROTO_IP, IP_DROP_MEMBERSHIP,
                               multicast_membership, option_access::set, udp_only, membership_codec>
    multicast_leave{};
/// IP_PKTINFO: receive each datagram's destination address and interface (IP_PKTINFO cmsg).
inline constexpr socket_option<"IP_PKTINFO", IPPROTO_IP, IP_PKTINFO, bool, option_access::get_set,
                               udp_only>
    packet_info{};
/// IP_RECVTOS: receive each datagram's TOS byte as a control message.
inline constexpr socket_option<"IP_RECVTOS", IPPROTO_IP, IP_RECVTOS, bool, option_access::get_set,
                               udp_only>
    receive_tos{};
/// IP_RECVTTL: receive each datagram's TTL as a control message.
inline constexpr socket_option<"IP_RECVTTL", IPPROTO_IP, IP_RECVTTL, bool, option_access::get_set,
                               udp_only>
    receive_ttl{};
/// IP_FREEBIND: bind to an address not (yet) configured on this host.
inline constexpr socket_option<"IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, bool, option_access::get_set,
                               ip_protocols>
    free_bind{};
/// IP_TRANSPARENT: bind to and send from foreign addresses, for transparent proxies (needs
/// CAP_NET_ADMIN).
inline constexpr socket_option<"IP_TRANSPARENT", IPPROTO_IP, IP_TRANSPARENT, bool,
                               option_access::get_set, ip_protocols>
    transparent{};
/// IP_MTU_DISCOVER: path MTU discovery mode.
inline constexpr socket_option<"IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, mtu_discovery,
                               option_access::get_set, ip_protocols>
    mtu_discover{};
/// IP_RECVERR: queue ICMP errors and local send errors on the socket's error queue, read with
/// `read_error_queue` (io/error_queue.hpp). Without it a UDP socket learns of a refused port
/// only as a bare ECONNREFUSED on a later call, and only when connected.
inline constexpr socket_option<"IP_RECVERR", IPPROTO_IP, IP_RECVERR, bool, option_access::get_set,
                               ip_protocols>
    receive_errors{};
/// IP_MTU (read-only, connected sockets): the path MTU the kernel knows.
inline constexpr socket_option<"IP_MTU", IPPROTO_IP, IP_MTU, int, option_access::get, ip_protocols>
    mtu{};

} // namespace netkit::ip
