#pragma once

#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/concepts.hpp>
#include <netkit/buffer/cursor.hpp>
#include <netkit/buffer/exact_gather.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/iovec_io.hpp>
#include <netkit/detail/message_calls.hpp>
#include <netkit/detail/readiness_wait.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/detail/socket_base.hpp>
#include <netkit/detail/stream_loops.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/protocol/tags.hpp>
#include <netkit/sys/syscall.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit {

/// A socket of protocol P (`tcp::socket`, `udp::socket`, `local::stream_socket`, ...). It owns
/// its descriptor (opened CLOEXEC); every send path uses MSG_NOSIGNAL; EINTR is retried.
///
/// What P cannot do does not compile: `send_to` on a stream, `send_all` on datagrams,
/// `pair()` on IP protocols. Listening is `basic_acceptor`'s, for connection-oriented protocols.
///
/// @par Example
/// @code
/// auto sock =
/// netkit::tcp::socket::connect(netkit::ip::endpoint::parse("127.0.0.1:8080").value()).value();
/// sock.send_all(netkit::gather(header, body)).value();
/// @endcode
template <protocol_tag P>
class basic_socket : public detail::socket_base<P> {
    using base = detail::socket_base<P>;
    using base::fd_;

public:
    using typename base::endpoint_type;
    using typename base::protocol_type;
    /// What `receive` returns: a byte count on a stream, sizes with truncation on messages.
    using receive_result =
        std::conditional_t<keeps_boundaries<P>, receive_info<endpoint_type>, std::size_t>;

    using base::base;
    basic_socket() noexcept = default;

    // ---- opening ------------------------------------------------------------------------------

    /// socket(2) for an IP protocol, in the given family (`netkit::ip::v4` or `v6`), blocking
    /// or, with `io_mode::non_blocking`, opened with SOCK_NONBLOCK.
    static result<basic_socket>
    open(ip::family family, io_mode mode = io_mode::blocking) noexcept requires opens_by_family<P> {
        return wrap(detail::open_socket(static_cast<int>(family),
                                        P::socket_type | detail::type_flags(mode),
                                        P::protocol_number));
    }
    /// socket(2) for a Unix-domain protocol, blocking or (`io_mode::non_blocking`) not.
    static result<basic_socket>
    open(io_mode mode = io_mode::blocking) noexcept requires can_pair<P> {
        return wrap(detail::open_socket(AF_UNIX, P::socket_type | detail::type_flags(mode),
                                        P::protocol_number));
    }
    /// Opens a socket for the endpoint's family and connects it. On a datagram protocol this
    /// fixes the peer: plain send/receive then go to and come from it only.
    static result<basic_socket> connect(const endpoint_type& peer) noexcept {
        return wrap(detail::open_connected<P>(peer, deadline::never()));
    }
    /// `connect` within `until` (a deadline or a timeout): `std::errc::timed_out`, naming the
    /// endpoint, when the connection is not made by then; the half-open socket is closed. The
    /// socket returned is blocking, as `connect`'s.
    static result<basic_socket> connect(const endpoint_type& peer, deadline until) noexcept {
        return wrap(detail::open_connected<P>(peer, until));
    }

    /// socketpair(2): two connected Unix-domain sockets, both blocking or both not (`mode`).
    static result<std::pair<basic_socket, basic_socket>>
    pair(io_mode mode = io_mode::blocking) noexcept requires can_pair<P> {
        auto fds = detail::open_socket_pair(AF_UNIX, P::socket_type | detail::type_flags(mode),
                                            P::protocol_number);
        if (!fds) {
            return failure{fds.error()};
        }
        return std::pair{basic_socket(std::move(fds->first)), basic_socket(std::move(fds->second))};
    }

    /// bind(2). Errors name the endpoint: "bind 127.0.0.1:80: Address already in use".
    result<void> bind(const endpoint_type& local) noexcept {
        return detail::bind(fd_.get(), local.data(), local.size());
    }
    /// connect(2) on this already open socket (for instance after `bind`).
    result<void> connect_to(const endpoint_type& peer) noexcept {
        return detail::connect(fd_.get(), peer.data(), peer.size());
    }
    /// shutdown(2): ends reading, writing or both for every copy of the descriptor (unlike
    /// `close`, which ends only this copy). After `shutdown::write` the peer reads end-of-stream.
    result<void> shutdown(shutdown_type how) noexcept {
        return detail::shutdown(fd_.get(), static_cast<int>(how));
    }
    /// getpeername(2).
    [[nodiscard]] result<endpoint_type> remote_endpoint() const noexcept {
        return detail::read_endpoint<endpoint_type>(fd_.get(), &detail::peer_name);
    }
    /// dup(2) (CLOEXEC): a second descriptor for the same open socket.
    [[nodiscard]] result<basic_socket> duplicate() const noexcept {
        return wrap(detail::duplicate(fd_.get()));
    }

