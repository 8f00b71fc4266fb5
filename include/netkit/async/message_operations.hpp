#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/call_awaiter.hpp>
#include <netkit/async/message_awaiters.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/buffer/concepts.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/batch.hpp>
#include <netkit/io/error_queue.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/msg/batch.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/option/socket.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>

// Messages, awaitable: sendmsg/recvmsg with control data, batches (sendmmsg/recvmmsg) and the
// error queue. Each makes the lower tiers' own calls with MSG_DONTWAIT, at once and again at
// each readiness; on the io_uring engine a single sendmsg or recvmsg is submitted instead
// (message_awaiters.hpp).

namespace netkit::async {

namespace detail {

template <class P, class Data>
struct send_message_call {
    static constexpr const char* name = "send_message";
    using value_type = std::size_t;
    basic_socket<P>& socket;
    Data data;
    const control_storage& control;
    [[nodiscard]] int descriptor() const noexcept { return socket.native_handle(); }
    result<std::size_t> operator()() noexcept {
        return socket.send_message(data, control, send_flag::dont_wait);
    }
};

template <class P, class Data>
struct send_message_to_call {
    static constexpr const char* name = "send_message_to";
    using value_type = std::size_t;
    basic_socket<P>& socket;
    Data data;
    typename P::endpoint_type peer;
    const control_storage& control;
    [[nodiscard]] int descriptor() const noexcept { return socket.native_handle(); }
    result<std::size_t> operator()() noexcept {
        return socket.send_message_to(data, peer, control, send_flag::dont_wait);
    }
};

template <class P, class Data>
struct receive_message_call {
    static constexpr const char* name = "receive_message";
    using value_type = receive_info<typename P::endpoint_type>;
    basic_socket<P>& socket;
    Data data;
    control_storage& control;
    [[nodiscard]] int descriptor() const noexcept { return socket.native_handle(); }
    result<value_type> operator()() noexcept {
        return socket.receive_message(data, control, receive_flag::dont_wait);
    }
};

template <class P, class Batch>
struct send_batch_call {
    static constexpr const char* name = "send_batch";
    using value_type = std::size_t;
    basic_socket<P>& socket;
    Batch& batch;
    [[nodiscard]] int descriptor() const noexcept { return socket.native_handle(); }
    result<std::size_t> operator()() noexcept {
        return netkit::send_batch(socket, batch, send_flag::dont_wait);
    }
};

template <class P, class Batch>
struct receive_batch_call {
    static constexpr const char* name = "receive_batch";
    using value_type = std::size_t;
    basic_socket<P>& socket;
    Batch& batch;
    [[nodiscard]] int descriptor() const noexcept { return socket.native_handle(); }
    result<std::size_t> operator()() noexcept {
        return netkit::receive_batch(socket, batch, receive_flag::dont_wait);
    }
};

// Every pending message of a batch, in as many sendmmsg calls as it takes: the batch itself
// remembers which went (`completed()`), so the awaiter keeps only where this operation began.
template <class P, class Batch>
class send_batch_all_awaiter : public io_awaiter<send_batch_all_awaiter<P, Batch>> {
    using base = io_awaiter<send_batch_all_awaiter<P, Batch>>;

public:
    send_batch_all_awaiter(basic_socket<P>& socket, Batch& batch, deadline when, stop_token token)
        : base(socket.native_handle(), netkit::interest::writable, when, token),
          socket_(socket),
          batch_(batch),
          first_(batch.completed()) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<send_batch_all_awaiter&>(op);
        while (!self.batch_.pending().empty()) {
            auto sent = netkit::send_batch(self.socket_, self.batch_, send_flag::dont_wait);
            if (!sent) {
                if (sent.error().would_block()) {
                    return false;
                }
                self.failed_ = sent.error();
                return true;
            }
        }
        return true;
    }
    result<std::size_t> outcome() {
        if (this->ended) {
            return this->ended_as("send_batch_all", bytes_sent());
        }
        if (failed_) {
            return failure{failed_->with_bytes_transferred(bytes_sent())};
        }
        return batch_.completed() - first_;
    }

private:
    [[nodiscard]] std::size_t bytes_sent() noexcept {
        const std::size_t count = batch_.completed() - first_;
        if (count == 0) {
            return 0;
        }
        const std::span<message_header> all(&batch_.header(0), batch_.size());
        return netkit::detail::bytes_of(all.subspan(first_), count);
    }

