#pragma once

#include <netkit/async/awaiters.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/io/file_transfer.hpp>
#include <netkit/io/pipe.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/io/resumable_file_transfer.hpp>
#include <netkit/protocol/concepts.hpp>
#include <netkit/socket/socket.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

// Files and pipes, awaitable: sendfile and splice, each a resumable transfer of the io/ tier
// (io/resumable_file_transfer.hpp) stepped until the socket is full, then a wait for room.

namespace netkit::async {

namespace detail {

// A resumable transfer with `step(socket)` and `bytes_transferred()`, stepped at once and again
// at each writability; its state is the transfer object itself, inside the awaiter.
template <class P, class Transfer>
class resumable_awaiter : public io_awaiter<resumable_awaiter<P, Transfer>> {
    using base = io_awaiter<resumable_awaiter<P, Transfer>>;

public:
    template <class... Args>
    resumable_awaiter(const char* name, basic_socket<P>& socket, deadline when, stop_token token,
                      Args&&... transfer)
        : base(socket.native_handle(), netkit::interest::writable, when, token),
          name_(name),
          socket_(socket),
          transfer_(std::forward<Args>(transfer)...) {}
    static bool try_now(operation& op) noexcept {
        auto& self = static_cast<resumable_awaiter&>(op);
        for (;;) {
            auto step = self.transfer_.step(self.socket_);
            if (!step) {
                if (step.error().would_block()) {
                    return false;
                }
                self.failed_ = step.error();
                return true;
            }
            if (*step) {
                return true;
            }
        }
    }
    result<std::size_t> outcome() const noexcept {
        if (this->ended) {
            return this->ended_as(name_, transfer_.bytes_transferred());
        }
        if (failed_) {
            return failure{*failed_};
        }
        return transfer_.bytes_transferred();
    }

private:
    const char* name_;
    basic_socket<P>& socket_;
    Transfer transfer_;
    std::optional<error> failed_;
};

} // namespace detail

/// Sends `range` of the regular file `file` on a stream socket with sendfile(2), waiting for
/// room whenever the socket is full: the bytes sent (the range's length). Steps a
/// `resumable_send_file`, so the file is checked once, before a byte goes (a directory, not a
/// regular file, a range past the end: `send_file`'s errors), and each wakeup costs sendfile
/// calls only. The socket must be non-blocking (`std::errc::invalid_argument` otherwise), as
/// `accept`'s and `connect`'s are.
///
/// A passed deadline is `errc::deadline_passed` and a stop `operation_canceled`; on any error
/// `bytes_transferred()` says how much of the range went (resume from `range.offset` plus it).
/// A closed or reset peer is `broken_pipe` or `connection_reset`, never a SIGPIPE.
///
/// @par Example
/// @code
/// auto sent = co_await netkit::async::send_file(client, file, {.offset = 0, .length = size}, 30s);
/// @endcode
template <can_stream P>
auto send_file(basic_socket<P>& socket, int file, file_range range = {}, deadline until = {},
               stop_token stop = {}) {
    return detail::resumable_awaiter<P, resumable_send_file>("sendfile", socket, until, stop, file,
                                                             range);
}

/// `send_file` by splice(2) through `through` (file to pipe, pipe to socket): a
/// `resumable_send_file_spliced` stepped as `send_file` steps its transfer, with
/// `send_file_spliced`'s handling of the bytes a pipe holds.
template <can_stream P>
auto send_file_spliced(basic_socket<P>& socket, int file, pipe& through, file_range range = {},
                       deadline until = {}, stop_token stop = {}) {
    return detail::resumable_awaiter<P, resumable_send_file_spliced>("splice", socket, until, stop,
                                                                     file, through, range);
}

/// Relays a byte stream from `from` to `to` through `through` (splice(2), without copying the
/// bytes into the process) until the source's stream ends or `limit` bytes reached `to`: the
/// bytes relayed. Both sockets must be non-blocking. The destination is not shut down at the
/// end: that is the caller's move.
///
/// It steps a `resumable_splice` and waits for whichever side would block: the source to be
/// readable or the destination to be writable. The side changes from wait to wait, so this is
/// a task (its frame comes from the loop thread's recycling allocator) around `wait_readable`
/// and `wait_writable`, not a single awaiter. Errors as `splice_all`'s, and `deadline_passed`,
/// `operation_canceled`, each with `bytes_transferred()`; bytes that had not reached `to` stay
/// in the pipe (`through.buffered()`).
template <can_stream P, can_stream Q>
task<result<std::size_t>>
splice_all(basic_socket<P>& from, basic_socket<Q>& to, pipe& through,
           std::uint64_t limit = std::numeric_limits<std::uint64_t>::max(), deadline until = {},
           stop_token stop = {}) {
    if (stop.stop_requested()) { // as every operation: a stop before the start makes no call
        co_return failure{error(std::make_error_code(std::errc::operation_canceled), "splice")};
    }
    resumable_splice relay(through, limit);
    for (;;) {
        auto step = relay.step(from, to);
        if (step) {
            co_return relay.bytes_transferred();
        }
        if (!step.error().would_block()) {
            co_return failure{step.error()};
        }
        result<void> ready;
        if (relay.waiting_for() == splice_side::source) {
            ready = co_await wait_readable(from, until, stop);
        } else {
            ready = co_await wait_writable(to, until, stop);
        }
        if (!ready) {
            error ended(ready.error().code(), "splice");
            co_return failure{ended.with_bytes_transferred(relay.bytes_transferred())};
        }
    }
}

} // namespace netkit::async
