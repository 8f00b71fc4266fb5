#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/file_transfer_loops.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/io/pipe.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace netkit {

/// A part of a file to send: `length` bytes from `offset`, or everything from `offset` on.
///
/// @par Example
/// @code
/// netkit::file_range{};                                  // the whole file
/// netkit::file_range{.offset = 4096};                    // from 4096 to the end
/// netkit::file_range{.offset = 4096, .length = 1000};    // 1000 bytes from 4096
/// @endcode
struct file_range {
    /// `length` meaning "to the end of the file, as it is when the send starts".
    static constexpr std::uint64_t to_end = detail::whole_rest;
    /// Where the range starts, in bytes from the start of the file.
    std::uint64_t offset = 0;
    /// How many bytes, or `to_end`.
    std::uint64_t length = to_end;
};

/// Sends `range` of the regular file `file` on a stream socket with sendfile(2): the bytes go from
/// the page cache to the socket without being copied into the process. Loops over short
/// transfers until the whole range is sent; returns its length. The file's own offset is not
/// moved (the range says where to read), so one descriptor can serve many sends at once.
///
/// Waits as `send_all` does: a non-blocking socket waits for room with poll; on a blocking
/// socket EAGAIN (SO_SNDTIMEO expired) stops the loop. With a deadline (or a timeout) it stops
/// there with `std::errc::timed_out`; a blocking socket is made non-blocking for the length of
/// the call, because sendfile has no MSG_DONTWAIT and would otherwise sleep past the deadline.
///
/// Checked before a byte goes, so that a caller who announced a length never sends less:
/// `is_a_directory` for a directory; `invalid_argument` for what is not a regular file (a pipe,
/// a socket, a device), for an offset past the end of the file, and for a `length` that runs
/// past the end. An offset at the end of the file sends nothing and returns 0.
///
/// On failure the error's `bytes_transferred()` says how many bytes of the range went: resume
/// from `range.offset + bytes_transferred()`. A closed or reset peer is `broken_pipe` or
/// `connection_reset`, never a SIGPIPE (blocked in the calling thread during the call, and the
/// one the kernel raised taken away). A file that shrinks during the send ends the loop with
/// `netkit::errc::end_of_stream`.
///
/// @par Example
/// @code
/// const auto sent = netkit::send_file(client, file, {.offset = 0, .length = size}, 30s);
/// @endcode
template <can_stream P, class Until = detail::no_deadline_t>
    requires std::is_convertible_v<Until, deadline> result<std::size_t>
    send_file(basic_socket<P>& sock, int file, file_range range = {}, Until until = {})
noexcept {
    auto checked = detail::check_range(file, range.offset, range.length, "sendfile");
    if (!checked) {
        return failure{checked.error()};
    }
    if (checked->length == 0) {
        return std::size_t{0};
    }
    return detail::send_file_loop(sock.native_handle(), file, *checked, until);
}

/// `send_file` within `timeout`: `netkit::send_file(sock, file, {}, 5s)`.
template <can_stream P, class Rep, class Period>
result<std::size_t> send_file(basic_socket<P>& sock, int file, file_range range,
                              std::chrono::duration<Rep, Period> timeout) noexcept {
    return send_file(sock, file, range, deadline(timeout));
}

/// `send_file` by splice(2) through `through` (file to pipe, pipe to socket) instead of
/// sendfile(2): the same contract, checks and errors. Two calls per pipeful instead of one; for
/// comparison, and for kernels or files where sendfile is refused.
///
/// On failure the error's `bytes_transferred()` counts, as `send_file`'s does, only the bytes of
/// the range that reached the socket. Those that reached the pipe but not the socket stay in it
/// (`through.buffered()`): they are the file's next bytes, from `range.offset +
/// bytes_transferred()` on. What the pipe holds when a call starts is taken for the first bytes
/// of its range: they go first, and the file is read from `range.offset + through.buffered()` on.
/// So a resume from `range.offset + bytes_transferred()` with the same pipe sends every byte of the
/// file once, in order; its count (returned, or `bytes_transferred()`) includes the pipe's bytes
/// that went. A range shorter than what the pipe holds sends only its first `range.length` of
/// them; the rest stay in the pipe. To resume without the pipe (with `send_file`, or another
/// pipe), close it first: its bytes are discarded, and read from the file again. A pipe holding
/// bytes of anything else (a `splice_all`'s leftovers) would send them as the file's.
///
/// @par Example
/// @code
/// const netkit::file_range whole{.offset = 0, .length = size};
/// auto sent = netkit::send_file_spliced(client, file, through, whole, 30s);
/// if (!sent) {
///     // Later, on this connection and with this pipe: the rest, each byte once.
///     const std::uint64_t done = sent.error().bytes_transferred();
///     sent = netkit::send_file_spliced(client, file, through,
///                                      {.offset = done, .length = size - done}, 30s);
/// }
/// @endcode
template <can_stream P>
result<std::size_t> send_file_spliced(basic_socket<P>& sock, int file, pipe& through,
                                      file_range range = {},
                                      deadline until = deadline::never()) noexcept {
    auto checked = detail::check_range(file, range.offset, range.length, "splice");
    if (!checked) {
        return failure{checked.error()};
    }
    if (checked->length == 0) {
        return std::size_t{0};
    }
    return detail::send_file_spliced_loop(sock.native_handle(), file, *checked, through.read_end(),
                                          through.write_end(), through.capacity(),
                                          detail::pipe_access::buffered(through), until);
}

/// @cond NETKIT_REFUSALS
template <protocol_tag P, class... Args>
    requires(!can_stream<P>)
NETKIT_REFUSED("netkit: send_file() sends a byte stream: it needs a stream socket (TCP or Unix "
               "stream), not a datagram socket")
send_file(basic_socket<P>&, int, file_range = {}, const Args&...) noexcept NETKIT_REFUSAL_END;
template <protocol_tag P, class... Args>
    requires(!can_stream<P>)
NETKIT_REFUSED("netkit: send_file_spliced() sends a byte stream: it needs a stream socket (TCP or "
               "Unix stream), not a datagram socket")
send_file_spliced(basic_socket<P>&, int, pipe&, file_range = {},
                  const Args&...) noexcept NETKIT_REFUSAL_END;
/// @endcond

} // namespace netkit
