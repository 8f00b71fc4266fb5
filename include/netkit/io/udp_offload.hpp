#pragma once

#include <netkit/addr/endpoint.hpp>
#include <netkit/buffer/buffer.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/segmented_send.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/option/udp.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

namespace netkit::udp {

/// What the running kernel offers UDP, found once per process (`offload()`).
struct offload_support {
    /// UDP_SEGMENT (generic segmentation offload, Linux 4.18): one send, many datagrams.
    bool segmentation = false;
    /// UDP_GRO (Linux 5.0): one receive, many datagrams of a flow.
    bool coalescing = false;
    /// The most datagrams one segmented send may carry: 64 on older kernels, 128 on newer
    /// ones (0 without segmentation).
    std::size_t max_segments = 0;
};

namespace detail {

// Whether one segmented send of `segments` one-byte datagrams goes through on `tx` (connected to
// a scratch receiver on loopback): the kernel refuses more than its UDP_MAX_SEGMENTS with EINVAL.
inline bool sends_segments(int tx, std::size_t segments) noexcept {
    std::array<std::byte, 128> payload{};
    const iovec one{payload.data(), netkit::detail::min_of(segments, payload.size())};
    const netkit::detail::send_target to{tx, nullptr, 0, MSG_DONTWAIT};
    auto sent = netkit::detail::send_offloaded(to, {&one, 1}, 1);
    return sent && *sent == one.iov_len;
}

// The probe speaks to the system call wrappers, not through udp::socket, which every includer
// would otherwise instantiate (docs/benchmarks.md, "Compile time").
inline offload_support detect_offload() noexcept {
    offload_support found;
    auto rx = netkit::detail::open_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    auto tx = netkit::detail::open_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (!rx || !tx) {
        return found;
    }
    const int on = 1;
    found.coalescing =
        netkit::detail::set_option(rx->get(), gro.level, gro.name, &on, sizeof on).has_value();
    int segment = 0;
    socklen_t segment_length = sizeof segment;
    const bool kernel_knows_gso =
        netkit::detail::get_option(tx->get(), segment_size.level, segment_size.name, &segment,
                                   &segment_length)
            .has_value();
    if (!kernel_knows_gso) {
        return found;
    }
    found.segmentation = true;
    found.max_segments = 64; // what every kernel with UDP_SEGMENT allows
    // A probe on loopback finds a larger limit; without loopback (an empty network namespace)
    // the safe limit stays.
    const ip::endpoint any_port(ip::address_v4::loopback(), 0);
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    auto* bound_name = reinterpret_cast<sockaddr*>(&bound);
    if (netkit::detail::bind(rx->get(), any_port.data(), any_port.size()) &&
        netkit::detail::local_name(rx->get(), bound_name, &bound_length) &&
        netkit::detail::connect(tx->get(), bound_name, bound_length)) {
        if (sends_segments(tx->get(), 128)) {
            found.max_segments = 128;
        } else if (!sends_segments(tx->get(), 64)) {
            found = {.segmentation = false, .coalescing = found.coalescing, .max_segments = 0};
        }
    }
    return found;
}

} // namespace detail

/// What this kernel offers, found on first use by probing a pair of sockets on loopback, then
/// cached for the process (thread-safe). It never fails: without a probe it answers from what
/// the socket options say.
[[nodiscard]] inline const offload_support& offload() noexcept {
    static const offload_support found = detail::detect_offload();
    return found;
}

/// Sends a buffer sequence as datagrams of a fixed size with the fewest system calls the path
/// allows, and remembers, for the socket it serves, whether the path can segment.
///
/// With segmentation one sendmsg(2) carries up to `max_segments()` datagrams (and at most 65,507
/// bytes) with a UDP_SEGMENT control message; more data takes more sends; a send of one datagram
/// never carries the control message. When the kernel refuses to segment (EINVAL, EIO or
/// ENOPROTOOPT) nothing of that send went, so the same datagrams go by sendmmsg(2), 64 per call.
/// When the refusal belongs to the socket or the kernel (EIO, ENOPROTOOPT, or EINVAL on a socket
/// with UDP checksums off) every later send goes that way too: `offloading()` turns false.
/// `fallback_sends()` counts the sends made one by one. The wire sees the same datagrams either
/// way, none twice. A segment larger than the path MTU is EMSGSIZE on current kernels, returned.
///
/// Keep one segmenter per socket and path, used from one thread at a time: EIO comes from the
/// route's device, so an unconnected socket sending to peers on different routes wants one per
/// route.
///
/// @par Example
/// @code
/// netkit::udp::segmenter segmenter;                   // per socket
/// segmenter.send(sock, frames, 1200).value();        // 1200-byte datagrams, few sends
/// if (!segmenter.offloading()) { /* the path cannot segment: sendmmsg instead */ }
/// @endcode
class segmenter {
public:
    /// A segmenter that offloads as far as this kernel allows (`offload()`).
    segmenter() noexcept : segmenter(offload()) {}
    /// A segmenter that segments no more than `support` says (without segmentation it sends by
    /// sendmmsg), and never more than this kernel offers: a kernel without UDP_SEGMENT would
    /// ignore the control message and send one large datagram.
    explicit segmenter(const offload_support& support) noexcept
        : max_segments_(support.segmentation && offload().segmentation
                            ? netkit::detail::min_of(support.max_segments, offload().max_segments)
                            : 0) {}

