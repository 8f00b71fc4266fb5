#pragma once

#include <cstddef>

namespace netkit {

/// What a receive on a message protocol (datagram, seqpacket) produced. A message larger than
/// the buffer is cut by the kernel; `message_size` keeps its real length so that is never hidden.
struct receive_info {
    std::size_t size = 0;         ///< bytes written into the buffer
    std::size_t message_size = 0; ///< bytes the message really had
    /// True when the message did not fit and its tail was discarded.
    [[nodiscard]] constexpr bool truncated() const noexcept { return message_size > size; }
};

/// What a `receive_from` produced: the sizes as in `receive_info`, and who sent it.
template <class Endpoint>
struct receive_from_info {
    std::size_t size = 0;         ///< bytes written into the buffer
    std::size_t message_size = 0; ///< bytes the datagram really had
    /// Who sent it; the unnamed endpoint for a sender on an unbound Unix socket.
    Endpoint sender{};
    /// True when the datagram did not fit and its tail was discarded.
    [[nodiscard]] constexpr bool truncated() const noexcept { return message_size > size; }
};

} // namespace netkit