    // ---- sending --------------------------------------------------------------------------------

    /// One send(2) of a byte range, or one sendmsg(2) of a buffer sequence (gather). A sequence
    /// of small fragments (each under 512 bytes, together at most 16 KiB) is copied into one
    /// stack buffer and sent with send(2) instead, which is faster; `exact_gather` keeps the
    /// iovecs. Returns the bytes sent, which on a stream may be fewer than offered: see
    /// `send_all`. On a datagram socket the socket must be connected. More than IOV_MAX
    /// buffers: `errc::too_many_buffers`.
    template <sendable_data Data>
    result<std::size_t> send(const Data& data, send_flags flags = {}) noexcept {
        if constexpr (buffer_sequence<Data>) {
            return detail::send_message_from(fd_.get(), data, nullptr, 0, nullptr, flags);
        } else {
            const const_buffer bytes = buffer(data);
            return detail::send(fd_.get(), bytes.data(), bytes.size(), flags.bits());
        }
    }

    /// Sends everything, looping over short writes; a buffer sequence goes out as sendmsg calls
    /// of up to IOV_MAX buffers, each continuing from the exact byte the last one stopped at
    /// (a message of small fragments is copied and sent as one range first, as in `send`).
    /// On a non-blocking socket it waits for room (unless `send_flag::dont_wait`). With a
    /// deadline (or a timeout) it stops there with `std::errc::timed_out`. On failure the
    /// error's `bytes_transferred()` says how much had been sent.
    template <class Data, class Until = detail::no_deadline_t>
    result<std::size_t> send_all(const Data& data, send_flags flags = {}, Until until = {}) noexcept
        requires can_stream<P> && sendable_data<Data> && std::is_convertible_v<Until, deadline> {
        if constexpr (buffer_sequence<Data>) {
            constexpr bool coalesce = detail::may_coalesce<Data>;
            if constexpr (detail::contiguous_sized<const Data&>) {
                return detail::send_all_iovecs<coalesce>(fd_.get(), as_iovecs(data), flags, until);
            } else {
                return detail::transfer_in_windows(
                    data, [this, flags, until](std::span<const iovec> window) noexcept {
                        return detail::send_all_iovecs<coalesce>(fd_.get(), window, flags, until);
                    });
            }
        } else {
            const const_buffer bytes = buffer(data);
            return detail::send_all_bytes(fd_.get(), static_cast<const char*>(bytes.data()),
                                          bytes.size(), flags, until);
        }
    }
    /// `send_all` within `timeout`: `sock.send_all(data, 2s)`.
    template <class Data, class Rep, class Period>
    result<std::size_t> send_all(const Data& data,
                                 std::chrono::duration<Rep, Period> timeout) noexcept requires
        can_stream<P> && sendable_data<Data> {
        return send_all(data, send_flags{}, deadline(timeout));
    }

    /// sendto(2) / sendmsg(2) with a destination: one datagram to `peer`.
    template <class Data>
    result<std::size_t>
    send_to(const Data& data, const endpoint_type& peer,
            send_flags flags = {}) noexcept requires can_send_to<P> && sendable_data<Data> {
        if constexpr (buffer_sequence<Data>) {
            return detail::send_message_from(fd_.get(), data, peer.data(), peer.size(), nullptr,
                                             flags);
        } else {
            const const_buffer bytes = buffer(data);
            return detail::send_to(fd_.get(), bytes.data(), bytes.size(), flags.bits(), peer.data(),
                                   peer.size());
        }
    }

    // ---- receiving ------------------------------------------------------------------------------

