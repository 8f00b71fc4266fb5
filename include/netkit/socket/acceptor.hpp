#pragma once

#include <netkit/buffer/concepts.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/detail/socket_base.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/protocol/tags.hpp>
#include <netkit/socket/socket.hpp>
#include <netkit/sys/syscall.hpp>

#include <utility>

#include <sys/socket.h>

namespace netkit {

/// A connected socket and the address of its peer, as `accept` returns them:
/// `auto [sock, peer] = acceptor.accept().value();`
template <protocol_tag P>
struct accepted {
    basic_socket<P> socket;         ///< the connected socket (CLOEXEC; blocking unless
                                    ///< accepted with `io_mode::non_blocking`)
    typename P::endpoint_type peer; ///< the peer's address as the kernel reported it
};

/// How `basic_acceptor::listen` sets up the listening socket.
struct listen_options {
    /// listen(2)'s backlog; the kernel caps it at net.core.somaxconn.
    int backlog = SOMAXCONN;
    /// SO_REUSEADDR before bind (IP only), so a restarted server can bind its port while its
    /// old connections sit in TIME_WAIT. On by default, as in most servers; set false to get
    /// EADDRINUSE instead.
    bool reuse_address = true;
    /// `io_mode::non_blocking` opens the listening socket with SOCK_NONBLOCK, as a readiness
    /// loop wants it: `accept` with nothing queued is then `would_block()` instead of a wait.
    /// (The sockets it accepts take their mode from `accept`'s argument, not from this.)
    io_mode mode = io_mode::blocking;
};

/// A listening socket of a connection-oriented protocol (`tcp::acceptor`,
/// `local::stream_acceptor`). Datagram protocols have none: listen/accept on them does not
/// compile.
///
/// @par Example
/// @code
/// auto acceptor =
/// netkit::tcp::acceptor::listen(netkit::ip::endpoint::parse("127.0.0.1:0").value()).value(); auto
/// [sock, peer] = acceptor.accept().value();
/// @endcode
template <protocol_tag P>
class basic_acceptor : public detail::socket_base<P> {
    static_assert(can_listen<P>,
                  "netkit: only connection-oriented protocols (stream, seqpacket) can listen and "
                  "accept; a datagram socket receives from anyone with receive_from");
    using base = detail::socket_base<P>;
    using base::fd_;

public:
    using typename base::endpoint_type;
    /// The type of the sockets `accept` returns.
    using socket_type = basic_socket<P>;

    using base::base;
    basic_acceptor() noexcept = default;

