#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/call_awaiter.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/concepts.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/io/udp_offload.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <optional>
#include <type_traits>

// Datagrams, awaitable: sendto and recvfrom with a destination and a sender, and the UDP
// segmenter. Each is one call of the socket tier with MSG_DONTWAIT, tried at once and again at
// each readiness (call_awaiter.hpp).

namespace netkit::async {

namespace detail {

template <class P, class Data>
struct send_to_call {
    static constexpr const char* name = "send_to";
    using value_type = std::size_t;
    basic_socket<P>& socket;
    Data data;
    typename P::endpoint_type peer;
    [[nodiscard]] int descriptor() const noexcept { return socket.native_handle(); }
    result<std::size_t> operator()() noexcept {
        return socket.send_to(data, peer, send_flag::dont_wait);
    }
};

template <class P, class Data>
struct receive_from_call {
    static constexpr const char* name = "receive_from";
    using value_type = receive_info<typename P::endpoint_type>;
    basic_socket<P>& socket;
    Data data;
    [[nodiscard]] int descriptor() const noexcept { return socket.native_handle(); }
    result<value_type> operator()() noexcept {
        return socket.receive_from(data, receive_flag::dont_wait);
    }
};

// A segmented send of one contiguous range, resumed where the last try stopped: the segmenter
// reports in `bytes_transferred()` the whole datagrams that went before a would-block.
template <class P>
class segmented_awaiter : public io_awaiter<segmented_awaiter<P>> {
    using base = io_awaiter<segmented_awaiter<P>>;

public:
    segmented_awaiter(basic_socket<P>& socket, udp::segmenter& segmenter, const_buffer data,
                      std::size_t datagram_size, std::optional<ip::endpoint> destination,
                      deadline when, stop_token token)
        : base(socket.native_handle(), netkit::interest::writable, when, token),
          socket_(socket),
          segmenter_(segmenter),
          data_(data),
          datagram_size_(datagram_size),
          destination_(destination) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<segmented_awaiter&>(op);
        const_buffer rest = self.data_;
        rest += self.sent_;
        auto sent = self.send(rest);
        if (sent) {
            self.sent_ += *sent;
            return true;
        }
        self.sent_ += sent.error().bytes_transferred();
        if (sent.error().would_block()) {
            return false;
        }
        error failed = sent.error();
        self.failed_ = failed.with_bytes_transferred(self.sent_);
        return true;
    }
    result<std::size_t> outcome() const noexcept {
        if (this->ended) {
            return this->ended_as("send_segmented", sent_);
        }
        if (failed_) {
            return failure{*failed_};
        }
        return sent_;
    }

private:
    result<std::size_t> send(const_buffer rest) noexcept {
        if (destination_) {
            return segmenter_.send_to(socket_, rest, datagram_size_, *destination_,
                                      send_flag::dont_wait);
        }
        return segmenter_.send(socket_, rest, datagram_size_, send_flag::dont_wait);
    }

    basic_socket<P>& socket_;
    udp::segmenter& segmenter_;
    const_buffer data_;
    std::size_t datagram_size_;
    std::optional<ip::endpoint> destination_;
    std::size_t sent_ = 0;
    std::optional<error> failed_;
};

} // namespace detail

/// One datagram of `data` (a byte range, or a buffer sequence that must outlive the operation)
/// to `peer`: the bytes sent. sendto(2) with MSG_DONTWAIT at once, and a wait for room only when
/// the socket has none (a Unix datagram socket whose peer's queue is full; a UDP socket on
/// loopback practically never waits).
template <class P, class Data>
    requires can_send_to<P> && sendable_data<Data>
auto send_to(basic_socket<P>& socket, const Data& data, const typename P::endpoint_type& peer,
             deadline until = {}, stop_token stop = {}) {
    using call = detail::send_to_call<P, detail::kept_send_data<Data>>;
    return detail::call_awaiter<call>(call{socket, detail::keep_send_data(data), peer},
                                      netkit::interest::writable, until, stop);
}

/// The next datagram into `data` (a writable byte range, or a buffer sequence that must outlive
/// the operation) and its sender: a `receive_info` whose `truncated()` says the datagram was
/// larger than `data` (its real size is `message_size`). recvfrom(2) with MSG_DONTWAIT at once,
/// and a wait for readability only when none is queued.
template <class P, class Data>
    requires can_send_to<P> && receive_target<Data>
auto receive_from(basic_socket<P>& socket, Data&& data, deadline until = {}, stop_token stop = {}) {
    using call = detail::receive_from_call<P, detail::kept_receive_data<Data>>;
    return detail::call_awaiter<call>(call{socket, detail::keep_receive_data(data)},
                                      netkit::interest::readable, until, stop);
}

/// Sends `data` (a contiguous byte range) as datagrams of `datagram_size` bytes on a connected
/// UDP socket through `segmenter` (io/udp_offload.hpp: one sendmsg per up to 64 or 128
/// datagrams where the kernel segments, sendmmsg otherwise): the bytes sent, all of them. When
/// the socket is full, the datagrams that went are kept and the rest waits for room, so none is
/// sent twice. On failure `bytes_transferred()` counts the bytes (whole datagrams) that went.
/// Errors: the segmenter's, `deadline_passed`, `operation_canceled`.
template <class P, class Data>
    requires std::is_same_v<P, udp::protocol> && sendable_data<Data> &&
        (!buffer_sequence<Data>)auto send_segmented(basic_socket<P>& socket,
                                                    udp::segmenter& segmenter, const Data& data,
                                                    std::size_t datagram_size, deadline until = {},
                                                    stop_token stop = {}) {
        return detail::segmented_awaiter<P>(socket, segmenter, buffer(data), datagram_size,
                                            std::nullopt, until, stop);
    }

    /// `send_segmented` to `destination` (the socket need not be connected).
    template <class P, class Data>
        requires std::is_same_v<P, udp::protocol> && sendable_data<Data> &&
            (!buffer_sequence<Data>)auto send_segmented_to(
                basic_socket<P>& socket, udp::segmenter& segmenter, const Data& data,
                std::size_t datagram_size, const ip::endpoint& destination, deadline until = {},
                stop_token stop = {}) {
            return detail::segmented_awaiter<P>(socket, segmenter, buffer(data), datagram_size,
                                                destination, until, stop);
        }

} // namespace netkit::async
