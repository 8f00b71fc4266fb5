#pragma once

/// Every socket option descriptor netkit defines: SOL_SOCKET (netkit::so), IPPROTO_IP
/// (netkit::ip), IPPROTO_IPV6 (netkit::ipv6), IPPROTO_TCP (netkit::tcp), IPPROTO_UDP (netkit::udp).

#include <netkit/option/ip.hpp>
#include <netkit/option/ipv6.hpp>
#include <netkit/option/socket.hpp>
#include <netkit/option/tcp.hpp>
#include <netkit/option/udp.hpp>
