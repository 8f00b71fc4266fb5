#pragma once

#include <netkit/buffer/buffer.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/refusal.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/protocol/concepts.hpp>

#include <array>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>

#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit {

namespace detail {

/// The control slots of a batch that carries no control data: none, and no bytes for them.
struct no_control_slots {};

/// Data a batch must not take: a temporary that owns its bytes (a std::string, a vector, an
/// array) would be gone before the batch is sent or received into. Views (a span, a
/// string_view, a buffer) and buffer sequences, whose iovecs the batch copies, are fine.
template <class Data>
concept owning_temporary =
    !std::is_lvalue_reference_v<Data> &&
    !std::ranges::enable_borrowed_range<std::remove_cvref_t<Data>> &&
    !buffer_sequence<std::remove_cvref_t<Data>> && !buffer_type<std::remove_cvref_t<Data>>;

} // namespace detail

/// A fixed-capacity batch of messages for sendmmsg(2) and recvmmsg(2): the headers, the iovecs
/// (up to `BuffersPerMessage` per message), a name per message and, when `ControlCapacity` is not
/// zero, a control buffer of that many bytes per message, all inside the object. Nothing is
/// allocated, and one batch is meant to be reused call after call (`clear()`, or a receive, which
/// starts over by itself).
///
/// The payload bytes are never copied: a message points at the caller's buffers, which must
/// outlive the call that sends or fills them. Destinations and control data to send *are*
/// copied in, so the caller's endpoint and control buffer may go at once.
///
/// `send_batch`/`send_batch_all` and `receive_batch`/`receive_batch_all` (`<netkit/io/batch.hpp>`)
/// move it. The batch remembers how many of its messages are done (`completed()`): a send carries
/// on from the first message not yet sent, so no datagram goes twice.
///
/// Headers point into the object itself, so it can be neither copied nor moved; keep it where it
/// is used, or allocate it once. `udp::batch<32>` is `message_batch<udp::protocol, 32>`.
///
/// @par Example
/// @code
/// netkit::udp::batch<32> batch;
/// for (const auto& reply : replies) {
///     batch.add(reply.bytes, reply.peer).value(); // an iovec and a copy of the name
/// }
/// netkit::send_batch_all(sock, batch).value(); // one sendmmsg(2), or more after a partial one
/// @endcode
template <protocol_tag P, std::size_t Capacity, std::size_t BuffersPerMessage = 1,
          std::size_t ControlCapacity = 0>
class message_batch {
    static_assert(keeps_boundaries<P>,
                  "netkit: a message batch is for message protocols (udp, local::datagram, "
                  "local::seqpacket): on a stream sendmmsg sends bytes, not messages");
    static_assert(Capacity > 0 && Capacity <= UIO_MAXIOV,
                  "netkit: a batch holds 1 to UIO_MAXIOV (1024) messages, as sendmmsg allows");
    static_assert(BuffersPerMessage > 0 && BuffersPerMessage <= max_buffers_per_call,
                  "netkit: a message has 1 to IOV_MAX (1024) buffers");

public:
    /// The protocol whose messages the batch holds.
    using protocol_type = P;
    /// The protocol's endpoint: a destination, or a sender.
    using endpoint_type = typename P::endpoint_type;

    /// An empty batch.
    message_batch() noexcept = default;
    message_batch(const message_batch&) = delete;
    message_batch& operator=(const message_batch&) = delete;
    ~message_batch() = default;

    /// The most messages the batch holds.
    [[nodiscard]] static constexpr std::size_t capacity() noexcept { return Capacity; }
    /// Messages added.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// True when no message has been added.
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// True when no more messages fit.
    [[nodiscard]] bool full() const noexcept { return size_ == Capacity; }
    /// Messages the kernel has moved: sent since the batch was filled, or received by the last
    /// receive. They are always the first ones.
    [[nodiscard]] std::size_t completed() const noexcept { return completed_; }

    /// Empties the batch for reuse (closing any received descriptor not taken).
    void clear() noexcept {
        for (std::size_t i = 0; i < size_; ++i) {
            clear_control(i);
        }
        size_ = 0;
        completed_ = 0;
    }

    /// Makes every message pending again, to send the same messages once more (their bytes
    /// refilled in place) without adding them anew; a receive starts over by itself.
    void restart() noexcept { completed_ = 0; }

    // ---- to send ----------------------------------------------------------------------------

