#pragma once

#include <netkit/option/descriptor.hpp>

#include <netinet/in.h>
#include <netinet/udp.h>

/// IPPROTO_UDP options: they apply to UDP sockets only.
namespace netkit::udp {

using option_scope::udp_only;

/// UDP_SEGMENT: generic segmentation offload: a send of N bytes leaves as datagrams of this
/// size (0: off).
inline constexpr socket_option<"UDP_SEGMENT", IPPROTO_UDP, UDP_SEGMENT, int, option_access::get_set,
                               udp_only, int_codec<int, true>>
    segment_size{};
/// UDP_GRO: receive coalesced datagrams, with their segment size as a control message.
inline constexpr socket_option<"UDP_GRO", IPPROTO_UDP, UDP_GRO, bool, option_access::get_set,
                               udp_only>
    gro{};
/// UDP_CORK: gather sends into one datagram until uncorked.
inline constexpr socket_option<"UDP_CORK", IPPROTO_UDP, UDP_CORK, bool, option_access::get_set,
                               udp_only>
    cork{};

} // namespace netkit::udp
