#pragma once

#include <netkit/flags.hpp>

#include <cstddef>
#include <optional>

namespace netkit {

/// What one `receive_message` (recvmsg) produced.
///
/// Nothing the kernel reports is dropped: the bytes placed in the buffers, the real size of a
/// message that did not fit, the kernel's flags out (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB), the
/// sender on a datagram socket; control data lands in the `control_buffer` passed in.
template <class Endpoint>
struct message_info {
    /// Bytes placed in the buffers.
    std::size_t size = 0;
    /// The message's real size on message protocols (datagram, seqpacket): larger than `size`
    /// when it was truncated. Equal to `size` on streams.
    std::size_t message_size = 0;
    /// recvmsg's msg_flags.
    message_flags flags{};
    /// Who sent it, on a datagram socket that is not connected (and when the kernel says).
    std::optional<Endpoint> sender{};

    /// The message did not fit its buffers; its tail is lost (MSG_TRUNC).
    [[nodiscard]] constexpr bool truncated() const noexcept {
        return flags.truncated() || message_size > size;
    }
    /// Control data did not fit its buffer (MSG_CTRUNC): some ancillary data, maybe descriptors,
    /// was lost. Descriptors that did arrive are in the control buffer, owned.
    [[nodiscard]] constexpr bool control_truncated() const noexcept {
        return flags.control_truncated();
    }
};

} // namespace netkit
