#pragma once

#include <netkit/detail/chrono.hpp>

#include <ratio>
#include <type_traits>

namespace netkit {

/// When a blocking call must have finished: a point on `std::chrono::steady_clock` (so that
/// setting the wall clock moves no deadline), or a timeout from now. Every blocking call that
/// takes one ends by then with the error `std::errc::timed_out` (its `bytes_transferred()`
/// saying how far a loop got) and never ends before it for lack of time.
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
    // A timeout too long for the clock saturates to "never" instead of overflowing into the past.
    // An integer timeout in units no finer than the clock's is first compared with a constant (the
    // longest the clock can count), so that no division runs per call (an idle deadline moves at
    // every read), then in the clock's units with what is left before its end.
    template <class Rep, class Period>
    static clock::time_point from_now(std::chrono::duration<Rep, Period> timeout) noexcept {
        const auto now = clock::now();
        if constexpr (std::is_integral_v<Rep> &&
                      std::ratio_greater_equal_v<Period, clock::period>) {
            using wide = std::chrono::duration<std::common_type_t<Rep, clock::rep>, Period>;
            constexpr wide longest = std::chrono::floor<wide>(clock::duration::max());
            if (timeout >= longest) {
                return clock::time_point::max();
            }
            const auto span = std::chrono::ceil<clock::duration>(timeout);
            if (span >= clock::time_point::max() - now) {
                return clock::time_point::max();
            }
            return now + span;
        } else {
            const auto room = std::chrono::floor<std::chrono::duration<Rep, Period>>(
                clock::time_point::max() - now);
            if (timeout >= room) {
                return clock::time_point::max();
            }
            return now + std::chrono::ceil<clock::duration>(timeout);
        }
    }

    clock::time_point at_ = clock::time_point::max();
};

} // namespace netkit
