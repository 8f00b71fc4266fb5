// task<T>: lazy start, values and exceptions to the awaiter, symmetric transfer (a million
// awaits of tasks that end at once use no more stack than one), frames recycled.
#include <netkit/async/task.hpp>

#include "support/catch.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace nka = netkit::async;

namespace {

// Drives a task that never suspends on anything but other tasks: resume once, it must be done.
template <class T>
T run_inline(nka::task<T> work) {
    work.handle().resume();
    REQUIRE(work.done());
    return work.take();
}

[[gnu::noinline]] std::uintptr_t stack_position() {
    return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

struct stack_range {
    std::uintptr_t low = UINTPTR_MAX;
    std::uintptr_t high = 0;
    void note(std::uintptr_t at) noexcept {
        low = at < low ? at : low;
        high = at > high ? at : high;
    }
};

nka::task<int> immediate(int value, stack_range& range) {
    range.note(stack_position());
    co_return value;
}

nka::task<long long> await_many(int count, stack_range& range) {
    long long sum = 0;
    for (int i = 0; i < count; ++i) {
        sum += co_await immediate(i, range);
    }
    co_return sum;
}

nka::task<int> thrower() {
    throw std::runtime_error("thrown in a task");
    co_return 0; // NOLINT: unreachable, makes this a coroutine
}

nka::task<std::string> catcher() {
    try {
        co_return std::to_string(co_await thrower());
    } catch (const std::runtime_error& e) {
        co_return std::string("caught: ") + e.what();
    }
}

nka::task<> set_flag(bool& flag) {
    flag = true;
    co_return;
}

nka::task<> await_void(bool& flag) { co_await set_flag(flag); }

nka::task<std::unique_ptr<int>> move_only() { co_return std::make_unique<int>(7); }

struct destroyed_flag {
    bool* flag;
    ~destroyed_flag() { *flag = true; }
};

nka::task<> holds_guard(bool& destroyed, bool& ran) {
    destroyed_flag guard{&destroyed};
    ran = true;
    co_return;
}

} // namespace

TEST_CASE("a task is lazy: nothing runs until it is started") {
    bool flag = false;
    auto work = set_flag(flag);
    CHECK_FALSE(flag);
    CHECK(work.valid());
    CHECK_FALSE(work.done());
    run_inline(std::move(work));
    CHECK(flag);
}

TEST_CASE("a task hands its value to the awaiter, task<void> too") {
    stack_range range;
    CHECK(run_inline(await_many(10, range)) == 45);
    bool flag = false;
    run_inline(await_void(flag));
    CHECK(flag);
    CHECK(*run_inline(move_only()) == 7);
}

TEST_CASE("a million awaits of tasks that end at once do not grow the stack") {
    stack_range range;
    constexpr int count = 1'000'000;
    CHECK(run_inline(await_many(count, range)) == 499'999'500'000LL);
    // Without symmetric transfer each await would nest a resume in the last: megabytes.
    CHECK(range.high - range.low <= 256);
}

TEST_CASE("an exception thrown in a task reaches its awaiter") {
    CHECK(run_inline(catcher()) == "caught: thrown in a task");
    auto failing = thrower();
    failing.handle().resume();
    CHECK_THROWS_AS(failing.take(), std::runtime_error);
}

TEST_CASE("destroying a task that never ran destroys its frame and runs none of its code") {
    bool destroyed = false;
    bool ran = false;
    {
        auto work = holds_guard(destroyed, ran);
        auto moved = std::move(work);
        CHECK_FALSE(work.valid()); // NOLINT(bugprone-use-after-move): moved-from is empty
        CHECK(moved.valid());
    }
    CHECK_FALSE(ran);
    CHECK_FALSE(destroyed); // the guard was never constructed: the body never started
}

TEST_CASE("frames are recycled: the same size class gives back the same memory") {
    auto& frames = nka::detail::frame_allocator::local();
    void* first = frames.allocate(200);
    frames.deallocate(first, 200);
    void* second = frames.allocate(230); // the same class: 193 to 256 bytes
    CHECK(second == first);
    frames.deallocate(second, 230);
    void* large = frames.allocate(1 << 20); // beyond the classes: plain heap
    frames.deallocate(large, 1 << 20);
}
