#pragma once

// mmap(2) and munmap(2) for memory shared with the kernel (io_uring's rings and the provided
// buffer rings), wrapped once with the RAII owner that unmaps it.
//
// Every mapping made here is marked MADV_DONTFORK: a forked child gets no copy of it (the range
// is simply not mapped in the child). Without that, fork would mark the pages copy-on-write in
// the parent too, and the first write the parent then makes (a ring index, a buffer ring entry)
// would go to a fresh copy while the kernel may go on using the page it had pinned: the parent's
// updates would be lost. A child cannot use the parent's ring anyway (the ring belongs to the
// task that made it: see sys/io_uring.hpp).

#include <netkit/core/result.hpp>

#include <cstddef>
#include <span>
#include <utility>

#include <sys/mman.h>
#include <sys/types.h>

namespace netkit::detail {

/// An owned memory mapping, unmapped by the destructor. Move-only.
class memory_map {
public:
    /// Maps nothing.
    memory_map() noexcept = default;

    /// `size` bytes of `fd` from `offset`, shared with the kernel, read-write, populated at once
    /// (the kernel touches them on every submission: no fault later) and kept out of children.
    /// Errors: mmap's (ENOMEM when locked memory is exhausted) and madvise's.
    static result<memory_map> shared(int fd, std::size_t size, off_t offset) noexcept {
        return make(size, MAP_SHARED | MAP_POPULATE, fd, offset);
    }

    /// `size` bytes of zeroed anonymous memory, private to this process and kept out of
    /// children (a provided buffer ring and its buffers).
    static result<memory_map> anonymous(std::size_t size) noexcept {
        return make(size, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    }

    memory_map(const memory_map&) = delete;
    memory_map& operator=(const memory_map&) = delete;
    memory_map(memory_map&& other) noexcept
        : address_(std::exchange(other.address_, nullptr)),
          size_(std::exchange(other.size_, 0)) {}
    memory_map& operator=(memory_map&& other) noexcept {
        if (this != &other) {
            reset();
            address_ = std::exchange(other.address_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    ~memory_map() { reset(); }

    /// The first byte; null when nothing is mapped.
    [[nodiscard]] std::byte* data() const noexcept { return static_cast<std::byte*>(address_); }
    /// The mapped length in bytes.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// The mapping as bytes.
    [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data(), size_}; }

    /// Unmaps now. munmap fails only for arguments that are not a mapping, which this object
    /// never holds, so there is nothing to report.
    void reset() noexcept {
        if (address_ != nullptr) {
            (void)::munmap(address_, size_);
            address_ = nullptr;
            size_ = 0;
        }
    }

private:
    memory_map(void* address, std::size_t size) noexcept : address_(address), size_(size) {}

    static result<memory_map> make(std::size_t size, int flags, int fd, off_t offset) noexcept {
        void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, fd, offset);
        if (address == MAP_FAILED) [[unlikely]] {
            return errno_failure("mmap");
        }
        memory_map owned(address, size);
        if (::madvise(address, size, MADV_DONTFORK) != 0) [[unlikely]] {
            return errno_failure("madvise");
        }
        return owned;
    }

    void* address_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace netkit::detail