    /// Adds a message of `data` (a byte range or a buffer sequence) with no destination: for a
    /// connected socket. Errors: `no_buffer_space` when the batch is full, `too_many_buffers`
    /// when `data` has more than `BuffersPerMessage` buffers.
    template <sendable_data Data>
    result<void> add(const Data& data) noexcept {
        return add_send(data, nullptr, nullptr);
    }
    /// Adds a message of `data` to `destination` (the endpoint is copied).
    template <sendable_data Data>
    result<void> add(const Data& data, const endpoint_type& destination) noexcept {
        return add_send(data, &destination, nullptr);
    }
    /// Adds a message of `data` to `destination` with `control`'s messages (copied). Errors as
    /// above, and `no_buffer_space` when they exceed `ControlCapacity`.
    template <sendable_data Data>
    result<void> add(const Data& data, const endpoint_type& destination,
                     const control_storage& control) noexcept requires(ControlCapacity > 0) {
        return add_send(data, &destination, &control);
    }
    /// Adds a message of `data` with `control`'s messages (copied), for a connected socket.
    template <sendable_data Data>
    result<void> add(const Data& data, const control_storage& control) noexcept
        requires(ControlCapacity > 0) {
        return add_send(data, nullptr, &control);
    }

    /// @cond NETKIT_REFUSALS
    // Refused (see detail/refusal.hpp): the batch keeps a pointer to the data until it is sent,
    // and a temporary that owns its bytes is destroyed first.
    template <class Data, class... Rest>
        requires(detail::owning_temporary<Data>)
    NETKIT_REFUSED("netkit: a batch points at its data until the batch is sent: a temporary "
                   "container would be destroyed first; add a named object or a view")
    add(Data&&, Rest&&...) noexcept NETKIT_REFUSAL_END;
    /// @endcond

    // ---- to receive -------------------------------------------------------------------------

    /// Adds a message to receive into `data` (a writable byte range or buffer sequence, which
    /// must outlive the batch's receives). Errors as for `add`.
    template <receive_target Data>
        requires(!detail::owning_temporary<Data>)
    result<void> add_receive(Data&& data)
    noexcept {
        const detail::receive_iovecs<std::remove_reference_t<Data>> iov(data);
        return add_entry(iov.get(), iov.overflow());
    }
    /// @cond NETKIT_REFUSALS
    // Refused: the kernel would write into a temporary destroyed before the receive.
    template <class Data>
        requires(detail::owning_temporary<Data>)
    NETKIT_REFUSED("netkit: a batch points at its data until the batch is received into: a "
                   "temporary container would be destroyed first; add a named object or a view")
    add_receive(Data&&) noexcept NETKIT_REFUSAL_END;
    /// @endcond
    /// Cuts `area` into slots of `slot_size` bytes and adds one message to receive into each,
    /// as many as fit in the area and in the batch; returns how many. Error: `invalid_argument`
    /// for a slot size of 0.
    result<std::size_t> add_receive_slots(std::span<std::byte> area,
                                          std::size_t slot_size) noexcept {
        if (slot_size == 0) {
            return detail::errc_failure(std::errc::invalid_argument,
                                        "message_batch::add_receive_slots (slot size 0)");
        }
        std::size_t added = 0;
        while (!full() && area.size() >= slot_size) {
            const iovec slot{area.data(), slot_size};
            (void)add_entry({&slot, 1}, false);
            area = area.subspan(slot_size);
            ++added;
        }
        return added;
    }

    /// Whether receives ask the kernel for each sender's name (they do unless told otherwise).
    /// A connected socket knows its peer: without names the kernel writes one address less per
    /// datagram, which is a few percent of a receive-bound batch (benchmarks/udp_batch), and
    /// `info(i).sender` is empty.
    void receive_senders(bool wanted) noexcept { receive_senders_ = wanted; }

    // ---- after a receive --------------------------------------------------------------------

    /// What the receive reported for message `i` (`i < completed()`): its size, its real size
    /// (truncation), the flags out and the sender.
    [[nodiscard]] receive_info<endpoint_type> info(std::size_t i) const noexcept {
        assert(i < size_ && "message_batch::info: no such message");
        const message_header& h = headers_[i];
        return h.template received<P>(h.transferred());
    }
    /// Whether message `i` did not fit its buffers, its tail lost (MSG_TRUNC): the part of
    /// `info(i)` a loop over `bytes(i)` needs, without building the sender (`i < completed()`).
    [[nodiscard]] bool truncated(std::size_t i) const noexcept {
        assert(i < size_ && "message_batch::truncated: no such message");
        const message_header& h = headers_[i];
        return h.flags().truncated() || h.transferred() > h.capacity();
    }
    /// The bytes message `i` received in its first buffer: the whole datagram when a message has
    /// one buffer (`i < completed()`).
    [[nodiscard]] std::span<std::byte> bytes(std::size_t i) const noexcept {
        assert(i < size_ && "message_batch::bytes: no such message");
        const message_header& h = headers_[i];
        if (h.buffers().empty()) {
            return {};
        }
        const iovec& first = h.buffers().front();
        // Named, not a braced list: g++ resolves a braced return in a template where it is
        // defined, and std::span's constructor would check the iterator concepts for std::byte*
        // in every file that includes this header.
        return std::span<std::byte>(static_cast<std::byte*>(first.iov_base),
                                    detail::min_of(h.transferred(), first.iov_len));
    }
    /// The control data message `i` received, and any descriptors in it, owned until taken.
    [[nodiscard]] control_storage& control(std::size_t i) noexcept requires(ControlCapacity > 0) {
        assert(i < size_ && "message_batch::control: no such message");
        return controls_[i];
    }
    /// The control data message `i` received.
    [[nodiscard]] const control_storage& control(std::size_t i) const noexcept
        requires(ControlCapacity > 0) {
        assert(i < size_ && "message_batch::control: no such message");
        return controls_[i];
    }

