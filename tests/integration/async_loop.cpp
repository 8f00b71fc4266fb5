// The coroutine loop: running a task to its value, spawned tasks and their exceptions, stop(),
// and posting to the loop from other threads (an eventfd wakes it).
#include <netkit/async/loop.hpp>

#include "support/catch.hpp"

#include <netkit/async/task.hpp>

#include <atomic>
#include <coroutine>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace nka = netkit::async;

namespace {

// Suspends and hands its handle out, for a test to resume through the loop.
struct parked {
    std::coroutine_handle<>* slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiting) noexcept { *slot = waiting; }
    void await_resume() const noexcept {}
};

nka::task<int> answer() { co_return 42; }

nka::task<int> add_answers() { co_return co_await answer() + co_await answer(); }

struct on_destroy {
    int* count;
    ~on_destroy() { ++*count; }
};

nka::task<> count_up(int& runs, int& destroyed) {
    const on_destroy guard{&destroyed};
    ++runs;
    co_return;
}

nka::task<> throws_later() {
    throw std::runtime_error("escaped a spawned task");
    co_return; // NOLINT: unreachable, makes this a coroutine
}

nka::task<> wait_parked(std::coroutine_handle<>& slot, int& resumed) {
    co_await parked{&slot};
    ++resumed;
}

// Parks until `expected` posts have run; both it and the posts run on the loop's thread.
struct until_posted {
    std::atomic<int>* posted;
    int expected;
    std::coroutine_handle<>* slot;
    bool await_ready() const noexcept { return posted->load() == expected; }
    void await_suspend(std::coroutine_handle<> waiting) noexcept { *slot = waiting; }
    void await_resume() const noexcept {}
};

nka::task<int> wait_posts(std::coroutine_handle<>& slot, int expected, std::atomic<int>& posted) {
    co_await until_posted{&posted, expected, &slot};
    co_return posted.load();
}

} // namespace

TEST_CASE("run returns the value of its task") {
    nka::loop loop;
    CHECK(loop.run(add_answers()) == 84);
    CHECK(&nka::loop::current() == &loop);
}

TEST_CASE("spawned tasks run on the loop and their frames are freed when they end") {
    nka::loop loop;
    int runs = 0;
    int destroyed = 0;
    for (int i = 0; i < 10; ++i) {
        loop.spawn(count_up(runs, destroyed));
    }
    CHECK(runs == 0); // spawning starts nothing before the loop turns
    CHECK(loop.run(answer()) == 42);
    CHECK(runs == 10);
    CHECK(destroyed == 10);
}

TEST_CASE("an exception escaping a spawned task is rethrown by run, or goes to the handler") {
    SECTION("no handler: run rethrows it") {
        nka::loop loop;
        std::coroutine_handle<> never{};
        int resumed = 0;
        loop.spawn(throws_later());
        CHECK_THROWS_AS(loop.run(wait_parked(never, resumed)), std::runtime_error);
        CHECK(resumed == 0);
    }
    SECTION("a handler") {
        nka::loop loop;
        int handled = 0;
        loop.set_exception_handler([&](std::exception_ptr failed) {
            CHECK(failed != nullptr);
            ++handled;
        });
        loop.spawn(throws_later());
        loop.spawn(throws_later());
        CHECK(loop.run(answer()) == 42);
        // The root may end before the spawned ones ran: a second run gives them their turn.
        CHECK(loop.run(answer()) == 42);
        CHECK(handled == 2);
    }
}

TEST_CASE("stop ends run with operation_canceled, and the loop can run again") {
    nka::loop loop;
    std::coroutine_handle<> parked_handle{};
    int resumed = 0;
    loop.post([&] { loop.stop(); });
    try {
        loop.run(wait_parked(parked_handle, resumed));
        FAIL("run returned");
    } catch (const netkit::operation_failed& e) {
        CHECK(e.error() == std::errc::operation_canceled);
    }
    CHECK(resumed == 0);
    CHECK(loop.run(answer()) == 42);
}

TEST_CASE("post from other threads wakes the loop and runs on its thread") {
    nka::loop loop;
    constexpr int per_thread = 500;
    std::atomic<int> posted{0};
    std::coroutine_handle<> waiting{};
    const auto loop_thread = std::this_thread::get_id();
    std::atomic<int> on_other_thread{0};
    auto poster = [&] {
        for (int i = 0; i < per_thread; ++i) {
            loop.post([&] {
                if (std::this_thread::get_id() != loop_thread) {
                    ++on_other_thread;
                }
                if (posted.fetch_add(1) + 1 == 2 * per_thread && waiting) {
                    loop.schedule(waiting); // the last one resumes the task if it waits
                }
            });
        }
    };
    std::thread a(poster);
    std::thread b(poster);
    const int got = loop.run(wait_posts(waiting, 2 * per_thread, posted));
    a.join();
    b.join();
    CHECK(got == 2 * per_thread);
    CHECK(on_other_thread.load() == 0);
}
