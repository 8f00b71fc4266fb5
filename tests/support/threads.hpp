#pragma once

// A thread joined when it goes out of scope, however the test ends (a failed REQUIRE throws):
// std::jthread's one use here, written out because libc++ 14 has no std::jthread.

#include <thread>
#include <utility>

namespace netkit_test {

class joining_thread {
public:
    template <class Body>
    explicit joining_thread(Body&& body) : thread_(std::forward<Body>(body)) {}
    joining_thread(const joining_thread&) = delete;
    joining_thread& operator=(const joining_thread&) = delete;
    ~joining_thread() { join(); }

    void join() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }

private:
    std::thread thread_;
};

} // namespace netkit_test
