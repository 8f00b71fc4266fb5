#pragma once

#include <netkit/async/accept_awaiter.hpp>
#include <netkit/async/awaiters.hpp>
#include <netkit/async/loop.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/socket/acceptor.hpp>

#include <cstdint>
#include <system_error>

namespace netkit::async {

/// The one accepting task of a listener: on io_uring, one multishot accept stays armed while it
/// lives, and `accept` takes the next connection it made, so that a burst of connections costs
/// one submission instead of one each. On epoll, and on a kernel without multishot accept (before
/// 5.19), it is `async::accept`.
///
/// On io_uring the peer's address comes from getpeername(2), one call per connection, since a
/// multishot accept has no address buffer per connection. At most 64 connections wait in its
/// queue before the accept is stopped (the kernel's backlog holds the rest, as with no accept
/// posted) and armed again once the queue is empty; one wakeup may take more than 64 at once,
/// and none is dropped. Destroying it, or closing the listener, cancels the accept and closes
/// the connections it took and nobody accepted. Accept from the listener only through it while
/// it lives. Made and used on the thread of the loop it belongs to; not movable.
///
/// @par Example
/// @code
/// netkit::async::incoming connections(acceptor);
/// while (auto conn = co_await connections.accept()) {
///     sessions.spawn(session(std::move(conn->socket)));
/// }
/// @endcode
template <class P>
class incoming {
public:
    /// Accepts from `acceptor`, which must be non-blocking (`listen_options::mode`) and outlive
    /// this. A second `incoming` of the same listener is refused, on either engine: each of its
    /// accepts fails with `connection_already_in_progress`.
    explicit incoming(basic_acceptor<P>& acceptor) : acceptor_(acceptor), loop_(loop::current()) {
        auto opened = loop_.open_holder(fd(), detail::operation::queue_source::accepted);
        if (opened) {
            token_ = *opened;
            through_queue_ = loop_.queues_accepts();
        } else {
            refused_ = opened.error().code();
        }
    }
    incoming(const incoming&) = delete;
    incoming& operator=(const incoming&) = delete;
    ~incoming() { loop_.close_holder(fd(), token_); }

    /// The next connection (non-blocking, close-on-exec) and its peer's address.
    auto accept(deadline until = {}, stop_token stop = {}) {
        return detail::accept_awaiter<P>(acceptor_, until, stop,
                                         detail::read_path{through_queue_, refused_});
    }

    /// True when connections come from the engine's multishot accept.
    [[nodiscard]] bool through_queue() const noexcept { return through_queue_; }

private:
    [[nodiscard]] int fd() const noexcept { return static_cast<int>(acceptor_.native_handle()); }

    basic_acceptor<P>& acceptor_;
    loop& loop_;
    std::uint64_t token_ = 0;
    bool through_queue_ = false;
    std::error_code refused_;
};

} // namespace netkit::async
