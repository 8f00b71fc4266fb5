#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/option/socket.hpp>
#include <netkit/socket/socket.hpp>
#include <netkit/sys/syscall.hpp>

#include <optional>
#include <system_error>
#include <utility>

#include <sys/socket.h>

// The awaiter behind async::connect: a new non-blocking socket, one connect(2), and on
// EINPROGRESS a wait for writability after which SO_ERROR says how the handshake ended.

namespace netkit::async::detail {

template <class P>
class connect_awaiter : public io_awaiter<connect_awaiter<P>> {
    using base = io_awaiter<connect_awaiter<P>>;

public:
    connect_awaiter(result<basic_socket<P>> opened, const typename P::endpoint_type& peer,
                    deadline when, stop_token token)
        : base(opened ? opened->native_handle() : -1, netkit::interest::writable, when, token),
          opened_(std::move(opened)),
          peer_(peer) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<connect_awaiter&>(op);
        if (!self.opened_) {
            return true;
        }
        if (!self.started_) { // (a): connect(2) at once; EINPROGRESS waits for writable
            self.started_ = true;
            // connect_to would wait for the handshake inside the call: one connect(2) only.
            auto begun = netkit::detail::connect_once(self.opened_->native_handle(),
                                                      self.peer_.data(), self.peer_.size());
            if (!begun && begun.error() == std::errc::operation_in_progress) {
                return false;
            }
            self.failed_ = begun ? std::nullopt : std::optional<error>(begun.error());
            return true;
        }
        auto status = self.opened_->get(so::error); // writable: how the handshake ended
        if (!status) {
            self.failed_ = status.error();
        } else if (*status != 0) {
            self.failed_ = error(std::error_code(*status, std::system_category()), "connect",
                                 self.peer_.data(), self.peer_.size());
        }
        return true;
    }
    result<basic_socket<P>> outcome() {
        if (this->ended) {
            return failure{error(this->ended, "connect", peer_.data(), peer_.size())};
        }
        if (!opened_) {
            return failure{opened_.error()};
        }
        if (failed_) {
            return failure{*failed_};
        }
        return std::move(*opened_);
    }

private:
    result<basic_socket<P>> opened_;
    typename P::endpoint_type peer_;
    std::optional<error> failed_;
    bool started_ = false;
};

template <class P>
result<basic_socket<P>> open_non_blocking(const typename P::endpoint_type& peer) noexcept {
    auto fd = netkit::detail::open_for<P>(peer, SOCK_NONBLOCK);
    if (!fd) {
        return failure{fd.error()};
    }
    return basic_socket<P>(std::move(*fd));
}

} // namespace netkit::async::detail
