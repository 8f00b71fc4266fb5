#pragma once

#include <cstddef>
#include <new>

// Under ASan a recycled frame is poisoned while it waits in its list, so that resuming or
// reading a destroyed coroutine is still reported although its memory was never freed.
#if defined(__SANITIZE_ADDRESS__)
#define NETKIT_ASAN_FRAMES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETKIT_ASAN_FRAMES 1
#endif
#endif
#ifdef NETKIT_ASAN_FRAMES
#include <sanitizer/asan_interface.h>
#endif

// Where coroutine frames come from: a free list per size class and per thread, so that a frame
// freed is the next one of its size allocated, and a loop that keeps starting the same
// coroutines stops asking the heap after its first rounds.

namespace netkit::async::detail {

class frame_allocator {
public:
    static constexpr std::size_t granule = 64;     // size classes are multiples of a cache line
    static constexpr std::size_t class_count = 32; // up to 2 KiB recycled; larger frames: heap
    static constexpr std::size_t keep_per_class = 256;

    frame_allocator() noexcept = default;
    frame_allocator(const frame_allocator&) = delete;
    frame_allocator& operator=(const frame_allocator&) = delete;
    ~frame_allocator() {
        for (std::size_t index = 0; index < class_count; ++index) {
            free_list& list = lists_[index];
            while (list.head != nullptr) {
                unpoison(list.head, (index + 1) * granule);
                node* next = list.head->next;
                ::operator delete(list.head);
                list.head = next;
            }
        }
    }

    /// The allocator of this thread.
    static frame_allocator& local() noexcept {
        thread_local frame_allocator instance;
        return instance;
    }

    void* allocate(std::size_t size) {
        const std::size_t index = class_of(size);
        if (index < class_count && lists_[index].head != nullptr) {
            free_list& list = lists_[index];
            node* taken = list.head;
            unpoison(taken, (index + 1) * granule);
            list.head = taken->next;
            --list.count;
            return taken;
        }
        return ::operator new(index < class_count ? (index + 1) * granule : size);
    }

    void deallocate(void* frame, std::size_t size) noexcept {
        const std::size_t index = class_of(size);
        if (index < class_count && lists_[index].count < keep_per_class) {
            free_list& list = lists_[index];
            list.head = ::new (frame) node{list.head};
            ++list.count;
            poison(frame, (index + 1) * granule);
            return;
        }
        ::operator delete(frame);
    }

private:
    struct node {
        node* next;
    };
    struct free_list {
        node* head = nullptr;
        std::size_t count = 0;
    };
    static void poison([[maybe_unused]] void* frame, [[maybe_unused]] std::size_t size) noexcept {
#ifdef NETKIT_ASAN_FRAMES
        ASAN_POISON_MEMORY_REGION(frame, size);
#endif
    }
    static void unpoison([[maybe_unused]] void* frame, [[maybe_unused]] std::size_t size) noexcept {
#ifdef NETKIT_ASAN_FRAMES
        ASAN_UNPOISON_MEMORY_REGION(frame, size);
#endif
    }
    static constexpr std::size_t class_of(std::size_t size) noexcept {
        return (size + granule - 1) / granule - 1;
    }
    free_list lists_[class_count]{};
};

} // namespace netkit::async::detail
