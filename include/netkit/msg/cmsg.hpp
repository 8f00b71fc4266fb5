#pragma once

#include <netkit/addr/address.hpp>
#include <netkit/core/credentials.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/toolchain_shims.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <optional>
#include <type_traits>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace netkit {

// ---- sizes, at compile time -------------------------------------------------------------------

/// CMSG_ALIGN as a constant expression.
constexpr std::size_t cmsg_align(std::size_t length) noexcept {
    return (length + sizeof(std::size_t) - 1) & ~(sizeof(std::size_t) - 1);
}
/// CMSG_LEN: header plus `payload` bytes, unpadded (what cmsg_len holds).
constexpr std::size_t cmsg_length(std::size_t payload) noexcept {
    return cmsg_align(sizeof(cmsghdr)) + payload;
}
/// CMSG_SPACE: the room one control message of `payload` bytes takes, padding included.
constexpr std::size_t cmsg_space(std::size_t payload) noexcept {
    return cmsg_align(sizeof(cmsghdr)) + cmsg_align(payload);
}
static_assert(cmsg_space(sizeof(int)) == CMSG_SPACE(sizeof(int)));
static_assert(cmsg_space(3 * sizeof(int)) == CMSG_SPACE(3 * sizeof(int)));
static_assert(cmsg_space(sizeof(in_pktinfo)) == CMSG_SPACE(sizeof(in_pktinfo)));
static_assert(cmsg_length(sizeof(ucred)) == CMSG_LEN(sizeof(ucred)));

namespace detail {
/// Lays out one control message at `at` (aligned for cmsghdr, with `cmsg_space(length)` bytes of
/// room): the header, `length` bytes of `payload`, and zeroed padding.
inline void write_control_message(std::byte* at, int level, int type, const void* payload,
                                  std::size_t length) noexcept {
    std::memset(at, 0, cmsg_space(length));
    cmsghdr header{};
    header.cmsg_len = cmsg_length(length);
    header.cmsg_level = level;
    header.cmsg_type = type;
    std::memcpy(at, &header, sizeof header);
    if (length != 0) {
        std::memcpy(at + cmsg_align(sizeof(cmsghdr)), payload, length);
    }
}
} // namespace detail

// ---- typed payloads ---------------------------------------------------------------------------
//
// Each payload type names its level and type and says how its bytes look. `decode` reads a
// received payload (bounds checked: a payload of the wrong size decodes to nothing); `encode`
// writes one to send. `space` is what one such message takes in a control buffer.

namespace cmsg {

/// SCM_RIGHTS: descriptors, up to N of them, passed over a Unix socket.
template <std::size_t N>
struct rights {
    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_RIGHTS).
    static constexpr int type = SCM_RIGHTS;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(N * sizeof(int));
};

/// SCM_CREDENTIALS: the sender's pid, uid and gid (receiver needs `so::pass_credentials`); the
/// same type as SO_PEERCRED's value.
using credentials = netkit::credentials;

/// IP_PKTINFO: received, the datagram's destination address and arrival interface; sent, the
/// source address (`local`) and outgoing interface to use.
struct ip_packet_info {
    ip::address_v4 destination;   ///< ipi_addr: the address the datagram was sent to
    ip::address_v4 local;         ///< ipi_spec_dst: the local address (source, when sending)
    unsigned interface_index = 0; ///< ipi_ifindex: arrival interface, or outgoing one (0: any)
    /// The cmsg_level this payload travels at (IPPROTO_IP).
    static constexpr int level = IPPROTO_IP;
    /// The cmsg_type that identifies it (IP_PKTINFO).
    static constexpr int type = IP_PKTINFO;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(in_pktinfo));
    /// The kernel struct the payload bytes hold (struct in_pktinfo).
    using wire = in_pktinfo;
    /// The payload read from the kernel struct.
    static ip_packet_info from_wire(const in_pktinfo& p) noexcept {
        return {ip::address_v4::from_in_addr(p.ipi_addr),
                ip::address_v4::from_in_addr(p.ipi_spec_dst), static_cast<unsigned>(p.ipi_ifindex)};
    }
    /// The kernel struct to send this payload as.
    [[nodiscard]] in_pktinfo to_wire() const noexcept {
        in_pktinfo p{};
        p.ipi_ifindex = static_cast<int>(interface_index);
        p.ipi_spec_dst = local.to_in_addr();
        p.ipi_addr = destination.to_in_addr();
        return p;
    }
};

/// IPV6_PKTINFO: the destination (received) or source (sent) address, and the interface.
struct ipv6_packet_info {
    ip::address_v6 address;       ///< ipi6_addr: destination (received) or source (sent)
    unsigned interface_index = 0; ///< ipi6_ifindex: arrival interface, or outgoing one (0: any)
    /// The cmsg_level this payload travels at (IPPROTO_IPV6).
    static constexpr int level = IPPROTO_IPV6;
    /// The cmsg_type that identifies it (IPV6_PKTINFO).
    static constexpr int type = IPV6_PKTINFO;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(in6_pktinfo));
    /// The kernel struct the payload bytes hold (struct in6_pktinfo).
    using wire = in6_pktinfo;
    /// The payload read from the kernel struct.
    static ipv6_packet_info from_wire(const in6_pktinfo& p) noexcept {
        return {ip::address_v6::from_in6_addr(p.ipi6_addr), p.ipi6_ifindex};
    }
    /// The kernel struct to send this payload as.
    [[nodiscard]] in6_pktinfo to_wire() const noexcept {
        in6_pktinfo p{};
        p.ipi6_addr = address.to_in6_addr();
        p.ipi6_ifindex = interface_index;
        return p;
    }
};

