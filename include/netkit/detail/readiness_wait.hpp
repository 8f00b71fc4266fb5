#pragma once

// How the blocking loops (send_all, receive_exact) wait: with no deadline, or until one.

#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/sys/syscall.hpp>

#include <system_error>

#include <fcntl.h>
#include <sys/socket.h>

namespace netkit {

namespace detail {

/// The deadline a loop has when its caller gave none: known at compile time, so that the loops
/// without a deadline compile to exactly what they were before deadlines existed.
struct no_deadline_t {
    [[nodiscard]] static constexpr bool is_never() noexcept { return true; }
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): it is "never"
    constexpr operator deadline() const noexcept { return deadline::never(); }
};

/// How a loop that promised to finish (send_all, receive_exact) answers EAGAIN.
///
/// Without a deadline: on a non-blocking socket it waits until the descriptor is ready and goes
/// on; on a blocking socket EAGAIN means SO_SNDTIMEO/SO_RCVTIMEO expired, which is the caller's
/// answer, so it stops. The socket's mode is read once per loop, at its first EAGAIN.
/// With a deadline: every step is made with MSG_DONTWAIT, so that none blocks past it, and EAGAIN
/// waits for readiness until the deadline; when it passes first the loop stops with
/// `errc::deadline_passed` (equal to `std::errc::timed_out`). A caller's own `dont_wait` always
/// stops at the first EAGAIN.
class readiness_wait {
public:
    readiness_wait(int fd, short events, int caller_flags, deadline until,
                   const char* operation) noexcept
        : fd_(fd),
          events_(events),
          caller_dont_wait_((caller_flags & MSG_DONTWAIT) != 0),
          until_(until),
          operation_(operation) {}

    /// The flags each step passes beside the caller's.
    [[nodiscard]] int step_flags() const noexcept { return until_.is_never() ? 0 : MSG_DONTWAIT; }

    /// After a step failed with `failed`: nothing once the loop may go on, else the error to
    /// stop with (the step's own, or deadline_passed).
    result<void> after(const error& failed) noexcept {
        if (caller_dont_wait_ || !failed.would_block()) {
            return failure{failed};
        }
        if (until_.is_never()) {
            if (mode_ == mode::unknown) {
                auto status = status_flags(fd_);
                mode_ = status && (*status & O_NONBLOCK) != 0 ? mode::non_blocking : mode::blocking;
            }
            if (mode_ == mode::blocking) {
                return failure{failed};
            }
        }
        auto ready = poll_one(fd_, events_, until_);
        if (!ready) {
            return failure{ready.error()};
        }
        if (*ready == 0) {
            return errc_failure(errc::deadline_passed, operation_);
        }
        return {};
    }

private:
    enum class mode : unsigned char {
        unknown,
        blocking,
        non_blocking
    };
    int fd_;
    short events_;
    bool caller_dont_wait_;
    mode mode_ = mode::unknown;
    deadline until_;
    const char* operation_;
};

} // namespace detail

} // namespace netkit
