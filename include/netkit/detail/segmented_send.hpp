#pragma once

// The machinery of udp::segmenter: cutting a buffer sequence into sends and datagrams, a UDP
// GSO send (one sendmsg with UDP_SEGMENT), and its fallback (sendmmsg of one datagram per
// segment), which must put the same datagrams on the wire.

#include <netkit/buffer/buffer.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/const_view.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/msg/cmsg.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/sys/syscall.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>

#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit::detail {

/// A position in an iovec array from which the next `n` bytes can be taken as iovecs: the
/// caller's own array when the slice starts and ends on buffer boundaries, a copy of the
/// descriptors (never of the bytes) otherwise.
class iovec_slicer {
public:
    explicit iovec_slicer(std::span<const iovec> all) noexcept : all_(all) {}

    /// The next `n` bytes (there must be that many left) as iovecs, written to `out` when the
    /// caller's array cannot be used as it is; `out` must have room for the caller's array plus
    /// one.
    std::span<const iovec> take(std::size_t n, iovec* out) noexcept {
        skip_empty();
        const std::size_t start = index_;
        const std::size_t start_offset = offset_;
        std::size_t count = 0;
        std::size_t left = n;
        while (left > 0 && index_ < all_.size()) {
            const std::size_t here = all_[index_].iov_len - offset_;
            const std::size_t used = min_of(here, left);
            out[count++] = iovec{static_cast<std::byte*>(all_[index_].iov_base) + offset_, used};
            left -= used;
            if (used == here) {
                ++index_;
                offset_ = 0;
            } else {
                offset_ += used;
            }
        }
        if (start_offset == 0 && offset_ == 0) {
            return all_.subspan(start, index_ - start); // whole buffers: the caller's own
        }
        return const_view<iovec>(out, count);
    }

private:
    void skip_empty() noexcept {
        while (index_ < all_.size() && all_[index_].iov_len == offset_) {
            ++index_;
            offset_ = 0;
        }
    }

    std::span<const iovec> all_;
    std::size_t index_ = 0;
    std::size_t offset_ = 0;
};

/// The most payload one UDP send carries over IPv4 (65535 - 20 - 8); IPv6 allows more, but one
/// limit for both keeps a segmented send's cutting independent of the family.
inline constexpr std::size_t max_udp_payload = 65507;

/// Errors of a segmented send that mean the kernel would not segment it, though the same
/// datagrams can go one by one: EINVAL (UDP checksums off on the socket; on older kernels also a
/// segment over the path MTU), EIO (older kernels: a device without checksum offload, or IPsec on
/// the route) and ENOPROTOOPT (no GSO).
inline bool segmentation_refused(const error& failed) noexcept {
    const std::error_code code = failed.code();
    return code == std::errc::io_error || code == std::errc::invalid_argument ||
           code == std::errc::no_protocol_option;
}

/// Whether a refusal will meet every later segmented send of this socket: a kernel or device
/// that cannot (EIO, ENOPROTOOPT), or a socket with UDP checksums off (EINVAL with SO_NO_CHECK,
/// asked of the socket only when it happens). Any other EINVAL may belong to this send alone (a
/// segment over a path MTU that later sends avoid), so it does not end segmentation.
inline bool refused_for_good(int fd, const error& failed) noexcept {
    if (failed.code() != std::errc::invalid_argument) {
        return true;
    }
    int no_check = 0;
    socklen_t length = sizeof no_check;
    return get_option(fd, SOL_SOCKET, SO_NO_CHECK, &no_check, &length, "getsockopt") &&
           no_check != 0;
}

/// Where a segmented send goes: a connected socket (no name) or a destination.
struct send_target {
    int fd;
    const void* name;
    socklen_t name_length;
    int flags;
};

/// One sendmsg of `iov` as datagrams of `segment_size` bytes (UDP_SEGMENT).
inline result<std::size_t> send_offloaded(const send_target& to, std::span<const iovec> iov,
                                          std::size_t segment_size) noexcept {
    // A plain array, not a control_buffer: this function is compiled in every includer
    // (docs/benchmarks.md, "Compile time")
    using payload = cmsg::udp_segment;
    alignas(cmsghdr) std::array<std::byte, payload::space> control; // NOLINT(*-member-init)
    const auto size = static_cast<payload::wire>(segment_size);
    write_control_message(control.data(), payload::level, payload::type, &size, sizeof size);
    message_header message(iov);
    message.destination(to.name, to.name_length);
    message.control(const_view<std::byte>(control.data(), control.size()));
    return send_message(to.fd, message.native(), to.flags);
}

/// One sendmsg of `iov` as one datagram.
inline result<std::size_t> send_one(const send_target& to, std::span<const iovec> iov) noexcept {
    message_header message(iov);
    message.destination(to.name, to.name_length);
    return send_message(to.fd, message.native(), to.flags);
}

/// `bytes` (taken from `slicer`) as datagrams of `segment_size`, by sendmmsg of up to 64 at a
/// time: what a segmented send puts on the wire, without the offload. Returns the bytes sent;
/// on failure the error carries the bytes of the datagrams that went before it.
[[gnu::noinline]] inline result<std::size_t> send_one_by_one(const send_target& to,
                                                             iovec_slicer& slicer,
                                                             std::size_t bytes,
                                                             std::size_t segment_size) noexcept {
    constexpr std::size_t per_call = 64;
    std::array<message_header, per_call> headers{};
    std::array<iovec, max_buffers_per_call + per_call> pool; // NOLINT(*-member-init): written first
    std::size_t sent = 0;
    while (sent < bytes) {
        std::size_t count = 0;
        std::size_t used = 0;
        std::size_t queued = 0;
        while (count < per_call && sent + queued < bytes &&
               pool.size() - used > max_buffers_per_call) {
            const std::size_t size = min_of(segment_size, bytes - sent - queued);
            const auto slice = slicer.take(size, pool.data() + used);
            if (slice.data() == pool.data() + used) {
                used += slice.size();
            }
            headers[count] = message_header(slice);
            headers[count].destination(to.name, to.name_length);
            ++count;
            queued += size;
        }
        for (std::size_t first = 0; first < count;) {
            auto went = send_messages(to.fd, &headers[first].native_entry(),
                                      static_cast<unsigned>(count - first), to.flags);
            if (!went || *went == 0) {
                error failed = went ? error(std::make_error_code(std::errc::io_error), "sendmmsg")
                                    : went.error();
                return failure{failed.with_bytes_transferred(sent)};
            }
            for (std::size_t i = first; i < first + *went; ++i) {
                sent += headers[i].transferred();
            }
            first += *went;
        }
    }
    return sent;
}

} // namespace netkit::detail