/// A system-clock time to the nanosecond, as the kernel's timestamps carry it (the same type as
/// `std::chrono::system_clock::time_point` with libstdc++; libc++'s counts microseconds).
using system_time_point =
    std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

namespace detail {
/// Whether whole seconds since the epoch fit a system_time_point with room to spare.
constexpr bool representable(std::int64_t seconds) noexcept {
    using rep = system_time_point::duration;
    constexpr std::int64_t limit =
        std::chrono::duration_cast<std::chrono::seconds>(rep::max()).count() - 1;
    return seconds > -limit && seconds < limit;
}

// The system-clock time `fraction` Units past `seconds` after the epoch, or nothing for a time
// the clock cannot represent or an impossible fraction: a hostile or corrupt payload must not
// overflow the conversion.
template <class Unit>
std::optional<system_time_point> system_time(std::int64_t seconds, std::int64_t fraction) noexcept {
    if (!representable(seconds) || fraction < 0 || fraction >= Unit::period::den) {
        return std::nullopt;
    }
    return system_time_point(std::chrono::duration_cast<system_time_point::duration>(
        std::chrono::seconds(seconds) + Unit(fraction)));
}

// A timestamp payload (a struct of one time) at system_time's time, or nothing as there.
template <class Payload, class Unit>
std::optional<Payload> time_payload(std::int64_t seconds, std::int64_t fraction) noexcept {
    const auto time = system_time<Unit>(seconds, fraction);
    if (!time) {
        return std::nullopt;
    }
    return Payload{*time};
}

template <int Level, int Type, class Wire>
struct int_payload {
    Wire value{};
    static constexpr int level = Level;
    static constexpr int type = Type;
    static constexpr std::size_t space = cmsg_space(sizeof(Wire));
    using wire = Wire;
    static int_payload from_wire(const Wire& w) noexcept { return {w}; }
    [[nodiscard]] Wire to_wire() const noexcept { return value; }
};
} // namespace detail

/// IP_TTL: the TTL of a received datagram (with `ip::receive_ttl`), or of one to send.
using ttl = detail::int_payload<IPPROTO_IP, IP_TTL, int>;
/// IP_TOS: the TOS byte of a received datagram (with `ip::receive_tos`), or of one to send.
using tos = detail::int_payload<IPPROTO_IP, IP_TOS, std::uint8_t>;
/// IPV6_TCLASS: the traffic class received (with `ipv6::receive_traffic_class`) or to send.
using traffic_class = detail::int_payload<IPPROTO_IPV6, IPV6_TCLASS, int>;
/// UDP_SEGMENT: send one buffer as datagrams of this size (GSO).
using udp_segment = detail::int_payload<IPPROTO_UDP, UDP_SEGMENT, std::uint16_t>;
/// UDP_GRO: the segment size of a coalesced received datagram (with `udp::gro`).
using udp_gro = detail::int_payload<IPPROTO_UDP, UDP_GRO, int>;
/// SO_RXQ_OVFL: datagrams dropped so far on this socket (with `so::receive_queue_overflow`).
using dropped = detail::int_payload<SOL_SOCKET, SO_RXQ_OVFL, std::uint32_t>;

/// SCM_TIMESTAMPNS (with `so::timestamp_ns`): when the kernel received the data.
struct timestamp_ns {
    system_time_point time; ///< when the data was received (system clock)
    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_TIMESTAMPNS).
    static constexpr int type = SCM_TIMESTAMPNS;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(timespec));
    /// The kernel struct the payload bytes hold (struct timespec).
    using wire = timespec;
    /// The payload read from the kernel struct, as a std::optional<timestamp_ns>: nothing for a
    /// time the clock cannot represent or an impossible fraction (a hostile or corrupt payload
    /// must not overflow the conversion).
    static std::optional<timestamp_ns> from_wire(const wire& t) noexcept {
        return detail::time_payload<timestamp_ns, std::chrono::nanoseconds>(t.tv_sec, t.tv_nsec);
    }
};

/// SCM_TIMESTAMP (with `so::timestamp`): when the kernel received the data, in microseconds.
struct timestamp {
    system_time_point time; ///< when the data was received (system clock)
    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_TIMESTAMP).
    static constexpr int type = SCM_TIMESTAMP;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(timeval));
    /// The kernel struct the payload bytes hold (struct timeval).
    using wire = timeval;
    /// The payload read from the kernel struct, as a std::optional<timestamp>: nothing for a time
    /// the clock cannot represent or an impossible fraction (as `timestamp_ns::from_wire`).
    static std::optional<timestamp> from_wire(const wire& t) noexcept {
        return detail::time_payload<timestamp, std::chrono::microseconds>(t.tv_sec, t.tv_usec);
    }
};

} // namespace cmsg

/// The control buffer size, computed at compile time, that holds one message of each payload
/// type given: `control_buffer<control_space<cmsg::rights<3>, cmsg::credentials>>`.
template <class... Payloads>
inline constexpr std::size_t control_space = (std::size_t{0} + ... + Payloads::space);

} // namespace netkit
