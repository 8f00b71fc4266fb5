#pragma once

#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/forward_iterator.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/detail/toolchain_shims.hpp>
#include <netkit/msg/batch.hpp>
#include <netkit/msg/cmsg.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/flags.hpp>

#include <cstddef>
#include <optional>
#include <span>

namespace netkit::udp {

/// The datagrams of one coalesced receive, as views into the buffer: a socket with `udp::gro` on
/// may get several datagrams of one flow in one receive, all of the size the kernel reports but
/// the last, which may be shorter. Nothing is copied.
class segments {
public:
    /// A forward iterator over the datagrams; each is a span of the receive buffer.
    class iterator : public netkit::detail::forward_iterator<iterator, std::span<const std::byte>> {
    public:
        /// The end of every walk.
        iterator() noexcept = default;
        /// The first datagram of `rest`, cut every `datagram_size` bytes; a size of 0 makes
        /// `rest` one datagram, as `segments` does (a walk of 0-byte steps would never end).
        iterator(std::span<const std::byte> rest, std::size_t datagram_size) noexcept
            : rest_(rest),
              datagram_size_(datagram_size == 0 ? rest.size() : datagram_size) {}

        /// The current datagram.
        value_type operator*() const noexcept {
            return rest_.first(netkit::detail::min_of(datagram_size_, rest_.size()));
        }
        /// Moves to the next datagram, or to the end.
        iterator& operator++() noexcept {
            rest_ = rest_.subspan(netkit::detail::min_of(datagram_size_, rest_.size()));
            return *this;
        }
        /// Moves to the next datagram; returns the iterator as it was.
        using forward_iterator::operator++;
        /// True at the same position (every walk ends with nothing left).
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.rest_.size() == b.rest_.size();
        }

    private:
        std::span<const std::byte> rest_{};
        std::size_t datagram_size_ = 0;
    };

    /// The datagrams of `bytes` (what one receive placed in its buffer), cut every
    /// `datagram_size` bytes; a segment size of 0, or one at least as large as `bytes`, makes the
    /// whole one datagram.
    segments(std::span<const std::byte> bytes, std::size_t datagram_size) noexcept
        : bytes_(bytes),
          datagram_size_(datagram_size == 0 || datagram_size > bytes.size() ? bytes.size()
                                                                            : datagram_size) {}

    /// The first datagram.
    [[nodiscard]] iterator begin() const noexcept { return {bytes_, datagram_size_}; }
    /// The end of the walk.
    [[nodiscard]] iterator end() const noexcept { return {}; }
    /// How many datagrams (0 for an empty receive).
    [[nodiscard]] std::size_t size() const noexcept {
        return datagram_size_ == 0 ? 0 : (bytes_.size() + datagram_size_ - 1) / datagram_size_;
    }
    /// True for an empty receive.
    [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
    /// The size of every datagram but the last.
    [[nodiscard]] std::size_t datagram_size() const noexcept { return datagram_size_; }

private:
    std::span<const std::byte> bytes_;
    std::size_t datagram_size_;
};

/// The segment size the kernel reported for a coalesced receive (the UDP_GRO control message),
/// or none when the receive holds one datagram as sent.
[[nodiscard]] inline std::optional<std::size_t>
coalesced_segment_size(const control_messages& control) noexcept {
    // The integer read directly, not by find<cmsg::udp_gro> and its std::optional
    // (docs/benchmarks.md, "Compile time").
    for (const control_message m : control) {
        cmsg::udp_gro::wire size = 0;
        if (m.is<cmsg::udp_gro>() && m.read_integer(size)) {
            return size > 0 ? std::optional<std::size_t>(static_cast<std::size_t>(size))
                            : std::nullopt;
        }
    }
    return std::nullopt;
}

/// The datagrams of one receive of `bytes` whose control data is `control` and flags out `flags`
/// (`receive_info::flags`): cut at the segment size the kernel reported, or the whole as one
/// datagram when it reported none.
/// Error: `no_buffer_space` when the control data was cut short (MSG_CTRUNC) and holds no segment
/// size: the receive may hold many datagrams whose edges are lost. Give the control buffer room
/// for every control message the socket has enabled (a timestamp comes before UDP_GRO).
[[nodiscard]] inline result<segments> datagrams_of(std::span<const std::byte> bytes,
                                                   const control_messages& control,
                                                   message_flags flags) noexcept {
    const auto reported = coalesced_segment_size(control);
    if (!reported && flags.control_truncated()) {
        return netkit::detail::errc_failure(
            std::errc::no_buffer_space,
            "udp::datagrams_of (control data truncated: the segment size was lost)");
    }
    return segments(bytes, reported.value_or(0));
}

/// The datagrams message `i` of a batch received (`i < completed()`), as `datagrams_of` above:
/// `for (auto datagram : udp::datagrams_of(batch, i).value())`. The batch has one buffer per
/// message and control data for UDP_GRO; on a batch of several buffers per message the call does
/// not compile, since a datagram may straddle two of them.
template <std::size_t N, std::size_t B, std::size_t K>
    requires(B == 1 && K > 0)
[[nodiscard]] result<segments> datagrams_of(const message_batch<protocol, N, B, K>& batch,
                                            std::size_t i) noexcept {
    return datagrams_of(batch.bytes(i), batch.control(i).messages(), batch.header(i).flags());
}

/// @cond NETKIT_REFUSALS
// Refused (see detail/refusal.hpp): the kernel fills a message's buffers one after the other
// without regard to datagram edges, so a datagram may straddle two buffers, and a segment is a
// span of one. Reading the first buffer alone lost the rest of the receive without an error.
template <std::size_t N, std::size_t B, std::size_t K>
    requires(B > 1)
NETKIT_REFUSED("netkit: udp::datagrams_of cannot split this batch: a datagram of a coalesced "
               "receive may straddle two buffers of a message, so give each message one buffer "
               "(udp::batch with BuffersPerMessage 1), of 64 KiB to take any coalesced receive")
datagrams_of(const message_batch<protocol, N, B, K>&, std::size_t) noexcept NETKIT_REFUSAL_END;
/// @endcond

} // namespace netkit::udp
