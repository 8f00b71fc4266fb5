#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/concepts.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/poller.hpp>

#include <optional>
#include <type_traits>
#include <utility>

// The awaiter of every operation that is one non-blocking call of the lower tiers (sendto,
// recvmsg, sendmmsg, ...): the call is a small object that knows its descriptor, its name and
// how to make the call without waiting; the awaiter tries it at once and again at each
// readiness until it does not would-block.

namespace netkit::async::detail {

// `Call` has `name` (for the engine's errors: "send_to: deadline passed"), `value_type`,
// `descriptor()` and `operator()()`, the call made with MSG_DONTWAIT.
template <class Call>
class call_awaiter : public io_awaiter<call_awaiter<Call>> {
    using base = io_awaiter<call_awaiter<Call>>;
    using value_type = typename Call::value_type;

public:
    call_awaiter(Call call, poll_interest what, deadline when, stop_token token)
        : base(call.descriptor(), what, when, token),
          call_(std::move(call)) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<call_awaiter&>(op);
        auto got = self.call_();
        if (!got && got.error().would_block()) {
            return false;
        }
        self.outcome_.emplace(std::move(got));
        return true;
    }
    result<value_type> outcome() {
        if (this->ended) {
            return this->ended_as(Call::name);
        }
        return std::move(*outcome_);
    }

private:
    Call call_;
    outcome_slot<value_type> outcome_;
};

// What an operation keeps of the caller's bytes: a byte range as a buffer (a value, so that a
// temporary view may go), a buffer sequence by reference (it must outlive the operation, as the
// socket does).
template <class Data>
using kept_send_data = std::conditional_t<buffer_sequence<std::remove_cvref_t<Data>>,
                                          const std::remove_cvref_t<Data>&, const_buffer>;
template <class Data>
kept_send_data<Data> keep_send_data(const Data& data) noexcept {
    if constexpr (buffer_sequence<std::remove_cvref_t<Data>>) {
        return data;
    } else {
        return buffer(data);
    }
}

template <class Data>
using kept_receive_data = std::conditional_t<buffer_sequence<std::remove_cvref_t<Data>>,
                                             std::remove_reference_t<Data>&, mutable_buffer>;
template <class Data>
kept_receive_data<Data> keep_receive_data(Data&& data) noexcept {
    if constexpr (buffer_sequence<std::remove_cvref_t<Data>>) {
        return data;
    } else {
        return netkit::detail::as_mutable_buffer(data);
    }
}

} // namespace netkit::async::detail