    /// Sends `data` on a connected socket as datagrams of `datagram_size` bytes (the last may be
    /// shorter); returns the bytes sent (all of them). Empty data sends nothing.
    /// Errors: `invalid_argument` for a segment size of 0 or over 65,507; `too_many_buffers`
    /// for more than IOV_MAX buffers; those of sendmsg/sendmmsg, whose `bytes_transferred()`
    /// counts the bytes (whole datagrams) that went before: the rest is `data` from there on.
    /// (`sock` is a udp::socket; the protocol is a template parameter so that a program that
    /// never sends through a segmenter does not compile the socket type for it.)
    template <protocol_tag P, sendable_data Data>
    result<std::size_t> send(basic_socket<P>& sock, const Data& data, std::size_t datagram_size,
                             send_flags flags = {}) noexcept requires std::is_same_v<P, protocol> {
        const netkit::detail::send_iovecs<Data> iov(data);
        return send_iovecs(
            iov.get(), iov.overflow(), datagram_size,
            netkit::detail::send_target{sock.native_handle(), nullptr, 0, flags.bits()});
    }
    /// `send` to `destination` (the socket need not be connected).
    template <protocol_tag P, sendable_data Data>
    result<std::size_t>
    send_to(basic_socket<P>& sock, const Data& data, std::size_t datagram_size,
            const ip::endpoint& destination,
            send_flags flags = {}) noexcept requires std::is_same_v<P, protocol> {
        const netkit::detail::send_iovecs<Data> iov(data);
        return send_iovecs(iov.get(), iov.overflow(), datagram_size,
                           netkit::detail::send_target{sock.native_handle(), destination.data(),
                                                       destination.size(), flags.bits()});
    }

    /// True while sends are segmented by the kernel; false once the path refused (or the kernel
    /// never offered it).
    [[nodiscard]] bool offloading() const noexcept { return max_segments_ > 1; }
    /// The most datagrams one send carries: the kernel's limit, or 1 without segmentation.
    [[nodiscard]] std::size_t max_segments() const noexcept {
        return netkit::detail::max_of<std::size_t>(max_segments_, 1);
    }
    /// Sends made by sendmmsg instead of segmentation: since the path refused it, or all of
    /// them when the kernel has no segmentation.
    [[nodiscard]] std::uint64_t fallback_sends() const noexcept { return fallback_sends_; }
    /// How many bytes of `datagram_size`-byte datagrams one send carries: a whole number of
    /// datagrams, at least one. 0 for a size that `send` refuses (0, or over 65,507 bytes): no
    /// send carries such datagrams.
    [[nodiscard]] std::size_t bytes_per_send(std::size_t datagram_size) const noexcept {
        if (datagram_size == 0 || datagram_size > netkit::detail::max_udp_payload) [[unlikely]] {
            return 0;
        }
        // At least one datagram: max_segments() is at least 1, and so is the quotient.
        const std::size_t by_size = netkit::detail::max_udp_payload / datagram_size;
        return netkit::detail::min_of(max_segments(), by_size) * datagram_size;
    }

private:
    // A template (Target is always detail::send_target) so that only a program that sends
    // through a segmenter compiles the sending, as for the public calls above.
    template <class Target>
    result<std::size_t> send_iovecs(std::span<const iovec> iov, bool overflow,
                                    std::size_t datagram_size, const Target& to) noexcept {
        if (overflow) [[unlikely]] {
            return netkit::detail::errc_failure(errc::too_many_buffers, "udp::segmenter::send");
        }
        if (bytes_per_send(datagram_size) == 0) [[unlikely]] { // a size no datagram can have
            return netkit::detail::errc_failure(
                std::errc::invalid_argument,
                "udp::segmenter::send (segment size must be 1 to 65507 bytes)");
        }
        std::size_t total = 0;
        for (const iovec& v : iov) {
            total += v.iov_len;
        }
        netkit::detail::iovec_slicer slicer(iov);
        // Left uninitialised: only a slice that starts or ends inside a buffer is written here,
        // and clearing 16 KiB per send would cost more than the send's own work.
        std::array<iovec, max_buffers_per_call + 1> window; // NOLINT(*-member-init)
        std::size_t sent = 0;
        while (sent < total) {
            if (!offloading()) {
                ++fallback_sends_;
                auto rest =
                    netkit::detail::send_one_by_one(to, slicer, total - sent, datagram_size);
                if (!rest) {
                    error failed = rest.error();
                    return failure{
                        failed.with_bytes_transferred(sent + failed.bytes_transferred())};
                }
                return sent + *rest;
            }
            const std::size_t bytes =
                netkit::detail::min_of(total - sent, bytes_per_send(datagram_size));
            netkit::detail::iovec_slicer before = slicer;
            const auto chunk = slicer.take(bytes, window.data());
            auto went = bytes > datagram_size
                            ? netkit::detail::send_offloaded(to, chunk, datagram_size)
                            : netkit::detail::send_one(to, chunk);
            if (!went) {
                if (bytes > datagram_size && netkit::detail::segmentation_refused(went.error())) {
                    // Nothing of this send went: the same bytes go one by one, and so do those
                    // of every later send when the refusal is the socket's or the kernel's.
                    slicer = before;
                    if (netkit::detail::refused_for_good(to.fd, went.error())) {
                        max_segments_ = 0;
                        continue;
                    }
                    ++fallback_sends_;
                    went = netkit::detail::send_one_by_one(to, slicer, bytes, datagram_size);
                }
            }
            if (!went) {
                error failed = went.error();
                return failure{failed.with_bytes_transferred(sent + failed.bytes_transferred())};
            }
            sent += *went;
        }
        return sent;
    }

    std::size_t max_segments_;
    std::uint64_t fallback_sends_ = 0;
};

} // namespace netkit::udp
