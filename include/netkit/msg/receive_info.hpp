#pragma once

#include <netkit/msg/flags.hpp>

#include <cstddef>
#include <optional>

namespace netkit {

/// What a receive produced on a message protocol (`receive`, `receive_from`), or on any socket
/// through `receive_message`: one type for all of them.
///
/// Nothing the kernel reports is dropped: the bytes placed in the buffers, the real size of a
/// message that did not fit, the kernel's flags out (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB)
/// where the call reads them, and the sender where the kernel names one. Control data lands in
/// the `control_buffer` passed to `receive_message`.
template <class Endpoint>
struct receive_info {
    /// Bytes placed in the buffers.
    std::size_t size = 0;
    /// The message's real size on message protocols (datagram, seqpacket): larger than `size`
    /// when it was truncated. Equal to `size` on streams.
    std::size_t message_size = 0;
    /// recvmsg's msg_flags (`receive_message`, or a receive into a buffer sequence); a plain
    /// recv(2) or recvfrom(2) reads none, and reports truncation through `message_size`.
    message_flags flags{};
    /// Who sent it: always present from `receive_from` (the unnamed endpoint for a sender on
    /// an unbound Unix socket); from `receive_message` on a socket that is not connected; empty
    /// where the kernel names no sender (a connected socket's `receive`, a stream).
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
