#pragma once

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace netkit::async::detail {

// Work handed to a loop from other threads: one lock, taken briefly on each side. `push` runs
// `then` (the loop's wake) under the lock, so the loop cannot take the work, run it and be
// destroyed while the poster is still in the call.
class post_queue {
public:
    template <class Then>
    void push(std::function<void()> fn, Then&& then) {
        const std::lock_guard lock(mutex_);
        posted_.push_back(std::move(fn));
        then();
    }

    // Runs what was posted, in order, outside the lock.
    void run() {
        {
            const std::lock_guard lock(mutex_);
            if (posted_.empty()) {
                return;
            }
            taking_.swap(posted_);
        }
        for (auto& fn : taking_) {
            fn();
        }
        taking_.clear();
    }

private:
    std::mutex mutex_;
    std::vector<std::function<void()>> posted_;
    std::vector<std::function<void()>> taking_;
};

} // namespace netkit::async::detail
