#pragma once

#include <netkit/detail/toolchain_shims.hpp>

#include <ratio>
#include <type_traits>

namespace netkit {

/// When a blocking call must have finished: a point on `std::chrono::steady_clock` (so that
/// setting the wall clock moves no deadline), or a timeout from now. Every blocking call that
/// takes one ends by then with the error `errc::deadline_passed`, which compares equal to
/// `std::errc::timed_out` and reads "receive_exact: deadline passed" (its `bytes_transferred()`
/// saying how far a loop got), and never ends before it for lack of time.
///
/// @par Example
/// @code
/// sock.receive_exact(header, 2s).value();                      // a timeout from now
/// auto until = netkit::deadline::after(5s);                      // one deadline for several calls
/// sock.send_all(request, {}, until).value();
/// sock.receive_exact(reply, {}, until).value();
/// @endcode
class deadline {
public:
    /// The clock of every deadline: steady, so that setting the wall clock moves no deadline.
    using clock = std::chrono::steady_clock;

    /// No deadline: wait for as long as it takes.
    constexpr deadline() noexcept = default;
    /// By this point in time.
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): a time point is one
    constexpr deadline(clock::time_point at) noexcept : at_(at) {}
    /// `timeout` from now (a negative or zero timeout has already passed).
    template <class Rep, class Period>
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): a timeout is one
    deadline(std::chrono::duration<Rep, Period> timeout) noexcept : at_(from_now(timeout)) {}

    /// `timeout` from now.
    template <class Rep, class Period>
    static deadline after(std::chrono::duration<Rep, Period> timeout) noexcept {
        return deadline(timeout);
    }
    /// No deadline.
    static constexpr deadline never() noexcept { return {}; }

    /// The point in time; `clock::time_point::max()` for no deadline.
    [[nodiscard]] constexpr clock::time_point at() const noexcept { return at_; }
    /// True for no deadline.
    [[nodiscard]] constexpr bool is_never() const noexcept {
        return at_ == clock::time_point::max();
    }
    /// True once the deadline has passed.
    [[nodiscard]] bool expired() const noexcept { return !is_never() && clock::now() >= at_; }

private:
    // Saturates at both ends: a timeout longer than the clock can count becomes "never", and a
    // zero, negative or NaN one has passed already. No step may overflow on the way: a timeout
    // finer than the clock is rounded up into the clock's unit (a division), one as coarse or
    // floating is compared with the room left, converted into its own unit and rounded down.
    template <class Rep, class Period>
    static clock::time_point from_now(std::chrono::duration<Rep, Period> timeout) noexcept {
        using timeout_type = std::chrono::duration<Rep, Period>;
        const auto now = clock::now();
        if (!(timeout > timeout_type::zero())) {
            return now;
        }
        const clock::duration room = clock::time_point::max() - now;
        if constexpr (std::is_integral_v<Rep> && std::ratio_less_v<Period, clock::period>) {
            const auto span = std::chrono::ceil<clock::duration>(timeout);
            return span >= room ? clock::time_point::max() : now + span;
        } else {
            using wide = std::chrono::duration<std::common_type_t<Rep, clock::rep>, Period>;
            if (timeout >= std::chrono::floor<wide>(room)) {
                return clock::time_point::max();
            }
            // Below the room in its own unit, so the conversion fits; a floating timeout may
            // still round up to the room itself.
            const auto span = std::chrono::ceil<clock::duration>(timeout);
            return span >= room ? clock::time_point::max() : now + span;
        }
    }

    clock::time_point at_ = clock::time_point::max();
};

} // namespace netkit
