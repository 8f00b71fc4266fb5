// A deadline from a timeout saturates at both ends and never overflows on the way (the
// sanitizer gates turn an overflow into a failure): a timeout longer than the clock can count is
// "never", one that is zero, negative or not a number has passed, and anything between is a
// point in time no earlier than the timeout asks for.
#include <netkit/core/deadline.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <ratio>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

using picoseconds = std::chrono::duration<std::int64_t, std::pico>;
using float_seconds = std::chrono::duration<double>;

// The deadline is at least `timeout` after a time read before it was made, and at most `timeout`
// plus an hour after one read after it: a bound, not a measurement.
template <class Duration>
void require_after(Duration timeout) {
    const auto before = nk::deadline::clock::now();
    const nk::deadline until(timeout);
    const auto after = nk::deadline::clock::now();
    REQUIRE_FALSE(until.is_never());
    REQUIRE(until.at() >= before + std::chrono::ceil<nk::deadline::clock::duration>(timeout));
    REQUIRE(until.at() <= after + std::chrono::ceil<nk::deadline::clock::duration>(timeout) + 1h);
}

} // namespace

TEST_CASE("deadline: a timeout finer than the clock rounds up to its next tick, not to never") {
    require_after(picoseconds(5));
    require_after(picoseconds(1'000'001));
    // The longest such timeout (about 107 days) fits the clock.
    require_after(picoseconds::max());
    const auto five_ps = nk::deadline(picoseconds(5));
    REQUIRE(five_ps.at() > nk::deadline::clock::time_point{});
}

TEST_CASE("deadline: the most negative timeout of any unit has passed, without overflowing") {
    for (const nk::deadline passed :
         {nk::deadline(std::chrono::seconds::min()), nk::deadline(std::chrono::hours::min()),
          nk::deadline(std::chrono::nanoseconds::min()), nk::deadline(picoseconds::min()),
          nk::deadline(float_seconds(-1e300)),
          nk::deadline(std::chrono::duration<int, std::milli>::min())}) {
        REQUIRE_FALSE(passed.is_never());
        REQUIRE(passed.expired());
    }
}

TEST_CASE("deadline: floating-point timeouts saturate, and not-a-number has passed") {
    require_after(float_seconds(0.25));
    require_after(float_seconds(1e-12));
    REQUIRE(nk::deadline(float_seconds(1e300)).is_never());
    REQUIRE(nk::deadline(float_seconds(std::numeric_limits<double>::infinity())).is_never());
    // The clock's whole range as a double rounds to 2^63 ns, past its last tick.
    REQUIRE(nk::deadline(std::chrono::duration<double, std::nano>(9.3e18)).is_never());
    const nk::deadline nan{float_seconds(std::numeric_limits<double>::quiet_NaN())};
    REQUIRE_FALSE(nan.is_never());
    REQUIRE(nan.expired());
}

TEST_CASE("deadline: a timeout just inside or past the clock's end") {
    REQUIRE(nk::deadline(std::chrono::nanoseconds::max()).is_never());
    REQUIRE(nk::deadline(std::chrono::duration<std::uint64_t, std::nano>::max()).is_never());
    REQUIRE(nk::deadline(std::chrono::duration<std::uint64_t, std::micro>::max()).is_never());
    require_after(std::chrono::duration<std::uint32_t>::max());
}
