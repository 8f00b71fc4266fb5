#pragma once

// What the tests that interrupt system calls with signals share: a signal disposition for the
// life of a scope, a handler that counts, and a bounded spin for another thread's progress.

#include "support/catch.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include <signal.h>

namespace netkit::test {

/// Sets a signal's disposition for the life of a scope and puts the old one back. With
/// `flags` 0 (no SA_RESTART) an interrupted call sees EINTR, which is what these tests want.
class scoped_signal {
public:
    scoped_signal(int signal, void (*handler)(int), int flags = 0) : signal_(signal) {
        struct sigaction action {};
        action.sa_handler = handler;
        action.sa_flags = flags;
        sigemptyset(&action.sa_mask);
        REQUIRE(::sigaction(signal_, &action, &previous_) == 0);
    }
    scoped_signal(const scoped_signal&) = delete;
    scoped_signal& operator=(const scoped_signal&) = delete;
    ~scoped_signal() { ::sigaction(signal_, &previous_, nullptr); }

private:
    int signal_;
    struct sigaction previous_ {};
};

/// How many signals `count_signal` has handled.
inline std::atomic<int> signals_handled{0};
/// A handler that only counts (async-signal-safe: a lock-free atomic).
extern "C" inline void count_signal(int /*signal*/) {
    signals_handled.fetch_add(1, std::memory_order_relaxed);
}

/// Spins (yielding the core) until `condition` holds or 10 s pass: a bound, not a delay.
template <class Condition>
bool wait_until(Condition condition) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!condition()) {
        if (std::chrono::steady_clock::now() > limit) {
            return false;
        }
        std::this_thread::yield();
    }
    return true;
}

} // namespace netkit::test