    basic_socket<P>& socket_;
    Batch& batch_;
    std::size_t first_;
    std::optional<error> failed_;
};

// The next entry of the error queue. It waits as the descriptor's reader (no readable or
// writable interest of its own): the loop's registration is edge-triggered and epoll reports
// EPOLLERR whatever the interest, so each entry queued wakes it once (the kernel signals at
// each queueing), and one queued earlier is found by the first try.
template <class P>
class error_queue_awaiter : public io_awaiter<error_queue_awaiter<P>> {
    using base = io_awaiter<error_queue_awaiter<P>>;

public:
    error_queue_awaiter(basic_socket<P>& socket, std::span<std::byte> payload, deadline when,
                        stop_token token)
        : base(socket.native_handle(), netkit::interest::edge_triggered, when, token),
          socket_(socket),
          payload_(payload) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<error_queue_awaiter&>(op);
        auto entry = netkit::read_error_queue(self.socket_, self.payload_);
        if (entry || !entry.error().would_block()) {
            self.outcome_.emplace(std::move(entry));
            return true;
        }
        if (self.woken_) { // EPOLLERR with no entry: a pending socket error (SO_ERROR) is the
                           // answer
            auto pending = self.socket_.get(so::error);
            if (pending && *pending != 0) {
                self.outcome_.emplace(failure{
                    error(std::error_code(*pending, std::system_category()), "read_error_queue")});
                return true;
            }
        }
        self.woken_ = true; // every later try follows an event
        return false;
    }
    result<error_queue_entry> outcome() {
        if (this->ended) {
            return this->ended_as("read_error_queue");
        }
        return std::move(*outcome_);
    }

private:
    basic_socket<P>& socket_;
    std::span<std::byte> payload_;
    outcome_slot<error_queue_entry> outcome_;
    bool woken_ = false;
};

} // namespace detail

/// One sendmsg(2) of `data` (a byte range, or a buffer sequence that must outlive the
/// operation) with the control data `control` (SCM_RIGHTS, SCM_CREDENTIALS, IP_PKTINFO,
/// UDP_SEGMENT, ...) on a connected socket: the bytes sent, which on a stream may be fewer (one
/// call, never continued). On epoll with MSG_DONTWAIT at once, and a wait for room only when
/// the socket has none; on io_uring one IORING_OP_SENDMSG (a buffer sequence that is not
/// contiguous is sent as on epoll). `control` must outlive the operation.
template <class P, class Data>
    requires sendable_data<Data>
auto send_message(basic_socket<P>& socket, const Data& data, const control_storage& control,
                  deadline until = {}, stop_token stop = {}) {
    if constexpr (detail::message_submittable<Data>) {
        return detail::send_message_awaiter<P, Data>(socket, data, nullptr, control, until, stop);
    } else {
        using call = detail::send_message_call<P, detail::kept_send_data<Data>>;
        return detail::call_awaiter<call>(call{socket, detail::keep_send_data(data), control},
                                          netkit::interest::writable, until, stop);
    }
}

/// `send_message` of one datagram to `peer`.
template <class P, class Data>
    requires can_send_to<P> && sendable_data<Data>
auto send_message_to(basic_socket<P>& socket, const Data& data,
                     const typename P::endpoint_type& peer, const control_storage& control,
                     deadline until = {}, stop_token stop = {}) {
    if constexpr (detail::message_submittable<Data>) {
        return detail::send_message_awaiter<P, Data>(socket, data, &peer, control, until, stop);
    } else {
        using call = detail::send_message_to_call<P, detail::kept_send_data<Data>>;
        return detail::call_awaiter<call>(call{socket, detail::keep_send_data(data), peer, control},
                                          netkit::interest::writable, until, stop);
    }
}

