#pragma once

#include <netkit/async/task.hpp>

namespace netkit::async::detail {

// The tasks an owner (a loop's spawned tasks, a scope's children) holds, as an intrusive list
// through their promises: adding or removing one allocates nothing.
class task_list {
public:
    task_list() = default;
    task_list(const task_list&) = delete;
    task_list& operator=(const task_list&) = delete;
    ~task_list() = default;

    [[nodiscard]] bool empty() const noexcept { return first_ == nullptr; }
    [[nodiscard]] promise_base& front() const noexcept { return *first_; }

    // Links `promise` in, with `owner` told when its task ends.
    void push(promise_base& promise, task_owner* owner) noexcept {
        promise.set_owner(owner);
        promise.next_spawned = first_;
        if (first_ != nullptr) {
            first_->prev_spawned = &promise;
        }
        first_ = &promise;
    }

    // Takes `promise` out (its task ended, or its frame is about to be destroyed).
    void unlink(promise_base& promise) noexcept {
        (promise.prev_spawned != nullptr ? promise.prev_spawned->next_spawned : first_) =
            promise.next_spawned;
        if (promise.next_spawned != nullptr) {
            promise.next_spawned->prev_spawned = promise.prev_spawned;
        }
        promise.prev_spawned = promise.next_spawned = nullptr;
        promise.set_owner(nullptr);
    }

private:
    promise_base* first_ = nullptr;
};

} // namespace netkit::async::detail