    /// One recv(2) into a writable range, or one recvmsg(2) into a buffer sequence (scatter).
    /// On a stream: the byte count, 0 meaning the peer has shut down writing (end of stream).
    /// On a message protocol: a `receive_info` whose `truncated()` tells that the message was
    /// larger than the buffers (its real size is `message_size`).
    template <receive_target Data>
    result<receive_result> receive(Data&& data, receive_flags flags = {}) noexcept {
        if constexpr (buffer_sequence<std::remove_cvref_t<Data>>) {
            auto got = detail::receive_message_into<P>(fd_.get(), data, nullptr, nullptr, flags);
            if constexpr (keeps_boundaries<P>) {
                return got;
            } else {
                if (!got) {
                    return failure{got.error()};
                }
                return got->size;
            }
        } else {
            const mutable_buffer bytes = detail::as_mutable_buffer(data);
            auto got = detail::receive(fd_.get(), bytes.data(), bytes.size(),
                                       flags.bits() | detail::truncation_flag<P>);
            if (!got) {
                return failure{got.error()};
            }
            return detail::receive_sizes<P>(*got, bytes.size());
        }
    }

    /// `receive` that waits for data at most until `until`: `std::errc::timed_out` when nothing
    /// arrived by then.
    template <receive_target Data>
    result<receive_result> receive(Data&& data, receive_flags flags, deadline until) noexcept {
        return detail::with_deadline(fd_.get(), POLLIN, until, "receive", [&](int extra) noexcept {
            return receive(data, flags | receive_flags::from_native(extra));
        });
    }
    /// `receive` within `timeout`: `sock.receive(buffer, 2s)`.
    template <receive_target Data, class Rep, class Period>
    result<receive_result> receive(Data&& data,
                                   std::chrono::duration<Rep, Period> timeout) noexcept {
        return receive(data, receive_flags{}, deadline(timeout));
    }

    /// Receives exactly as many bytes as the buffers hold, looping over short reads and waiting
    /// on a non-blocking socket (unless `receive_flag::dont_wait`). End of stream first is the
    /// error `errc::end_of_stream`; the error's `bytes_transferred()` says how much had arrived.
    /// `receive_flag::peek` is refused (`std::errc::invalid_argument`): a peek takes nothing
    /// from the queue, so a second pass would copy the same bytes again further on; for a
    /// whole peek use `receive(data, peek | wait_all)`.
    template <class Data, class Until = detail::no_deadline_t>
    result<std::size_t> receive_exact(Data&& data, receive_flags flags = {},
                                      Until until = {}) noexcept requires can_stream<P> &&
        receive_target<Data> && std::is_convertible_v<Until, deadline> {
        if (flags.contains(receive_flag::peek)) [[unlikely]] {
            // The operation names the refused flag: "Invalid argument" alone would not say which.
            return detail::errc_failure(std::errc::invalid_argument, "receive_exact with peek");
        }
        if constexpr (buffer_sequence<std::remove_cvref_t<Data>>) {
            if constexpr (detail::contiguous_sized<const std::remove_cvref_t<Data>&>) {
                return detail::receive_exact_iovecs(fd_.get(), as_iovecs(data), flags, until);
            } else {
                return detail::transfer_in_windows(
                    data, [this, flags, until](std::span<const iovec> window) noexcept {
                        return detail::receive_exact_iovecs(fd_.get(), window, flags, until);
                    });
            }
        } else {
            const mutable_buffer bytes = detail::as_mutable_buffer(data);
            const iovec one{bytes.data(), bytes.size()};
            return detail::receive_exact_iovecs(fd_.get(), std::span<const iovec>(&one, 1), flags,
                                                until);
        }
    }
    /// `receive_exact` within `timeout`: `sock.receive_exact(header, 2s)`.
    template <class Data, class Rep, class Period>
    result<std::size_t> receive_exact(Data&& data,
                                      std::chrono::duration<Rep, Period> timeout) noexcept requires
        can_stream<P> && receive_target<Data> {
        return receive_exact(data, receive_flags{}, deadline(timeout));
    }

