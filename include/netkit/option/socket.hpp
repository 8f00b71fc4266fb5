#pragma once

#include <netkit/core/credentials.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/option/descriptor.hpp>

#include <optional>
#include <string>

#include <linux/net_tstamp.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/types.h>

namespace netkit {

/// struct ucred <-> Credentials (`credentials`). Use it as `credentials_codec` (a template, as
/// every codec is: see `basic_bool_codec`).
template <class Credentials>
struct basic_credentials_codec {
    /// The kernel's storage for the option: a struct ucred.
    using kernel_type = ucred;
    /// The ucred's pid, uid and gid. Never fails.
    static result<Credentials> decode(const ucred& in, socklen_t /*length*/,
                                      const char* /*operation*/) noexcept {
        return Credentials::from_wire(in);
    }
};

/// The codec of SO_PEERCRED (`so::peer_credentials`): struct ucred <-> credentials.
using credentials_codec = basic_credentials_codec<credentials>;

/// A set of SOF_TIMESTAMPING_* bits, the value of `so::timestamping`. A type of its own, so that
/// an int of some other meaning cannot be passed by mistake; `from_native` takes bits netkit
/// has no name for.
class timestamping_flags {
public:
    /// No flag: timestamping off.
    constexpr timestamping_flags() noexcept = default;
    /// SOF_TIMESTAMPING_* bits as the kernel takes them, unchecked.
    [[nodiscard]] static constexpr timestamping_flags from_native(unsigned bits) noexcept {
        timestamping_flags f;
        f.bits_ = bits;
        return f;
    }
    /// The SOF_TIMESTAMPING_* bits.
    [[nodiscard]] constexpr unsigned bits() const noexcept { return bits_; }
    /// True if every flag of `other` is set here.
    [[nodiscard]] constexpr bool contains(timestamping_flags other) const noexcept {
        return (bits_ & other.bits_) == other.bits_;
    }
    /// The flags of both.
    friend constexpr timestamping_flags operator|(timestamping_flags a,
                                                  timestamping_flags b) noexcept {
        return from_native(a.bits_ | b.bits_);
    }
    /// True if both hold the same bits.
    friend constexpr bool operator==(timestamping_flags, timestamping_flags) noexcept = default;

private:
    unsigned bits_ = 0;
};

/// The SOF_TIMESTAMPING_* flags netkit names. Generation flags say which timestamps are taken,
/// reporting flags which are delivered: a software transmit timestamp needs both `tx_software`
/// and `software`.
namespace timestamping_flag {
/// SOF_TIMESTAMPING_TX_SOFTWARE: take a timestamp when a packet leaves for the device.
inline constexpr auto tx_software = timestamping_flags::from_native(SOF_TIMESTAMPING_TX_SOFTWARE);
/// SOF_TIMESTAMPING_RX_SOFTWARE: take a timestamp when a packet enters the stack.
inline constexpr auto rx_software = timestamping_flags::from_native(SOF_TIMESTAMPING_RX_SOFTWARE);
/// SOF_TIMESTAMPING_SOFTWARE: report software timestamps (SCM_TIMESTAMPING's first time).
inline constexpr auto software = timestamping_flags::from_native(SOF_TIMESTAMPING_SOFTWARE);
/// SOF_TIMESTAMPING_OPT_ID: tell, in the entry's `data`, what a timestamp belongs to: on UDP the
/// send (counted from 0 once set), on TCP the byte offset of its last byte (connected sockets).
inline constexpr auto opt_id = timestamping_flags::from_native(SOF_TIMESTAMPING_OPT_ID);
/// SOF_TIMESTAMPING_OPT_TSONLY: queue the timestamp without a copy of the packet.
inline constexpr auto opt_tsonly = timestamping_flags::from_native(SOF_TIMESTAMPING_OPT_TSONLY);
/// SOF_TIMESTAMPING_OPT_CMSG: add IP_PKTINFO to transmit timestamps of IPv4 packets, when
/// `ip::receive_packet_info` is on as well.
inline constexpr auto opt_cmsg = timestamping_flags::from_native(SOF_TIMESTAMPING_OPT_CMSG);
} // namespace timestamping_flag

/// Flags (`timestamping_flags`) <-> int (SO_TIMESTAMPING). Use it as `timestamping_codec` (a
/// template, as every codec is: see `basic_bool_codec`).
template <class Flags>
struct basic_timestamping_codec {
    /// The kernel's storage for the option: an int.
    using kernel_type = int;
    /// Stores the bits; returns sizeof(int). Unknown bits are the kernel's to refuse (EINVAL).
    static result<socklen_t> encode(Flags value, int& out, const char* /*operation*/) noexcept {
        out = static_cast<int>(value.bits());
        return socklen_t{sizeof(int)};
    }
    /// The bits read back. Never fails.
    static result<Flags> decode(const int& in, socklen_t /*length*/,
                                const char* /*operation*/) noexcept {
        return Flags::from_native(static_cast<unsigned>(in));
    }
};

/// The codec of SO_TIMESTAMPING (`so::timestamping`): timestamping_flags <-> int.
using timestamping_codec = basic_timestamping_codec<timestamping_flags>;

/// SOL_SOCKET options: `sock.set(netkit::so::keep_alive, true)`.
namespace so {
using option_scope::any_protocol;
using option_scope::ip_protocols;
using option_scope::local_protocols;
using option_scope::tcp_only;
using option_scope::udp_only;
/// Shorthand for option_access::get in the declarations below (read-only options).
constexpr auto get = option_access::get;
/// Shorthand for option_access::get_set in the declarations below.
constexpr auto get_set = option_access::get_set;

/// SO_REUSEADDR: bind a port whose old connections sit in TIME_WAIT.
inline constexpr socket_option<"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, bool> reuse_address{};
/// SO_REUSEPORT: several sockets bind one port; the kernel spreads connections or datagrams.
inline constexpr socket_option<"SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, bool, get_set,
                               ip_protocols>
    reuse_port{};
/// SO_KEEPALIVE: probe idle connections (timing in tcp::keep_idle, keep_interval, keep_count).
inline constexpr socket_option<"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, bool, get_set, tcp_only>
    keep_alive{};
/// SO_LINGER: nullopt = close returns at once; a duration = close waits that long for queued
/// data to be sent; zero = close resets the connection (RST) and drops queued data.
inline constexpr socket_option<"SO_LINGER", SOL_SOCKET, SO_LINGER,
                               std::optional<std::chrono::seconds>, get_set, any_protocol,
                               linger_codec>
    linger{};
/// SO_RCVBUF in bytes. Linux doubles the value set (bookkeeping overhead) and reads back the
/// doubled value, within net.core.rmem_max.
inline constexpr socket_option<"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, int, get_set, any_protocol,
                               int_codec<int, true>>
    receive_buffer_size{};
/// SO_SNDBUF in bytes; doubled by Linux like SO_RCVBUF, within net.core.wmem_max.
inline constexpr socket_option<"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, int, get_set, any_protocol,
                               int_codec<int, true>>
    send_buffer_size{};
/// SO_RCVLOWAT: a receive waits for at least this many bytes.
inline constexpr socket_option<"SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, int, get_set, any_protocol,
                               int_codec<int, true>>
    receive_low_watermark{};
/// SO_SNDLOWAT: not changeable on Linux (always 1); reading it works, setting it is ENOPROTOOPT.
inline constexpr socket_option<"SO_SNDLOWAT", SOL_SOCKET, SO_SNDLOWAT, int, get_set, any_protocol,
                               int_codec<int, true>>
    send_low_watermark{};
/// SO_RCVTIMEO: a blocking receive fails with would_block after this long; zero = forever.
inline constexpr socket_option<"SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, std::chrono::microseconds,
                               get_set, any_protocol, timeval_codec>
    receive_timeout{};
/// SO_SNDTIMEO: a blocking send fails with would_block after this long; zero = forever.
inline constexpr socket_option<"SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, std::chrono::microseconds,
                               get_set, any_protocol, timeval_codec>
    send_timeout{};
/// SO_BROADCAST: allow sending to broadcast addresses.
inline constexpr socket_option<"SO_BROADCAST", SOL_SOCKET, SO_BROADCAST, bool, get_set, udp_only>
    broadcast{};
/// SO_DONTROUTE: only to directly connected networks.
inline constexpr socket_option<"SO_DONTROUTE", SOL_SOCKET, SO_DONTROUTE, bool, get_set,
                               ip_protocols>
    dont_route{};
/// SO_OOBINLINE: urgent data stays in the normal stream.
inline constexpr socket_option<"SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE, bool, get_set, tcp_only>
    oob_inline{};
/// SO_PRIORITY: the queueing priority of outgoing packets (0-6 without CAP_NET_ADMIN).
inline constexpr socket_option<"SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, int, get_set, any_protocol,
                               int_codec<int, true>>
    priority{};
/// SO_MARK: the firewall mark of outgoing packets (needs CAP_NET_ADMIN).
inline constexpr socket_option<"SO_MARK", SOL_SOCKET, SO_MARK, std::uint32_t, get_set, ip_protocols>
    mark{};
/// SO_BINDTODEVICE: send and receive only through this interface ("" unbinds).
inline constexpr socket_option<"SO_BINDTODEVICE", SOL_SOCKET, SO_BINDTODEVICE, std::string, get_set,
                               ip_protocols, string_codec<IFNAMSIZ>>
    bind_to_device{};
/// SO_TIMESTAMP: receive timestamps (microseconds) as control messages.
inline constexpr socket_option<"SO_TIMESTAMP", SOL_SOCKET, SO_TIMESTAMP, bool> timestamp{};
/// SO_TIMESTAMPNS: receive timestamps (nanoseconds) as control messages.
inline constexpr socket_option<"SO_TIMESTAMPNS", SOL_SOCKET, SO_TIMESTAMPNS, bool> timestamp_ns{};
/// SO_TIMESTAMPING: software (or hardware) timestamps for sent packets, read from the error
/// queue, and for received ones, as `cmsg::timestamping` control messages.
inline constexpr socket_option<"SO_TIMESTAMPING", SOL_SOCKET, SO_TIMESTAMPING, timestamping_flags,
                               get_set, ip_protocols, timestamping_codec>
    timestamping{};
/// SO_BUSY_POLL: busy-poll the device queue this long on a blocking receive.
inline constexpr socket_option<"SO_BUSY_POLL", SOL_SOCKET, SO_BUSY_POLL, std::chrono::microseconds,
                               get_set, ip_protocols, duration_codec<std::chrono::microseconds>>
    busy_poll{};
/// SO_INCOMING_CPU: the CPU that handles this socket's packets (-1: none yet).
inline constexpr socket_option<"SO_INCOMING_CPU", SOL_SOCKET, SO_INCOMING_CPU, int, get_set,
                               ip_protocols>
    incoming_cpu{};
/// SO_ZEROCOPY: allow MSG_ZEROCOPY sends.
inline constexpr socket_option<"SO_ZEROCOPY", SOL_SOCKET, SO_ZEROCOPY, bool, get_set, ip_protocols>
    zero_copy{};
/// SO_RXQ_OVFL: report the count of dropped datagrams as a control message.
inline constexpr socket_option<"SO_RXQ_OVFL", SOL_SOCKET, SO_RXQ_OVFL, bool>
    receive_queue_overflow{};
/// SO_PASSCRED: receive the sender's credentials (SCM_CREDENTIALS) with each message.
inline constexpr socket_option<"SO_PASSCRED", SOL_SOCKET, SO_PASSCRED, bool, get_set,
                               local_protocols>
    pass_credentials{};

/// SO_ERROR (read-only): the pending error, cleared by reading it (0 if none). This is how a
/// non-blocking connect reports its outcome.
inline constexpr socket_option<"SO_ERROR", SOL_SOCKET, SO_ERROR, int, get> error{};
/// SO_TYPE (read-only): SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
inline constexpr socket_option<"SO_TYPE", SOL_SOCKET, SO_TYPE, int, get> type{};
/// SO_DOMAIN (read-only): AF_INET, AF_INET6 or AF_UNIX.
inline constexpr socket_option<"SO_DOMAIN", SOL_SOCKET, SO_DOMAIN, int, get> domain{};
/// SO_PROTOCOL (read-only): IPPROTO_TCP, IPPROTO_UDP, or 0 for Unix sockets.
inline constexpr socket_option<"SO_PROTOCOL", SOL_SOCKET, SO_PROTOCOL, int, get> protocol_number{};
/// SO_ACCEPTCONN (read-only): whether the socket is listening.
inline constexpr socket_option<"SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN, bool, get>
    accepting_connections{};
/// SO_PEERCRED (read-only, Unix sockets): the peer's pid, uid and gid at connect time.
inline constexpr socket_option<"SO_PEERCRED", SOL_SOCKET, SO_PEERCRED, credentials, get,
                               local_protocols, credentials_codec>
    peer_credentials{};
} // namespace so

} // namespace netkit