    // ---- the kernel's view ------------------------------------------------------------------

    /// Message `i`'s header, as sendmmsg(2)/recvmmsg(2) see it.
    [[nodiscard]] message_header& header(std::size_t i) noexcept {
        assert(i < size_ && "message_batch::header: no such message");
        return headers_[i];
    }
    /// Message `i`'s header: after a receive, its flags out, lengths and `transferred()`.
    [[nodiscard]] const message_header& header(std::size_t i) const noexcept {
        assert(i < size_ && "message_batch::header: no such message");
        return headers_[i];
    }
    /// The messages not yet completed: what the next call moves.
    [[nodiscard]] std::span<message_header> pending() noexcept {
        return std::span<message_header>(headers_).subspan(completed_, size_ - completed_);
    }
    /// Marks the next `count` pending messages done; a receive records their control data.
    void mark_completed(std::size_t count, bool received) noexcept {
        assert(count <= size_ - completed_ && "message_batch: more completed than pending");
        if constexpr (ControlCapacity > 0) {
            if (received) {
                for (std::size_t i = completed_; i < completed_ + count; ++i) {
                    controls_[i].received(headers_[i].control_length());
                }
            }
        }
        (void)received;
        completed_ += count;
    }
    /// Makes every message ready to be received into again: room for the sender's name and for
    /// control data, no flags or length from a previous receive, nothing completed.
    void prepare_receive() noexcept {
        for (std::size_t i = 0; i < size_; ++i) {
            message_header& h = headers_[i];
            if (receive_senders_) {
                h.sender_storage(names_[i]);
            } else {
                h.destination(nullptr, 0);
            }
            if constexpr (ControlCapacity > 0) {
                h.control_area(controls_[i].receive_area());
            }
            // msg_flags and msg_len need no reset: the kernel writes both for every message it
            // fills, and only those (the first `completed()`) are read.
        }
        completed_ = 0;
    }

private:
    template <class Data>
    result<void> add_send(const Data& data, const endpoint_type* destination,
                          const control_storage* control) noexcept {
        const detail::send_iovecs<Data> iov(data);
        if (auto added = add_entry(iov.get(), iov.overflow()); !added) {
            return added;
        }
        message_header& h = headers_[size_ - 1];
        if (destination != nullptr) {
            std::memcpy(&names_[size_ - 1], destination->data(), destination->size());
            h.destination(&names_[size_ - 1], destination->size());
        }
        if constexpr (ControlCapacity > 0) {
            if (control != nullptr) {
                control_storage& slot = controls_[size_ - 1];
                for (const control_message m : control->messages()) {
                    if (auto copied = slot.add_raw(m.level(), m.type(), m.data()); !copied) {
                        clear_control(--size_);
                        return copied;
                    }
                }
                h.control(slot.bytes());
            }
        }
        (void)control;
        return {};
    }

    result<void> add_entry(std::span<const iovec> iov, bool overflow) noexcept {
        if (full()) {
            return detail::errc_failure(std::errc::no_buffer_space, "message_batch::add (full)");
        }
        if (overflow || iov.size() > BuffersPerMessage) {
            return detail::errc_failure(errc::too_many_buffers, "message_batch::add");
        }
        iovec* slots = &iovecs_[size_ * BuffersPerMessage];
        detail::copy_elements(iov.data(), iov.size(), slots);
        headers_[size_] = message_header(std::span<const iovec>(slots, iov.size()));
        ++size_;
        return {};
    }

    void clear_control(std::size_t i) noexcept {
        if constexpr (ControlCapacity > 0) {
            controls_[i].clear();
        }
        (void)i;
    }

    std::array<message_header, Capacity> headers_{};
    std::array<iovec, Capacity * BuffersPerMessage> iovecs_{};
    std::array<sockaddr_storage, Capacity> names_{};
    [[no_unique_address]] std::conditional_t<ControlCapacity == 0, detail::no_control_slots,
                                             std::array<control_buffer<ControlCapacity>, Capacity>>
        controls_{};
    std::size_t size_ = 0;
    std::size_t completed_ = 0;
    bool receive_senders_ = true;
};

namespace udp {
/// A batch of UDP datagrams: `Capacity` of them, each of up to `BuffersPerMessage` buffers, with
/// `ControlCapacity` bytes of control data each.
template <std::size_t Capacity, std::size_t BuffersPerMessage = 1, std::size_t ControlCapacity = 0>
using batch = message_batch<protocol, Capacity, BuffersPerMessage, ControlCapacity>;
} // namespace udp

} // namespace netkit