    /// recvfrom(2) / recvmsg(2) with a name: one datagram and its sender, which is always
    /// present (the unnamed endpoint for a sender on an unbound Unix socket).
    template <class Data>
    result<receive_info<endpoint_type>> receive_from(Data&& data, receive_flags flags = {}) noexcept
        requires can_send_to<P> && receive_target<Data> {
        sockaddr_storage storage{};
        if constexpr (buffer_sequence<std::remove_cvref_t<Data>>) {
            return detail::receive_message_into<P>(fd_.get(), data, &storage, nullptr, flags);
        } else {
            const mutable_buffer bytes = detail::as_mutable_buffer(data);
            socklen_t length = sizeof storage;
            auto got = detail::receive_from(fd_.get(), bytes.data(), bytes.size(),
                                            flags.bits() | MSG_TRUNC,
                                            reinterpret_cast<sockaddr*>(&storage), &length);
            if (!got) {
                return failure{got.error()};
            }
            receive_info<endpoint_type> info = detail::receive_sizes<P>(*got, bytes.size());
            info.sender = detail::decode_sender<P>(&storage, length);
            return info;
        }
    }

    /// `receive_from` that waits for a datagram at most until `until`: `std::errc::timed_out`
    /// when none arrived by then.
    template <class Data>
    result<receive_info<endpoint_type>>
    receive_from(Data&& data, receive_flags flags,
                 deadline until) noexcept requires can_send_to<P> && receive_target<Data> {
        return detail::with_deadline(
            fd_.get(), POLLIN, until, "receive_from", [&](int extra) noexcept {
                return receive_from(data, flags | receive_flags::from_native(extra));
            });
    }
    /// `receive_from` within `timeout`: `sock.receive_from(buffer, 2s)`.
    template <class Data, class Rep, class Period>
    result<receive_info<endpoint_type>>
    receive_from(Data&& data, std::chrono::duration<Rep, Period> timeout) noexcept requires
        can_send_to<P> && receive_target<Data> {
        return receive_from(data, receive_flags{}, deadline(timeout));
    }

    // ---- messages: sendmsg/recvmsg with every field of msghdr ---------------------------------

    /// sendmsg(2) with control data (SCM_RIGHTS, SCM_CREDENTIALS, IP_PKTINFO, ...): one call,
    /// whatever the number of buffers up to IOV_MAX. Data is a byte range or a buffer sequence.
    template <sendable_data Data>
    result<std::size_t> send_message(const Data& data, const control_storage& control,
                                     send_flags flags = {}) noexcept {
        return detail::send_message_from(fd_.get(), data, nullptr, 0, &control, flags);
    }
    /// sendmsg(2) of a message built by hand (`message_header`): its name, buffers and control
    /// data as they are, in one call. For a message sent many times, or fields netkit has no
    /// other call for.
    result<std::size_t> send_message(const message_header& message,
                                     send_flags flags = {}) noexcept {
        return detail::send_message(fd_.get(), message.native(), flags.bits());
    }
    /// sendmsg(2) to `peer`, with control data (IP_PKTINFO to choose the source address, ...).
    template <class Data>
    result<std::size_t>
    send_message_to(const Data& data, const endpoint_type& peer, const control_storage& control,
                    send_flags flags = {}) noexcept requires can_send_to<P> && sendable_data<Data> {
        return detail::send_message_from(fd_.get(), data, peer.data(), peer.size(), &control,
                                         flags);
    }
    /// sendmsg(2) to `peer` without control data (a message of small fragments: one sendto(2)
    /// of a stack copy, as in `send`).
    template <class Data>
    result<std::size_t>
    send_message_to(const Data& data, const endpoint_type& peer,
                    send_flags flags = {}) noexcept requires can_send_to<P> && sendable_data<Data> {
        return detail::send_message_from(fd_.get(), data, peer.data(), peer.size(), nullptr, flags);
    }

    /// recvmsg(2) with control data. Descriptors that arrive (SCM_RIGHTS) are received
    /// close-on-exec (MSG_CMSG_CLOEXEC) and owned by `control` at once.
    template <receive_target Data>
    result<receive_info<endpoint_type>> receive_message(Data&& data, control_storage& control,
                                                        receive_flags flags = {}) noexcept {
        sockaddr_storage sender{};
        return detail::receive_message_into<P>(fd_.get(), data, &sender, &control, flags);
    }
    /// recvmsg(2) without control data, for the flags out and the sender.
    template <receive_target Data>
    result<receive_info<endpoint_type>> receive_message(Data&& data,
                                                        receive_flags flags = {}) noexcept {
        sockaddr_storage sender{};
        return detail::receive_message_into<P>(fd_.get(), data, &sender, nullptr, flags);
    }

