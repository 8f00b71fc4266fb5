#pragma once

#include <netkit/async/stop.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/io/poller.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <system_error>

// The boundary between an awaitable operation and the engine that completes it.
//
// An operation knows (a) the call to try at once, `attempt`, which returns true once the
// operation has finished (its outcome kept by the operation) and false when it would block, and
// (b) the readiness it then waits for, `fd` and `interest`. The epoll engine (the loop) waits
// for that readiness and calls `attempt` again; a completion engine will add (c), a description
// of the operation as a submission, and finish it without `attempt`. Either way the engine ends
// a wait early by setting `ended` (deadline, cancellation, close) and resumes `waiter`.
// Everything here lives in the awaiter, inside the coroutine frame: nothing is allocated.

namespace netkit::async::detail {

// (c): an operation a completion engine can make itself, a plain recv(2) or send(2) of one
// buffer. `size` 0 with kind `none`: the operation only has (a) and (b).
struct submission {
    enum class kind : unsigned char {
        none,
        receive,
        send
    };
    kind what = kind::none;
    void* data = nullptr;
    std::size_t size = 0;
    int flags = 0;
};

struct operation : stop_node {                      // the node: a stop ends the wait
    bool (*attempt)(operation&) noexcept = nullptr; // (a)
    int fd = -1;                                    // (b), or -1 for a pure timer
    poll_interest interest{};                       // (b)
    deadline until{};
    stop_token stop{};
    std::coroutine_handle<> waiter{};
    std::error_code ended{}; // set by the engine when it ended the wait itself
    std::uint32_t slot = 0;  // the engine's bookkeeping while registered
    bool registered = false;
    bool queued = false; // in the loop's ready queue, not yet resumed
    stop_registration stop_link{};
    // (c), or null: the next submission (recv/send of what is left), and what to do with a
    // completion's result (bytes, or -errno); `complete` returns true once the operation has
    // finished, false to be submitted again (a short send of a send_all).
    submission (*describe)(operation&) noexcept = nullptr;
    bool (*complete)(operation&, int result) noexcept = nullptr;
    bool submitted = false; // a submission of it is in flight in the engine
    // A `stream_reader`'s receive or an `incoming`'s accept on an engine with queues for them:
    // `attempt` takes from the descriptor's queue, and the wait is for the queue's next
    // completion, not for readiness.
    enum class queue_source : unsigned char {
        none,
        received,
        accepted
    };
    queue_source from_queue = queue_source::none;
};

} // namespace netkit::async::detail
