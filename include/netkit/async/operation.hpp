#pragma once

#include <netkit/async/stop.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/io/poller.hpp>

#include <coroutine>
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
};

} // namespace netkit::async::detail
