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
#include <netkit/detail/message_calls.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <optional>
#include <system_error>
#include <type_traits>

#include <sys/socket.h>

// The awaiters of one sendmsg or recvmsg (`async::send_message`, `send_message_to`,
// `receive_message`). On the epoll engine each tries the socket's own call with MSG_DONTWAIT at
// once and again at each readiness, as `call_awaiter` does. On the io_uring engine each is one
// IORING_OP_SENDMSG or IORING_OP_RECVMSG: the msghdr, the iovecs, the peer's or sender's name and
// the control area it points at are members, in the coroutine frame, and are built and read by
// the socket layer's own `build_send`, `build_receive` and `finish_receive`, so that both paths
// send the same message and report the same `receive_info`.

namespace netkit::async::detail {

// A message can be submitted when its iovecs need no copy: one iovec for a byte range, or the
// caller's own array of buffers. A non-contiguous sequence would need IOV_MAX iovecs (16 KiB) in
// every frame that awaits it, so it keeps the readiness path, which copies them on the stack for
// the length of one call.
template <class Data>
inline constexpr bool message_submittable =
    !buffer_sequence<std::remove_cvref_t<Data>> ||
    netkit::detail::contiguous_sized<const std::remove_cvref_t<Data>&>;

// sendmsg of `Data` with control data, to `peer` when one is given (send_message_to).
template <class P, class Data>
class send_message_awaiter : public io_awaiter<send_message_awaiter<P, Data>> {
    using base = io_awaiter<send_message_awaiter<P, Data>>;
    using endpoint = typename P::endpoint_type;

public:
    send_message_awaiter(basic_socket<P>& socket, const Data& data, const endpoint* peer,
                         const control_storage& control, deadline when, stop_token token)
        : base(socket.native_handle(), netkit::interest::writable, when, token),
          socket_(socket),
          data_(keep_send_data(data)),
          iov_(data),
          control_(control) {
        if (peer != nullptr) {
            peer_.emplace(*peer);
        }
        if (iov_.overflow()) {
            this->describe = nullptr; // the socket's call reports too_many_buffers at once
        }
    }
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<send_message_awaiter&>(op);
        auto sent = self.send_now();
        if (!sent && sent.error().would_block()) {
            return false;
        }
        self.outcome_.emplace(std::move(sent));
        return true;
    }
    // (c): one sendmsg. The msghdr is built again for each submission (there is one per
    // operation: a short stream send ends it, as the readiness path's does).
    static constexpr bool describable = true;
    static submission describe_now(operation& op) noexcept {
        auto& self = static_cast<send_message_awaiter&>(op);
        self.message_ = message_header{};
        netkit::detail::build_send(self.message_, self.iov_.get(), self.name(), self.name_length(),
                                   &self.control_);
        submission what;
        what.what = submission::kind::send_message;
        what.message = &self.message_.native();
        return what;
    }
    static bool complete_now(operation& op, int result) noexcept {
        auto& self = static_cast<send_message_awaiter&>(op);
        if (result < 0) { // named with the destination, as the socket's sendmsg names it
            self.outcome_.emplace(
                failure{error(std::error_code(-result, std::system_category()), "sendmsg",
                              static_cast<const sockaddr*>(self.name()), self.name_length())});
        } else {
            self.outcome_.emplace(static_cast<std::size_t>(result));
        }
        return true;
    }

    result<std::size_t> outcome() {
        if (this->ended) {
            return this->ended_as(peer_ ? "send_message_to" : "send_message");
        }
        return std::move(*outcome_);
    }

private:
    result<std::size_t> send_now() noexcept {
        if constexpr (can_send_to<P>) {
            if (peer_) {
                return socket_.send_message_to(data_, *peer_, control_, send_flag::dont_wait);
            }
        }
        return socket_.send_message(data_, control_, send_flag::dont_wait);
    }
    [[nodiscard]] const void* name() const noexcept { return peer_ ? peer_->data() : nullptr; }
    [[nodiscard]] socklen_t name_length() const noexcept {
        return peer_ ? static_cast<socklen_t>(peer_->size()) : 0;
    }

    basic_socket<P>& socket_;
    kept_send_data<Data> data_;
    netkit::detail::send_iovecs<std::remove_cvref_t<Data>> iov_;
    const control_storage& control_;
    std::optional<endpoint> peer_;
    message_header message_;
    outcome_slot<std::size_t> outcome_;
};

// recvmsg into `Data` (a byte range, or a mutable buffer sequence) with control data.
template <class P, class Data>
class receive_message_awaiter : public io_awaiter<receive_message_awaiter<P, Data>> {
    using base = io_awaiter<receive_message_awaiter<P, Data>>;
    using value_type = receive_info<typename P::endpoint_type>;

public:
    receive_message_awaiter(basic_socket<P>& socket, Data& data, control_storage& control,
                            deadline when, stop_token token)
        : base(socket.native_handle(), netkit::interest::readable, when, token),
          socket_(socket),
          data_(keep_receive_data(data)),
          iov_(data),
          control_(control) {
        if (iov_.overflow()) {
            this->describe = nullptr; // the socket's call reports too_many_buffers at once
        }
    }
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<receive_message_awaiter&>(op);
        auto got = self.socket_.receive_message(self.data_, self.control_, receive_flag::dont_wait);
        if (!got && got.error().would_block()) {
            return false;
        }
        self.outcome_.emplace(std::move(got));
        return true;
    }
    // (c): one recvmsg, with the flags the socket's call adds (MSG_TRUNC on a message protocol,
    // MSG_CMSG_CLOEXEC) but not MSG_DONTWAIT, which would make io_uring complete with EAGAIN
    // instead of waiting for the data.
    static constexpr bool describable = true;
    static submission describe_now(operation& op) noexcept {
        auto& self = static_cast<receive_message_awaiter&>(op);
        self.message_ = message_header{};
        submission what;
        what.what = submission::kind::receive_message;
        what.flags = netkit::detail::build_receive<P>(self.message_, self.iov_.get(), &self.sender_,
                                                      &self.control_);
        what.message = &self.message_.native();
        return what;
    }
    // Linux (6.18 checked, `integration/async_messages`) writes msg_flags, msg_namelen and
    // msg_controllen back into this msghdr, as recvmsg(2) does: io_uring's recvmsg hands the
    // user's msghdr to the same ____sys_recvmsg. Were msg_flags left 0, `truncated()` would
    // still hold, from the real length MSG_TRUNC makes the result; `control_truncated()` would
    // not.
    static bool complete_now(operation& op, int result) noexcept {
        auto& self = static_cast<receive_message_awaiter&>(op);
        if (result < 0) {
            self.outcome_.emplace(
                failure{error(std::error_code(-result, std::system_category()), "recvmsg")});
        } else {
            self.outcome_.emplace(netkit::detail::finish_receive<P>(
                self.message_, static_cast<std::size_t>(result), &self.control_));
        }
        return true;
    }

    result<value_type> outcome() {
        if (this->ended) {
            return this->ended_as("receive_message");
        }
        return std::move(*outcome_);
    }

private:
    basic_socket<P>& socket_;
    kept_receive_data<Data&> data_;
    netkit::detail::receive_iovecs<Data> iov_;
    control_storage& control_;
    message_header message_;
    sockaddr_storage sender_{};
    outcome_slot<value_type> outcome_;
};

} // namespace netkit::async::detail
