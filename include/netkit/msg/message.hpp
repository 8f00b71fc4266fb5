#pragma once

#include <netkit/detail/const_view.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/protocol/concepts.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <type_traits>

#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit {

namespace detail {

/// The name a receive or an accept got from the kernel, as an endpoint of protocol P. None when
/// the kernel wrote no name (a connected stream). A datagram from an unbound Unix socket comes
/// with no name at all (Linux writes a length of 0): that sender is the unnamed endpoint, the
/// same answer from every receive. A name that does not read back gives none: the datagram or
/// connection, already taken off the queue, matters more than its sender's name, so it is
/// returned rather than dropped.
template <protocol_tag P>
std::optional<typename P::endpoint_type> decode_sender(const void* name,
                                                       socklen_t length) noexcept {
    using endpoint = typename P::endpoint_type;
    if (name != nullptr && length >= static_cast<socklen_t>(sizeof(sa_family_t))) {
        auto sender = endpoint::from_sockaddr(static_cast<const sockaddr*>(name), length);
        if (!sender) {
            return std::nullopt;
        }
        return *sender;
    }
    if constexpr (protocol_traits<P>::local_domain && protocol_traits<P>::connectionless) {
        if (name != nullptr) {
            return endpoint{};
        }
    }
    return std::nullopt;
}

} // namespace detail

/// One message as sendmsg(2) and recvmsg(2) take it: the name (a destination, or room for the
/// sender), the buffers, the control data, and what the kernel reports back (flags out, the
/// lengths it wrote, the bytes a batch call moved).
///
/// It is a `struct mmsghdr` and nothing more (asserted), so a contiguous array of them is what
/// sendmmsg(2) and recvmmsg(2) take, with no copy. It points at the caller's buffers, name and
/// control area and owns none of them: they must outlive the call it is used in. Every
/// sendmsg/recvmsg netkit makes is built here.
///
/// @par Example
/// @code
/// const auto peer = netkit::ip::endpoint::parse("127.0.0.1:9000").value();
/// const auto bufs = netkit::gather(header, body);
/// netkit::message_header message(netkit::as_iovecs(bufs));
/// message.destination(peer);
/// udp_socket.send_message(message).value(); // one sendmsg(2)
/// @endcode
class message_header {
public:
    /// An empty message: no name, no buffers, no control data.
    constexpr message_header() noexcept = default;
    /// A message of these buffers, with no name and no control data.
    explicit message_header(std::span<const iovec> buffers) noexcept { this->buffers(buffers); }

    // ---- building -------------------------------------------------------------------------

    /// The buffers the message is sent from, or received into.
    message_header& buffers(std::span<const iovec> iov) noexcept {
        // msghdr has no const form; on send the kernel only reads the iovecs.
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast)
        native().msg_iov = const_cast<iovec*>(iov.data());
        native().msg_iovlen = iov.size();
        return *this;
    }
    /// The destination of a send (`length` bytes of socket address at `name`; none if null).
    message_header& destination(const void* name, socklen_t length) noexcept {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): the kernel only reads it
        native().msg_name = const_cast<void*>(name);
        native().msg_namelen = name != nullptr ? length : 0;
        return *this;
    }
    /// The destination of a send: `peer` must outlive the call.
    template <endpoint_type Endpoint>
    message_header& destination(const Endpoint& peer) noexcept {
        return destination(peer.data(), peer.size());
    }
    /// Where a receive writes its sender's address (a datagram socket's sender; nothing on a
    /// connected stream). `sender<P>()` reads it after the call.
    message_header& sender_storage(sockaddr_storage& storage) noexcept {
        native().msg_name = &storage;
        native().msg_namelen = sizeof storage;
        return *this;
    }
    /// Control data a send attaches (the bytes of a `control_buffer`: `control.bytes()`).
    message_header& control(std::span<const std::byte> bytes) noexcept {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): the kernel only reads it
        native().msg_control = bytes.empty() ? nullptr : const_cast<std::byte*>(bytes.data());
        native().msg_controllen = bytes.size();
        return *this;
    }
    /// Room for the control data a receive gets (a `control_buffer`'s `receive_area()`). After
    /// the call hand `control_length()` to the buffer's `received`, which owns any descriptor.
    message_header& control_area(std::span<std::byte> area) noexcept {
        native().msg_control = area.empty() ? nullptr : area.data();
        native().msg_controllen = area.size();
        return *this;
    }

    // ---- reading back -----------------------------------------------------------------------

    /// The buffers, as given.
    [[nodiscard]] std::span<const iovec> buffers() const noexcept {
        return detail::const_view<iovec>(native().msg_iov, native().msg_iovlen);
    }
    /// Bytes the buffers hold in all.
    [[nodiscard]] std::size_t capacity() const noexcept {
        std::size_t total = 0;
        for (const iovec& v : buffers()) {
            total += v.iov_len;
        }
        return total;
    }
    /// The kernel's flags out after a receive (msg_flags): truncation, control truncation, ...
    [[nodiscard]] message_flags flags() const noexcept { return message_flags(native().msg_flags); }
    /// The length of the name: the destination's, or after a receive the sender's as the
    /// kernel wrote it (0: the kernel named no sender).
    [[nodiscard]] socklen_t name_length() const noexcept { return native().msg_namelen; }
    /// The control bytes: those to send, or after a receive those the kernel wrote.
    [[nodiscard]] std::size_t control_length() const noexcept { return native().msg_controllen; }
    /// The bytes sendmmsg(2) or recvmmsg(2) moved for this message (msg_len); the single-message
    /// calls return their count instead and leave it 0.
    [[nodiscard]] std::size_t transferred() const noexcept { return entry_.msg_len; }

    /// The sender a receive wrote into the `sender_storage`, as an endpoint of protocol P; see
    /// `receive_info::sender` for when there is none.
    template <protocol_tag P>
    [[nodiscard]] std::optional<typename P::endpoint_type> sender() const noexcept {
        return detail::decode_sender<P>(native().msg_name, native().msg_namelen);
    }

    /// Everything a receive of `returned` bytes (recvmsg's result) reported, for protocol P.
    template <protocol_tag P>
    [[nodiscard]] receive_info<typename P::endpoint_type>
    received(std::size_t returned) const noexcept {
        receive_info<typename P::endpoint_type> info;
        info.size = detail::min_of(returned, capacity());
        // With MSG_TRUNC a message protocol returns the real length of the message.
        info.message_size = keeps_boundaries<P> ? returned : info.size;
        info.flags = flags();
        info.sender = sender<P>();
        return info;
    }

    // ---- the kernel's view ----------------------------------------------------------------

    /// The msghdr the single-message calls take.
    [[nodiscard]] msghdr& native() noexcept { return entry_.msg_hdr; }
    /// The msghdr the single-message calls take.
    [[nodiscard]] const msghdr& native() const noexcept { return entry_.msg_hdr; }
    /// The mmsghdr a batch call reads or fills; an array of `message_header` is one of those.
    [[nodiscard]] mmsghdr& native_entry() noexcept { return entry_; }

private:
    mmsghdr entry_{};
};

static_assert(sizeof(message_header) == sizeof(mmsghdr) &&
                  alignof(message_header) == alignof(mmsghdr) &&
                  std::is_standard_layout_v<message_header>,
              "an array of message_header must be an array of mmsghdr");

} // namespace netkit