    /// @cond NETKIT_REFUSALS
    // The refused calls, each naming its mistake on the first error line and each making the
    // matching requires-expression false (see detail/refusal.hpp). Declarations only: they add
    // no code to the calls that compile.
    static NETKIT_REFUSED("netkit: open() without a family is for Unix-domain protocols: an IP "
                          "socket opens with open(netkit::ip::v4) or open(netkit::ip::v6)")
        open() noexcept requires(!can_pair<P>) NETKIT_REFUSAL_END;
    static NETKIT_REFUSED("netkit: a Unix-domain socket has one family: open it with open(), "
                          "without one") open(ip::family) noexcept
        requires(!opens_by_family<P>) NETKIT_REFUSAL_END;
    static NETKIT_REFUSED("netkit: pair() is socketpair(2), which only Unix-domain protocols "
                          "have: connect to a listening socket instead") pair() noexcept
        requires(!can_pair<P>) NETKIT_REFUSAL_END;

    template <class... Args>
    NETKIT_REFUSED("netkit: send_all() loops over a byte stream: on a message protocol "
                   "(datagram, seqpacket) send() sends a message whole or not at all")
    send_all(const Args&...) noexcept requires(!can_stream<P>) NETKIT_REFUSAL_END;
    template <class... Args>
    NETKIT_REFUSED("netkit: receive_exact() loops over a byte stream: on a message protocol "
                   "(datagram, seqpacket) receive() takes one message whole")
    receive_exact(Args&&...) noexcept requires(!can_stream<P>) NETKIT_REFUSAL_END;
    template <class... Args>
    NETKIT_REFUSED("netkit: send_to() addresses a datagram: a connected protocol (stream, "
                   "seqpacket) has one peer, so use send()")
    send_to(const Args&...) noexcept requires(!can_send_to<P>) NETKIT_REFUSAL_END;
    template <class... Args>
    NETKIT_REFUSED("netkit: send_message_to() addresses a datagram: a connected protocol "
                   "(stream, seqpacket) has one peer, so use send_message()")
    send_message_to(const Args&...) noexcept requires(!can_send_to<P>) NETKIT_REFUSAL_END;
    template <class... Args>
    NETKIT_REFUSED("netkit: receive_from() reports the sender of a datagram: a connected "
                   "protocol (stream, seqpacket) has one peer, so use receive() and "
                   "remote_endpoint()")
    receive_from(Args&&...) noexcept requires(!can_send_to<P>) NETKIT_REFUSAL_END;

    NETKIT_REFUSE_SEND_DATA(send, true);
    NETKIT_REFUSE_SEND_DATA(send_all, can_stream<P>);
    NETKIT_REFUSE_SEND_DATA(send_to, can_send_to<P>);
    NETKIT_REFUSE_SEND_DATA(send_message, true);
    NETKIT_REFUSE_SEND_DATA(send_message_to, can_send_to<P>);
    NETKIT_REFUSE_RECEIVE_DATA(receive, true);
    NETKIT_REFUSE_RECEIVE_DATA(receive_exact, can_stream<P>);
    NETKIT_REFUSE_RECEIVE_DATA(receive_from, can_send_to<P>);
    NETKIT_REFUSE_RECEIVE_DATA(receive_message, true);
    /// @endcond

private:
    static result<basic_socket> wrap(result<file_descriptor> fd) noexcept {
        if (!fd) {
            return failure{fd.error()};
        }
        return basic_socket(std::move(*fd));
    }
};

namespace tcp {
/// A TCP socket.
using socket = basic_socket<protocol>;
/// A TCP endpoint: an IPv4 or IPv6 address and a port.
using endpoint = ip::endpoint;
} // namespace tcp
namespace udp {
/// A UDP socket.
using socket = basic_socket<protocol>;
/// A UDP endpoint: an IPv4 or IPv6 address and a port.
using endpoint = ip::endpoint;
} // namespace udp
namespace local {
/// A Unix-domain stream socket.
using stream_socket = basic_socket<stream_protocol>;
/// A Unix-domain datagram socket.
using datagram_socket = basic_socket<datagram_protocol>;
/// A Unix-domain seqpacket socket: connected, reliable, message boundaries kept.
using seqpacket_socket = basic_socket<seqpacket_protocol>;
} // namespace local

} // namespace netkit