/// One recvmsg(2) into `data` with control data into `control`: a `receive_info` whose
/// `truncated()` (MSG_TRUNC) says the message did not fit `data` and whose
/// `control_truncated()` (MSG_CTRUNC) says control data was lost; descriptors that arrived are
/// owned by `control`, close-on-exec. On epoll at once, and a wait for readability only when
/// nothing is there; on io_uring one IORING_OP_RECVMSG (a buffer sequence that is not
/// contiguous is received as on epoll). `data` and `control` must outlive the operation.
template <class P, class Data>
    requires receive_target<Data>
auto receive_message(basic_socket<P>& socket, Data&& data, control_storage& control,
                     deadline until = {}, stop_token stop = {}) {
    if constexpr (detail::message_submittable<Data>) {
        return detail::receive_message_awaiter<P, std::remove_reference_t<Data>>(
            socket, data, control, until, stop);
    } else {
        using call = detail::receive_message_call<P, detail::kept_receive_data<Data>>;
        return detail::call_awaiter<call>(call{socket, detail::keep_receive_data(data), control},
                                          netkit::interest::readable, until, stop);
    }
}

/// One sendmmsg(2) of the batch's pending messages, once the socket has room for at least one:
/// how many went (maybe fewer than pending; the batch remembers, and the next send carries on).
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K>
auto send_batch(basic_socket<P>& socket, message_batch<P, N, B, K>& batch, deadline until = {},
                stop_token stop = {}) {
    using call = detail::send_batch_call<P, message_batch<P, N, B, K>>;
    return detail::call_awaiter<call>(call{socket, batch}, netkit::interest::writable, until, stop);
}

/// Every pending message of the batch, in as many sendmmsg(2) calls as it takes, waiting for
/// room between them: how many went. On failure the batch's `completed()` says which went and
/// the error's `bytes_transferred()` how many bytes this operation moved; none is sent twice.
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K>
auto send_batch_all(basic_socket<P>& socket, message_batch<P, N, B, K>& batch, deadline until = {},
                    stop_token stop = {}) {
    return detail::send_batch_all_awaiter<P, message_batch<P, N, B, K>>(socket, batch, until, stop);
}

/// One recvmmsg(2) into the batch once a message is queued: every message already there, up to
/// the batch's size. Returns how many arrived; read them with the batch's `info(i)`,
/// `bytes(i)`, `control(i)` (truncation is `info(i).truncated()`).
template <protocol_tag P, std::size_t N, std::size_t B, std::size_t K>
auto receive_batch(basic_socket<P>& socket, message_batch<P, N, B, K>& batch, deadline until = {},
                   stop_token stop = {}) {
    using call = detail::receive_batch_call<P, message_batch<P, N, B, K>>;
    return detail::call_awaiter<call>(call{socket, batch}, netkit::interest::readable, until, stop);
}

/// The next entry of the socket's error queue (ICMP errors with IP_RECVERR, MSG_ZEROCOPY
/// completions, transmit timestamps), typed as `netkit::read_error_queue` types it, and the bytes
/// of the packet it is about in `payload` (which must outlive the operation).
///
/// It reads at once, then waits for EPOLLERR as the socket's reader (so a receive cannot wait on
/// the socket at the same time). Woken with no entry queued, a pending socket error (SO_ERROR: a
/// refused port on a connected UDP socket without IP_RECVERR) is returned, and cleared, as by the
/// blocking `read_error_queue`. Errors: those, `deadline_passed`, `operation_canceled`.
template <protocol_tag P>
auto read_error_queue(basic_socket<P>& socket, std::span<std::byte> payload = {},
                      deadline until = {}, stop_token stop = {}) {
    return detail::error_queue_awaiter<P>(socket, payload, until, stop);
}

} // namespace netkit::async
