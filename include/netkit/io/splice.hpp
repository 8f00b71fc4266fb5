#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/file_transfer_loops.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/detail/transfer_guards.hpp>
#include <netkit/io/pipe.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>
#include <netkit/sys/file_syscalls.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

#include <fcntl.h>

namespace netkit {

/// How one splice(2) step runs.
struct splice_options {
    /// SPLICE_F_MORE: more data follows at once, so TCP may hold a partial segment back for it.
    /// Only where the caller knows: a held-back tail waits until the next send.
    bool more = false;
    /// SPLICE_F_NONBLOCK: do not wait for the pipe (full or empty): `would_block` instead. The
    /// socket side waits as the socket does; Unix stream sockets also honour the flag on their
    /// side, TCP sockets do not.
    bool dont_wait = false;
};

namespace detail {
inline unsigned splice_bits(splice_options options) noexcept {
    return SPLICE_F_MOVE | (options.more ? SPLICE_F_MORE : 0U) |
           (options.dont_wait ? SPLICE_F_NONBLOCK : 0U);
}
} // namespace detail

/// One splice(2) from a stream socket into `to`: up to `max` bytes of what the socket has
/// received. Returns the bytes moved, 0 at end of stream. On a blocking socket it waits for
/// data; on a non-blocking one, `would_block`. Errors: those of splice.
template <can_stream P>
result<std::size_t> splice(basic_socket<P>& from, pipe& to, std::size_t max,
                           splice_options options = {}) noexcept {
    auto in = detail::splice(from.native_handle(), nullptr, to.write_end(), nullptr, max,
                             detail::splice_bits(options));
    if (in) {
        detail::pipe_access::buffered(to) += *in;
    }
    return in;
}

/// One splice(2) from `from` to a stream socket: up to `max` bytes of what the pipe holds.
/// Returns the bytes moved; what did not go stays in the pipe. A closed or reset peer is
/// `broken_pipe` or `connection_reset`, never a SIGPIPE (blocked for the call: two
/// pthread_sigmask calls each time; the loops pay them once per loop).
template <can_stream P>
result<std::size_t> splice(pipe& from, basic_socket<P>& to, std::size_t max,
                           splice_options options = {}) noexcept {
    detail::sigpipe_guard no_signal;
    auto out = detail::splice(from.read_end(), nullptr, to.native_handle(), nullptr, max,
                              detail::splice_bits(options));
    if (!out) {
        no_signal.after(out.error());
        return out;
    }
    auto& buffered = detail::pipe_access::buffered(from);
    buffered -= detail::min_of(buffered, *out);
    return out;
}

/// What ends a `splice_all` besides the end of the source's stream.
struct splice_limits {
    /// The most bytes that reach the destination in this call, those a pipe held from an earlier
    /// call included: they go first, at most `bytes` of them, and any beyond stay in the pipe
    /// for the next call. 0 moves nothing.
    std::uint64_t bytes = std::numeric_limits<std::uint64_t>::max();
    /// When to give up (a deadline or a timeout): `std::errc::timed_out`.
    deadline until = deadline::never();
};

/// Moves bytes from one stream socket to another through `through`, without copying them into
/// the process, until the source's stream ends (returns; the destination is not shut down: that
/// is the caller's move), `limits.bytes` reached the destination, or `limits.until` passed: the
/// inner loop of a proxy. Returns the bytes that reached the destination.
///
/// Each step is one splice: socket to pipe when the pipe is empty (up to its capacity), pipe to
/// socket until it is empty again. Sockets wait as in `send_all` (a non-blocking socket is
/// polled, a blocking one sleeps in the call; under a deadline both are made non-blocking for
/// the call, since neither splice direction takes MSG_DONTWAIT on every protocol).
///
/// On failure the error's `bytes_transferred()` counts the bytes that reached the destination.
/// A failing source leaves the pipe empty. Bytes the pipe holds when the destination fails
/// (`through.buffered()`) are not lost: they stay in the pipe, and the next `splice_all` (or
/// `splice` from the pipe) with this pipe delivers them first, counted in its `limits.bytes`
/// (a smaller limit moves only that many of them); closing the pipe discards them.
/// A closed or reset destination is `broken_pipe` or `connection_reset`, never a SIGPIPE.
template <can_stream P, can_stream Q>
result<std::size_t> splice_all(basic_socket<P>& from, basic_socket<Q>& to, pipe& through,
                               splice_limits limits = {}) noexcept {
    return detail::splice_all_loop(
        from.native_handle(), to.native_handle(), through.read_end(), through.write_end(),
        through.capacity(), detail::pipe_access::buffered(through), limits.bytes, limits.until);
}

/// @cond NETKIT_REFUSALS
template <protocol_tag P>
    requires(!can_stream<P>)
NETKIT_REFUSED("netkit: splice() moves a byte stream: it needs a stream socket (TCP or Unix "
               "stream), not a datagram socket, whose message boundaries a pipe would lose")
splice(basic_socket<P>&, pipe&, std::size_t, splice_options = {}) noexcept NETKIT_REFUSAL_END;
template <protocol_tag P>
    requires(!can_stream<P>)
NETKIT_REFUSED("netkit: splice() moves a byte stream: it needs a stream socket (TCP or Unix "
               "stream), not a datagram socket, whose message boundaries a pipe would lose")
splice(pipe&, basic_socket<P>&, std::size_t, splice_options = {}) noexcept NETKIT_REFUSAL_END;
template <protocol_tag P, protocol_tag Q>
    requires(!(can_stream<P> && can_stream<Q>))
NETKIT_REFUSED("netkit: splice_all() relays a byte stream: both sockets must be stream sockets "
               "(TCP or Unix stream), not datagram sockets")
splice_all(basic_socket<P>&, basic_socket<Q>&, pipe&,
           splice_limits = {}) noexcept NETKIT_REFUSAL_END;
/// @endcond

} // namespace netkit
