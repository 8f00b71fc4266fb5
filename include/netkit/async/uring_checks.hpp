#pragma once

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/sys/epoll.hpp>
#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_ops.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>
#include <vector>

#include <linux/io_uring.h>

// What the io_uring engine proves at open with one round trip through its ring, beyond the
// probe's list of opcodes: a kernel can know an opcode and still refuse a flag of it.

namespace netkit::async::detail {

namespace uring = netkit::detail::uring;

/// One wake of eventfd `wake`, whose multishot poll is armed on `ring` under `token`, and its
/// completion: a kernel without multishot polls (before 5.13) refuses the poll (EINVAL in its
/// completion) or ends it at once, and the loop falls back to epoll instead of hanging later.
inline result<void> prove_multishot_poll(uring::ring& ring, int wake, std::uint64_t token) {
    if (auto woken = netkit::detail::eventfd_signal(wake); !woken) {
        return woken;
    }
    const deadline until(std::chrono::seconds(5));
    while (!until.expired()) {
        auto entered = ring.submit_and_wait(1, until);
        if (!entered) {
            return failure{entered.error()};
        }
        int answer = 0;
        bool armed = false;
        ring.for_each_completion([&](const uring::cqe& done) {
            if (done.user_data == token) {
                answer = done.res;
                armed = (done.flags & IORING_CQE_F_MORE) != 0;
            }
        });
        if (answer < 0) {
            return failure{error(std::error_code(-answer, std::system_category()),
                                 "io_uring engine (multishot poll)")};
        }
        if (answer > 0) {
            (void)netkit::detail::eventfd_drain(wake);
            if (!armed) {
                return netkit::detail::errc_failure(std::errc::function_not_supported,
                                                    "io_uring engine (multishot poll)");
            }
            return {};
        }
    }
    return netkit::detail::errc_failure(std::errc::timed_out, "io_uring engine (wake)");
}

/// One IORING_OP_SEND_ZC with IORING_SEND_ZC_REPORT_USAGE on no descriptor, under `token`: a
/// kernel that knows the flag (Linux 6.2) fails it with EBADF, one that does not refuses it
/// with EINVAL (6.0 and 6.1 have SEND_ZC without it). A notification it announces is waited for
/// too, so that nothing of it is left; other completions go to `others`, for dispatch.
inline bool proves_send_zero_copy(uring::ring& ring, std::uint64_t token,
                                  std::vector<uring::cqe>& others) {
    uring::sqe* entry = ring.next_sqe();
    if (entry == nullptr) {
        return false;
    }
    uring::prepare_send_zc(*entry, -1, {}, 0, IORING_SEND_ZC_REPORT_USAGE, token);
    std::optional<int> answer;
    bool more = false;
    const deadline until(std::chrono::seconds(5));
    while ((!answer || more) && !until.expired()) {
        if (auto entered = ring.submit_and_wait(1, until); !entered) {
            return false;
        }
        ring.for_each_completion([&](const uring::cqe& done) {
            if (done.user_data != token) {
                others.push_back(done);
            } else if (uring::is_notification(done)) {
                more = false;
            } else {
                answer = done.res;
                more = uring::has_more(done);
            }
        });
    }
    return answer && *answer != -EINVAL && !more;
}

} // namespace netkit::async::detail
