#pragma once

/// Every socket option descriptor netkit defines: SOL_SOCKET (netkit::so), IPPROTO_IP
/// (netkit::ip), IPPROTO_IPV6 (netkit::ipv6), IPPROTO_TCP (netkit::tcp), IPPROTO_UDP (netkit::udp).

#include <netkit/options/ip.hpp>
#include <netkit/options/ipv6.hpp>
#include <netkit/options/socket.hpp>
#include <netkit/options/tcp.hpp>
#include <netkit/options/udp.hpp>
