#pragma once

#include <netkit/async/stop.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/io/poller.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <system_error>

#include <sys/socket.h>

// The boundary between an awaitable operation and the engine that completes it.
//
// An operation knows (a) the call to try at once, `attempt`, which returns true once the
// operation has finished (its outcome kept by the operation) and false when it would block, and
// (b) the readiness it then waits for, `fd` and `interest`. The epoll engine (the loop) waits
// for that readiness and calls `attempt` again; a completion engine will add (c), a description
// of the operation as a submission, and finish it without `attempt`. Either way the engine ends
// a wait early by setting `ended` (deadline, cancellation, close) and resumes `waiter`.
// Everything here lives in the awaiter, inside the coroutine frame: nothing is allocated.
//
// A zero-copy send adds a last part: the kernel may read its buffer after the call that took
// it has returned, so the operation ends only once the kernel has let go (`holds`), on either
// engine, and an early end (deadline, stop, close) stops its sending but not that wait.

namespace netkit::async::detail {

// (c): an operation a completion engine can make itself, a plain recv(2) or send(2) of one
// buffer, or a recvmsg(2) or sendmsg(2) of the msghdr `message` (its name, iovecs and control
// area too live in the awaiter, and must stay put until the completion: the kernel writes the
// lengths and flags out back into it). Kind `none`: the operation only has (a) and (b).
struct submission {
    enum class kind : unsigned char {
        none,
        receive,
        send,
        send_zero_copy, // IORING_OP_SEND_ZC: a notification follows the result
        receive_message,
        send_message
    };
    kind what = kind::none;
    void* data = nullptr;
    std::size_t size = 0;
    int flags = 0;
    msghdr* message = nullptr; // the message kinds' msghdr, instead of `data` and `size`
};

// Set in the bits an engine reports when a registration has ended on its own (io_uring ends a
// multishot poll when its completion queue overflows): the loop registers the descriptor again
// if it still wants it. Bit 27 is not an EPOLL* event bit.
inline constexpr std::uint32_t registration_ended = 1U << 27;

// Set in the token of an operation submitted to a completion engine (readiness tokens are
// descriptor numbers and generations below 2^31 in each half).
inline constexpr std::uint64_t completion_bit = std::uint64_t{1} << 63U;

// A submission's completion as an engine's `cancel` finds it: its result (bytes, or -errno;
// -ECANCELED when the cancel stopped it) and whether a zero-copy notification of it is still to
// come.
struct completion {
    int result = 0;
    bool notification_follows = false;
};

// What an engine says of an operation's completion besides its result (the third argument of
// its events): a notification of the same submission follows (IORING_CQE_F_MORE of a SEND_ZC),
// or this is that notification (IORING_CQE_F_NOTIF), whose result is its usage bits.
inline constexpr std::uint32_t notice_more = 1;
inline constexpr std::uint32_t notice_notification = 2;

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
    // A zero-copy send, else null. `holds` says whether the kernel may still read the operation's
    // memory; `closing` says that its descriptor is about to close (the operation may take a
    // duplicate to read its completions from). An operation that holds is resumed only once it
    // does not: a wait ended early goes on, with neither deadline nor stop (`holding`).
    // `notified` takes each io_uring notification (its usage bits); `notifications` counts those
    // still to come, from the results that said one follows.
    bool (*holds)(operation&, bool closing) noexcept = nullptr;
    void (*notified)(operation&, int usage) noexcept = nullptr;
    std::uint32_t notifications = 0;
    bool holding = false;
};

} // namespace netkit::async::detail
