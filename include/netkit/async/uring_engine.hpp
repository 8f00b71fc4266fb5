#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/sys/epoll.hpp>
#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_ops.hpp>
#include <netkit/sys/io_uring_probe.hpp>

#include <cstdint>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include <linux/io_uring.h>
#include <poll.h>
#include <sys/epoll.h>

namespace netkit::async::detail {

namespace uring = netkit::detail::uring;

/// Set in the bits an engine reports when a registration has ended on its own (io_uring ends a
/// multishot poll when its completion queue overflows): the loop registers the descriptor
/// again if it still wants it. Bit 27 is not an EPOLL* event bit.
inline constexpr std::uint32_t registration_ended = 1U << 27;

/// The loop's engine over io_uring, for readiness: a descriptor's registration is a multishot
/// IORING_OP_POLL_ADD (every wakeup of the file posts a completion, as an edge-triggered epoll
/// registration reports an edge), and each wait of the loop is one io_uring_enter that also
/// submits what was prepared since the last. Same interface as `epoll_engine`.
///
/// A poll holds a reference to its file: closing the descriptor does not end it, and the
/// socket would stay open (no FIN) while it lasts. So `closing` prepares its cancellation,
/// which the next io_uring_enter submits, before the loop's next wait.
class uring_engine {
public:
    static constexpr std::string_view name = "io_uring";

    // Sets up the ring (SINGLE_ISSUER with DEFER_TASKRUN where the kernel has them), checks
    // that the kernel has the opcodes the engine uses, and arms the wake eventfd with a
    // multishot poll, which also proves that multishot polls work (Linux 5.13). Errors are
    // those a caller falls back to epoll on: EPERM (forbidden), ENOSYS (absent or too old),
    // ENOMEM (locked memory).
    static result<uring_engine> open() noexcept {
        uring::ring_options options;
        options.submission_entries = 256;
        options.completion_entries = 16384; // every multishot poll may have one waiting
        auto ring = uring::ring::create(options);
        if (!ring) {
            return failure{ring.error()};
        }
        auto probe = uring::probe::of(*ring);
        if (!probe) {
            return failure{probe.error()};
        }
        if (!probe->supports(IORING_OP_POLL_ADD) || !probe->supports(IORING_OP_ASYNC_CANCEL)) {
            return netkit::detail::errc_failure(std::errc::function_not_supported,
                                                "io_uring engine (opcodes)");
        }
        auto wakeup = netkit::detail::eventfd_open();
        if (!wakeup) {
            return failure{wakeup.error()};
        }
        uring_engine engine(std::move(*ring), std::move(*wakeup));
        if (auto armed = engine.arm_wake(); !armed) {
            return failure{armed.error()};
        }
        if (auto proved = engine.prove_wake(); !proved) {
            return failure{proved.error()};
        }
        return engine;
    }

    result<void> watch(int fd, std::uint64_t token) noexcept {
        auto entry = next_sqe();
        if (!entry) {
            return failure{entry.error()};
        }
        uring::prepare_poll_add(**entry, fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, true, token);
        return {};
    }

    void closing(int /*fd*/, std::uint64_t token) noexcept {
        if (auto entry = next_sqe()) {
            uring::prepare_cancel(**entry, token, 0, ignored_token);
        }
    }

    template <class OnEvent>
    result<void> wait(deadline until, OnEvent&& on_event) {
        auto entered = ring_.submit_and_wait(1, until);
        // EBUSY/EAGAIN: the kernel wants completions reaped before it takes more submissions.
        if (!entered && entered.error() != std::errc::device_or_resource_busy &&
            entered.error() != std::errc::resource_unavailable_try_again) {
            return failure{entered.error()};
        }
        bool wake_ended = false;
        ring_.for_each_completion([&](const uring::cqe& done) {
            const bool more = (done.flags & IORING_CQE_F_MORE) != 0;
            if (done.user_data == wake_token) {
                (void)netkit::detail::eventfd_drain(wake_.get());
                wake_ended = wake_ended || !more;
                return;
            }
            if (done.user_data == ignored_token || done.res == -ECANCELED) {
                return;
            }
            const std::uint32_t bits =
                done.res < 0 ? std::uint32_t{EPOLLERR} : static_cast<std::uint32_t>(done.res);
            on_event(done.user_data, more ? bits : bits | registration_ended);
        });
        if (wake_ended) {
            return arm_wake();
        }
        return {};
    }

    result<void> wake() const noexcept { return netkit::detail::eventfd_signal(wake_.get()); }

private:
    static constexpr std::uint64_t wake_token = std::numeric_limits<std::uint64_t>::max();
    static constexpr std::uint64_t ignored_token = wake_token - 1;

    uring_engine(uring::ring ring, file_descriptor wakeup) noexcept
        : ring_(std::move(ring)),
          wake_(std::move(wakeup)) {}

    // A free SQE; when every one is prepared and not yet submitted, submits them first.
    result<uring::sqe*> next_sqe() noexcept {
        if (uring::sqe* entry = ring_.next_sqe()) {
            return entry;
        }
        if (auto submitted = ring_.submit(); !submitted) {
            return failure{submitted.error()};
        }
        if (uring::sqe* entry = ring_.next_sqe()) {
            return entry;
        }
        return netkit::detail::errc_failure(std::errc::device_or_resource_busy,
                                            "io_uring engine (submission queue full)");
    }

    result<void> arm_wake() noexcept {
        auto entry = next_sqe();
        if (!entry) {
            return failure{entry.error()};
        }
        uring::prepare_poll_add(**entry, wake_.get(), POLLIN, true, wake_token);
        return {};
    }

    // One wake and its completion: a kernel without multishot polls refuses the poll here
    // (EINVAL in its completion), and the loop falls back to epoll instead of hanging later.
    result<void> prove_wake() noexcept {
        if (auto woken = wake(); !woken) {
            return woken;
        }
        const deadline until(std::chrono::seconds(5));
        while (!until.expired()) {
            auto entered = ring_.submit_and_wait(1, until);
            if (!entered) {
                return failure{entered.error()};
            }
            int answer = 0;
            bool armed = false;
            ring_.for_each_completion([&](const uring::cqe& done) {
                if (done.user_data == wake_token) {
                    answer = done.res;
                    armed = (done.flags & IORING_CQE_F_MORE) != 0;
                }
            });
            if (answer < 0) {
                return failure{error(std::error_code(-answer, std::system_category()),
                                     "io_uring engine (multishot poll)")};
            }
            if (answer > 0) {
                (void)netkit::detail::eventfd_drain(wake_.get());
                if (!armed) {
                    return netkit::detail::errc_failure(std::errc::function_not_supported,
                                                        "io_uring engine (multishot poll)");
                }
                return {};
            }
        }
        return netkit::detail::errc_failure(std::errc::timed_out, "io_uring engine (wake)");
    }

    uring::ring ring_;
    file_descriptor wake_;
};

} // namespace netkit::async::detail
