#pragma once

// The typed payloads of the error queue: the kernel's struct sock_extended_err with the offender
// that follows it (IP_RECVERR, IPV6_RECVERR), and SCM_TIMESTAMPING's three times.

#include <netkit/addr/endpoint.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/msg/cmsg.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <type_traits>

#include <ctime>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace netkit {

/// Who queued an error-queue entry (sock_extended_err's ee_origin, SO_EE_ORIGIN_*).
enum class error_origin : std::uint8_t {
    none = SO_EE_ORIGIN_NONE,                 ///< no origin given
    local = SO_EE_ORIGIN_LOCAL,               ///< this host (a too-large datagram: EMSGSIZE)
    icmp = SO_EE_ORIGIN_ICMP,                 ///< an ICMP message from the network
    icmp6 = SO_EE_ORIGIN_ICMP6,               ///< an ICMPv6 message from the network
    timestamping = SO_EE_ORIGIN_TIMESTAMPING, ///< a transmit timestamp (SO_TIMESTAMPING)
    zerocopy = SO_EE_ORIGIN_ZEROCOPY,         ///< MSG_ZEROCOPY completions (info to data)
    txtime = SO_EE_ORIGIN_TXTIME,             ///< an SO_TXTIME packet dropped
};

/// One sock_extended_err, typed. What the numbers mean depends on `origin`: for ICMP, `type`
/// and `code` are the ICMP header's and `info` the MTU of a "fragmentation needed"; for
/// zero-copy, `info` to `data` is the inclusive range of completed sends; for timestamping,
/// `info` is the timestamp's kind (SCM_TSTAMP_SND, ...) and `data`, with `opt_id`, the UDP send
/// it belongs to or, on TCP, the byte offset of the send's last byte.
struct extended_error {
    /// ee_origin: who queued the entry.
    error_origin origin = error_origin::none;
    /// ee_errno as an error code: ECONNREFUSED for a port unreachable, EMSGSIZE for a path MTU,
    /// ENOMSG for timestamps and 0 for zero-copy completions (neither is an error).
    std::error_code error{};
    /// ee_type: the ICMP type (3: destination unreachable), 0 for other origins.
    std::uint8_t type = 0;
    /// ee_code: the ICMP code (3: port unreachable); for zero-copy, `zerocopy_copied` or 0.
    std::uint8_t code = 0;
    /// ee_info: see the struct's description.
    std::uint32_t info = 0;
    /// ee_data: see the struct's description.
    std::uint32_t data = 0;
    /// SO_EE_OFFENDER: the host that sent the ICMP message, when the kernel names one.
    std::optional<ip::endpoint> offender{};

    /// SO_EE_CODE_ZEROCOPY_COPIED: for a zero-copy completion, the kernel copied the data after
    /// all (always on loopback), so zero-copy did not pay for these sends.
    static constexpr std::uint8_t zerocopy_copied = SO_EE_CODE_ZEROCOPY_COPIED;

    /// True for a zero-copy completion whose sends were copied (`zerocopy_copied`).
    [[nodiscard]] constexpr bool copied() const noexcept {
        return origin == error_origin::zerocopy && (code & zerocopy_copied) != 0;
    }
};

namespace detail {
// The kernel writes the offender's sockaddr right after the sock_extended_err, in the same
// control message: these are exactly the structs ip_recv_error and ipv6_recv_error fill.
struct ip_error_wire {
    sock_extended_err ee;
    sockaddr_in offender;
};
struct ipv6_error_wire {
    sock_extended_err ee;
    sockaddr_in6 offender;
};

inline extended_error decode_extended_error(const sock_extended_err& ee) noexcept {
    extended_error out;
    out.origin = static_cast<error_origin>(ee.ee_origin);
    out.error = std::error_code(static_cast<int>(ee.ee_errno), std::system_category());
    out.type = ee.ee_type;
    out.code = ee.ee_code;
    out.info = ee.ee_info;
    out.data = ee.ee_data;
    return out;
}

// An offender is present only when the kernel filled its family (AF_UNSPEC otherwise); an IPv6
// socket can be told of an IPv4 offender (a mapped flow), in the sockaddr_in layout.
template <class Sockaddr>
std::optional<ip::endpoint> decode_offender(const Sockaddr& address) noexcept {
    const auto* any = reinterpret_cast<const sockaddr*>(&address);
    const socklen_t length = any->sa_family == AF_INET    ? sizeof(sockaddr_in)
                             : any->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                                          : 0;
    if (length == 0 || length > sizeof(Sockaddr)) {
        return std::nullopt;
    }
    auto endpoint = ip::endpoint::from_sockaddr(any, length);
    return endpoint ? std::optional<ip::endpoint>(*endpoint) : std::nullopt;
}
} // namespace detail

