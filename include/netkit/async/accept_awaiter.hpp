#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/loop.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/socket/acceptor.hpp>
#include <netkit/socket/socket.hpp>

#include <cerrno>
#include <optional>
#include <system_error>
#include <utility>

// The awaiter of `async::accept` and of `incoming::accept`: accept4(2) tried at once and waited
// for through readiness, or (an `incoming` on io_uring) the next connection of the listener's
// multishot accept.

namespace netkit::async::detail {

template <class P>
class accept_awaiter : public io_awaiter<accept_awaiter<P>> {
    using base = io_awaiter<accept_awaiter<P>>;

public:
    accept_awaiter(basic_acceptor<P>& acceptor, deadline when, stop_token token,
                   const read_path& path = {})
        : base(acceptor.native_handle(), netkit::interest::readable, when, token),
          acceptor_(acceptor) {
        if (path.refused) {
            this->read_by(path);
        } else if (path.through_queue) {
            this->attempt = &take_queued;
            this->from_queue = operation::queue_source::accepted;
        }
    }
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<accept_awaiter&>(op);
        auto got = self.acceptor_.accept(io_mode::non_blocking);
        if (!got && got.error().would_block()) {
            return false;
        }
        self.outcome_.emplace(std::move(got));
        return true;
    }
    // An `incoming`'s accept on io_uring: the next connection its multishot accept took. The
    // peer's address comes from getpeername(2) (a multishot accept has no address buffer per
    // connection); one that has already gone gets an empty address, as accept4 would have
    // given it the address it had. ECONNABORTED is skipped, as `acceptor::accept` skips it.
    static bool take_queued(operation& op) noexcept {
        auto& self = static_cast<accept_awaiter&>(op);
        for (;;) {
            const std::optional<int> taken = loop::current().take_connection(op.fd);
            if (!taken) {
                return false;
            }
            if (*taken == -ECONNABORTED) {
                continue;
            }
            if (*taken < 0) {
                self.outcome_.emplace(
                    failure{error(std::error_code(-*taken, std::system_category()), "accept")});
                return true;
            }
            basic_socket<P> connection{file_descriptor(*taken)};
            auto peer = connection.remote_endpoint();
            self.outcome_.emplace(
                accepted<P>{std::move(connection), peer ? *peer : typename P::endpoint_type{}});
            return true;
        }
    }
    result<accepted<P>> outcome() {
        if (this->ended) {
            return this->ended_as("accept");
        }
        return std::move(*outcome_);
    }

private:
    basic_acceptor<P>& acceptor_;
    outcome_slot<accepted<P>> outcome_;
};

} // namespace netkit::async::detail
