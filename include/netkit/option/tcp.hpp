#pragma once

#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/option/descriptor.hpp>

#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>

/// IPPROTO_TCP options: they apply to TCP sockets only, and using one on any other socket does
/// not compile.
namespace netkit::tcp {

using option_scope::tcp_only;
/// Shorthand for option_access::get_set in the declarations below.
constexpr auto get_set = option_access::get_set;

/// Longest congestion control name the kernel knows (TCP_CA_NAME_MAX).
inline constexpr std::size_t congestion_name_capacity = 16;

/// TCP_NODELAY: send small segments at once (no Nagle delay).
inline constexpr socket_option<"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, bool, get_set, tcp_only>
    no_delay{};
/// TCP_CORK: hold partial segments until uncorked (or 200 ms).
inline constexpr socket_option<"TCP_CORK", IPPROTO_TCP, TCP_CORK, bool, get_set, tcp_only> cork{};
/// TCP_QUICKACK: acknowledge at once (the kernel may turn it off again by itself).
inline constexpr socket_option<"TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, bool, get_set, tcp_only>
    quick_ack{};
/// TCP_KEEPIDLE: idle time before the first keep-alive probe (1 s - 32767 s).
inline constexpr socket_option<"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, std::chrono::seconds,
                               get_set, tcp_only, duration_codec<std::chrono::seconds>>
    keep_idle{};
/// TCP_KEEPINTVL: time between keep-alive probes (1 s - 32767 s).
inline constexpr socket_option<"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, std::chrono::seconds,
                               get_set, tcp_only, duration_codec<std::chrono::seconds>>
    keep_interval{};
/// TCP_KEEPCNT: unanswered probes before the connection is dropped (1-127).
inline constexpr socket_option<"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, int, get_set, tcp_only,
                               int_codec<int, true>>
    keep_count{};
/// TCP_USER_TIMEOUT: how long sent data may stay unacknowledged before the connection is
/// dropped (0: system default).
inline constexpr socket_option<"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT,
                               std::chrono::milliseconds, get_set, tcp_only,
                               duration_codec<std::chrono::milliseconds>>
    user_timeout{};
/// TCP_MAXSEG: the maximum segment size (set before connect to clamp it).
inline constexpr socket_option<"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, int, get_set, tcp_only,
                               int_codec<int, true>>
    max_segment{};
/// TCP_FASTOPEN (listeners): the queue length of pending TCP Fast Open requests.
inline constexpr socket_option<"TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, int, get_set, tcp_only,
                               int_codec<int, true>>
    fast_open{};
/// TCP_FASTOPEN_CONNECT (clients): send data in the SYN on the first write after connect.
inline constexpr socket_option<"TCP_FASTOPEN_CONNECT", IPPROTO_TCP, TCP_FASTOPEN_CONNECT, bool,
                               get_set, tcp_only>
    fast_open_connect{};
/// TCP_NOTSENT_LOWAT: writable only while less than this many bytes wait unsent.
inline constexpr socket_option<"TCP_NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, int, get_set,
                               tcp_only, int_codec<int, true>>
    not_sent_low_watermark{};
/// TCP_DEFER_ACCEPT (listeners): wake accept only once data has arrived, or this long passed.
/// The kernel rounds the time to its SYN-ACK retransmission schedule.
inline constexpr socket_option<"TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT,
                               std::chrono::seconds, get_set, tcp_only,
                               duration_codec<std::chrono::seconds>>
    defer_accept{};
/// TCP_CONGESTION: the congestion control algorithm ("cubic", "reno", ...).
inline constexpr socket_option<"TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION, std::string, get_set,
                               tcp_only, string_codec<congestion_name_capacity>>
    congestion{};
/// TCP_INFO (read-only): the kernel's statistics of the connection (struct tcp_info).
inline constexpr socket_option<"TCP_INFO", IPPROTO_TCP, TCP_INFO, ::tcp_info, option_access::get,
                               tcp_only, struct_codec<::tcp_info>>
    info{};

} // namespace netkit::tcp