    /// socket(2), SO_REUSEADDR (see `listen_options`), bind(2), listen(2).
    static result<basic_acceptor> listen(const endpoint_type& local,
                                         listen_options options = {}) noexcept {
        auto fd = detail::open_for<P>(local, detail::type_flags(options.mode));
        if (!fd) {
            return failure{fd.error()};
        }
        if constexpr (protocol_traits<P>::ip_domain) {
            if (options.reuse_address) {
                const int on = 1;
                if (auto set =
                        detail::set_option(fd->get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
                    !set) {
                    return failure{set.error()};
                }
            }
        }
        if (auto bound = detail::bind(fd->get(), local.data(), local.size()); !bound) {
            return failure{bound.error()};
        }
        if (auto listening = detail::listen(fd->get(), options.backlog); !listening) {
            return failure{listening.error()};
        }
        return basic_acceptor(std::move(*fd));
    }

    /// socket(2) alone, for an acceptor set up step by step: `open`, options (SO_REUSEPORT,
    /// IPV6_V6ONLY, TCP_DEFER_ACCEPT, ...), `bind`, then `listen_now`.
    /// `io_mode::non_blocking` opens it with SOCK_NONBLOCK.
    static result<basic_acceptor>
    open(ip::family family, io_mode mode = io_mode::blocking) noexcept requires opens_by_family<P> {
        return adopt(detail::open_socket(static_cast<int>(family),
                                         P::socket_type | detail::type_flags(mode),
                                         P::protocol_number));
    }
    /// socket(2) alone, for a Unix-domain acceptor set up step by step (`io_mode::non_blocking`:
    /// SOCK_NONBLOCK).
    static result<basic_acceptor>
    open(io_mode mode = io_mode::blocking) noexcept requires can_pair<P> {
        return adopt(detail::open_socket(AF_UNIX, P::socket_type | detail::type_flags(mode),
                                         P::protocol_number));
    }
    /// bind(2). Errors name the endpoint.
    result<void> bind(const endpoint_type& local) noexcept {
        return detail::bind(fd_.get(), local.data(), local.size());
    }
    /// listen(2) on an acceptor from `open` and `bind`.
    result<void> listen_now(int backlog = SOMAXCONN) noexcept {
        return detail::listen(fd_.get(), backlog);
    }

    /// accept4(2) with SOCK_CLOEXEC: the next connection and its peer's address. Retries EINTR
    /// and ECONNABORTED. On a non-blocking acceptor with nothing queued: `would_block()`.
    /// Out of descriptors: EMFILE/ENFILE, after which the acceptor still works. The socket it
    /// returns is opened in `mode` (accept4's SOCK_NONBLOCK): a readiness loop accepts
    /// non-blocking sockets in one call.
    result<accepted<P>> accept(io_mode mode = io_mode::blocking) noexcept {
        sockaddr_storage storage{};
        socklen_t length = sizeof storage;
        auto fd = detail::accept(fd_.get(), reinterpret_cast<sockaddr*>(&storage), &length,
                                 detail::type_flags(mode));
        if (!fd) {
            return failure{fd.error()};
        }
        accepted<P> result{socket_type(std::move(*fd)), {}};
        result.peer = detail::decode_sender<P>(&storage, length).value_or(endpoint_type{});
        return result;
    }

    /// `accept` that waits for a connection at most until `until` (a deadline or a timeout):
    /// `std::errc::timed_out` when none arrived by then. On Linux a connection that poll saw
    /// stays queued until accepted (even if its peer resets), so the accept that follows does not
    /// block, unless another thread or process accepts from the same socket: then make the
    /// acceptor non-blocking.
    result<accepted<P>> accept(deadline until, io_mode mode = io_mode::blocking) noexcept {
        if (!until.is_never()) {
            auto ready = detail::poll_one(fd_.get(), POLLIN, until);
            if (!ready) {
                return failure{ready.error()};
            }
            if (*ready == 0) {
                return detail::errc_failure(errc::deadline_passed, "accept");
            }
        }
        return accept(mode);
    }

    /// @cond NETKIT_REFUSALS
    // As basic_socket's (see detail/refusal.hpp): the open that does not fit the protocol.
    static NETKIT_REFUSED("netkit: open() without a family is for Unix-domain protocols: an IP "
                          "acceptor opens with open(netkit::ip::v4) or open(netkit::ip::v6)")
        open() noexcept requires(!can_pair<P>) NETKIT_REFUSAL_END;
    static NETKIT_REFUSED("netkit: a Unix-domain acceptor has one family: open it with open(), "
                          "without one") open(ip::family) noexcept
        requires(!opens_by_family<P>) NETKIT_REFUSAL_END;
    /// @endcond

private:
    static result<basic_acceptor> adopt(result<file_descriptor> fd) noexcept {
        if (!fd) {
            return failure{fd.error()};
        }
        return basic_acceptor(std::move(*fd));
    }
};

namespace tcp {
/// A TCP listening socket.
using acceptor = basic_acceptor<protocol>;
} // namespace tcp
namespace local {
/// A Unix-domain stream listening socket (a path or an abstract name).
using stream_acceptor = basic_acceptor<stream_protocol>;
/// A Unix-domain seqpacket listening socket.
using seqpacket_acceptor = basic_acceptor<seqpacket_protocol>;
} // namespace local

} // namespace netkit
