// timer_queue: earliest first, never early, a passed deadline fires at the next expire, and the
// queue drives poller::wait's deadline so that many timers need no thread and no descriptor. No
// test asserts how late a timer was, only that none fired early.
#include <netkit/io/timer_queue.hpp>

#include "support/catch.hpp"

#include <netkit/io/poller.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace nk = netkit;
using namespace std::chrono_literals;

TEST_CASE("timer_queue: next is the earliest, expire takes the due ones in order") {
    nk::timer_queue timers;
    REQUIRE(timers.empty());
    REQUIRE(timers.next().is_never());
    const auto base = nk::deadline::clock::now();
    timers.schedule(nk::deadline(base + 30ms), 3).value();
    timers.schedule(nk::deadline(base + 10ms), 1).value();
    timers.schedule(nk::deadline(base + 20ms), 2).value();
    timers.schedule(nk::deadline::never(), 99).value(); // never fires: not kept
    REQUIRE(timers.size() == 3);
    REQUIRE(timers.next().at() == base + 10ms);

    std::vector<std::uint64_t> fired;
    auto collect = [&](std::uint64_t token) { fired.push_back(token); };
    REQUIRE(timers.expire(base, collect) == 0);
    REQUIRE(timers.expire(base + 20ms, collect) == 2);
    REQUIRE(fired == std::vector<std::uint64_t>{1, 2});
    REQUIRE(timers.next().at() == base + 30ms);
    REQUIRE(timers.expire(base + 1h, collect) == 1);
    REQUIRE(fired.back() == 3);
    REQUIRE(timers.empty());
}

TEST_CASE("timer_queue: timers due at the same time fire in the order they were scheduled") {
    // Few distinct times, many timers each, pushes and expiries interleaved, so that entries of
    // equal time take every path through the heap; the model is a list sorted by (time, order).
    nk::timer_queue timers;
    const auto base = nk::deadline::clock::now();
    struct scheduled {
        int slot;
        std::uint64_t token;
    };
    std::vector<scheduled> model;
    std::uint32_t state = 12345;
    const auto next = [&state] {
        state = state * 1664525U + 1013904223U;
        return state >> 8;
    };
    std::uint64_t token = 0;
    int expired_slots = 0;
    for (int step = 0; step < 6000; ++step) {
        if (next() % 8 < 6) {
            const int slot = expired_slots + static_cast<int>(next() % 4);
            timers.schedule(nk::deadline(base + slot * 1ms), token).value();
            model.push_back({slot, token});
            ++token;
            continue;
        }
        // Expire the earliest slot: the model's entries of that slot, in scheduling order.
        std::vector<std::uint64_t> fired;
        timers.expire(base + expired_slots * 1ms,
                      [&](std::uint64_t expired) { fired.push_back(expired); });
        std::vector<std::uint64_t> expected;
        std::vector<scheduled> kept;
        for (const scheduled& entry : model) {
            (entry.slot <= expired_slots ? expected.push_back(entry.token) : kept.push_back(entry));
        }
        model = kept;
        REQUIRE(fired == expected);
        ++expired_slots;
    }
    REQUIRE(timers.size() == model.size());
}

TEST_CASE("timer_queue: a handler that schedules again for now does not loop for ever") {
    nk::timer_queue timers;
    const auto now = nk::deadline::clock::now();
    timers.schedule(nk::deadline(now), 1).value();
    timers.schedule(nk::deadline(now), 2).value();
    int calls = 0;
    const std::size_t taken = timers.expire(now, [&](std::uint64_t token) {
        ++calls;
        timers.schedule(nk::deadline(now), token).value();
    });
    REQUIRE(taken == 2);
    REQUIRE(calls == 2);
    REQUIRE(timers.size() == 2);
}

TEST_CASE("timer_queue drives poller::wait: 200 expiries, none early") {
    auto poller = nk::poller::open().value();
    nk::timer_queue timers;
    timers.reserve(200).value();
    std::vector<nk::deadline::clock::time_point> due(200);
    const auto start = nk::deadline::clock::now();
    for (std::uint64_t i = 0; i < due.size(); ++i) {
        // Spread over 0..99 ms, out of order.
        due[i] = start + std::chrono::microseconds((i * 7919U) % 100'000U);
        timers.schedule(nk::deadline(due[i]), i).value();
    }
    std::array<nk::poller::event, 8> events{};
    std::size_t fired = 0;
    std::size_t early_wakes = 0;
    for (int round = 0; round < 100'000 && !timers.empty(); ++round) {
        // The wait itself must not end before the earliest timer: compare the clock when it
        // returns with the deadline it was given (expire alone filters on the clock, so it
        // could not tell a wait that ended early).
        const nk::deadline until = timers.next();
        REQUIRE(poller.wait(events, until).value() == 0);
        const auto now = nk::deadline::clock::now();
        if (now < until.at()) {
            ++early_wakes;
        }
        fired += timers.expire(now, [&](std::uint64_t token) { REQUIRE(now >= due[token]); });
    }
    REQUIRE(fired == 200);
    REQUIRE(early_wakes == 0);
}

TEST_CASE("timer_queue: reserving more than memory can address fails and keeps the timers") {
    nk::timer_queue timers;
    const auto now = nk::deadline::clock::now();
    timers.schedule(nk::deadline(now), 7).value();
    auto huge = timers.reserve(static_cast<std::size_t>(-1) / 4);
    REQUIRE_FALSE(huge);
    REQUIRE(huge.error() == std::errc::value_too_large);
    REQUIRE(timers.size() == 1);
    // A copy holds the same timers, apart from the original.
    nk::timer_queue copy = timers;
    timers.clear();
    std::uint64_t seen = 0;
    REQUIRE(copy.expire(now, [&](std::uint64_t token) { seen = token; }) == 1);
    REQUIRE(seen == 7);
}