namespace cmsg {

/// IP_RECVERR (an error-queue entry on an IPv4 socket): the extended error and its offender.
struct ip_extended_error : extended_error {
    /// The cmsg_level this payload travels at (IPPROTO_IP).
    static constexpr int level = IPPROTO_IP;
    /// The cmsg_type that identifies it (IP_RECVERR).
    static constexpr int type = IP_RECVERR;
    /// The kernel struct the payload bytes hold (sock_extended_err, then a sockaddr_in).
    using wire = netkit::detail::ip_error_wire;
    /// The room one such message takes in a control buffer.
    static constexpr std::size_t space = cmsg_space(sizeof(wire));
    /// The payload read from the kernel struct.
    static ip_extended_error from_wire(const wire& w) noexcept {
        ip_extended_error out{netkit::detail::decode_extended_error(w.ee)};
        out.offender = netkit::detail::decode_offender(w.offender);
        return out;
    }
};

/// IPV6_RECVERR (an error-queue entry on an IPv6 socket): the extended error and its offender.
struct ipv6_extended_error : extended_error {
    /// The cmsg_level this payload travels at (IPPROTO_IPV6).
    static constexpr int level = IPPROTO_IPV6;
    /// The cmsg_type that identifies it (IPV6_RECVERR).
    static constexpr int type = IPV6_RECVERR;
    /// The kernel struct the payload bytes hold (sock_extended_err, then a sockaddr_in6).
    using wire = netkit::detail::ipv6_error_wire;
    /// The room one such message takes in a control buffer.
    static constexpr std::size_t space = cmsg_space(sizeof(wire));
    /// The payload read from the kernel struct.
    static ipv6_extended_error from_wire(const wire& w) noexcept {
        ipv6_extended_error out{netkit::detail::decode_extended_error(w.ee)};
        out.offender = netkit::detail::decode_offender(w.offender);
        return out;
    }
};

/// SCM_TIMESTAMPING (with `so::timestamping`): up to three times for one packet, each absent
/// when the kernel left it zero. On the error queue they say when a packet was sent; on a
/// received message, when it arrived.
struct timestamping {
    /// The software timestamp (SOF_TIMESTAMPING_SOFTWARE), system clock.
    std::optional<system_time_point> software;
    /// Unused since Linux 3.17 (was the hardware time in system clock); kept for old kernels.
    std::optional<system_time_point> legacy;
    /// The raw hardware timestamp (SOF_TIMESTAMPING_RAW_HARDWARE), in the device's clock.
    std::optional<system_time_point> hardware;

    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_TIMESTAMPING).
    static constexpr int type = SCM_TIMESTAMPING;
    /// The kernel struct the payload bytes hold (struct scm_timestamping: three timespecs).
    using wire = scm_timestamping;
    /// The room one such message takes in a control buffer.
    static constexpr std::size_t space = cmsg_space(sizeof(wire));
    /// The payload read from the kernel struct; a time that is zero, that the clock cannot
    /// represent, or with an impossible fraction is absent (never misread).
    static timestamping from_wire(const wire& w) noexcept {
        return {one(w.ts[0]), one(w.ts[1]), one(w.ts[2])};
    }

private:
    static std::optional<system_time_point> one(const timespec& t) noexcept {
        if (t.tv_sec == 0 && t.tv_nsec == 0) {
            return std::nullopt;
        }
        return detail::system_time<std::chrono::nanoseconds>(t.tv_sec, t.tv_nsec);
    }
};

} // namespace cmsg

} // namespace netkit
