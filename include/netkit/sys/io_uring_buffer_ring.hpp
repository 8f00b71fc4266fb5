#pragma once

// A provided buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19): buffers handed to the kernel
// in advance, from which a receive with IOSQE_BUFFER_SELECT takes one when data arrives, so that
// an idle connection holds no buffer. The completion names the buffer it filled
// (IORING_CQE_F_BUFFER, the id in the upper 16 bits of cqe.flags); the buffer stays ours until
// we give it back. When the ring is empty a receive fails with ENOBUFS (a multishot one ends):
// give buffers back, then arm it again.
//
// netkit maps the ring and the buffers itself, in one anonymous mapping kept out of forked
// children (sys/memory_map.hpp); the kernel pins the ring's pages while it is registered.
// The ring's tail is ours: entries are written first, then the tail is stored with release
// ordering, so that the kernel, which loads it with acquire, never sees an entry half written.

#include <netkit/core/result.hpp>
#include <netkit/detail/kernel_shared.hpp>
#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_abi.hpp>
#include <netkit/sys/memory_map.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <utility>

#include <linux/io_uring.h>
#include <unistd.h>

namespace netkit::detail::uring {

/// True if the completion carries a buffer of a provided buffer ring.
[[nodiscard]] constexpr bool has_buffer(const cqe& c) noexcept {
    return (c.flags & IORING_CQE_F_BUFFER) != 0;
}
/// The id of the buffer a completion carries (meaningful when `has_buffer(c)`).
[[nodiscard]] constexpr std::uint16_t buffer_id(const cqe& c) noexcept {
    return static_cast<std::uint16_t>(c.flags >> IORING_CQE_BUFFER_SHIFT);
}

/// A registered provided buffer ring of `count` buffers of `buffer_size` bytes, buffer group
/// `group`. Move-only. Must be destroyed before the ring it was registered with (the destructor
/// unregisters it through the ring's descriptor).
class buffer_ring {
public:
    /// Maps the ring and the buffers, registers them as `group` of `r`, and gives every buffer to
    /// the kernel. `count` is a power of two from 1 to 32768.
    /// Errors: EINVAL (a count that is not a power of two, or too large; a group already
    /// registered), mmap's, io_uring_register's.
    static result<buffer_ring> create(const ring& r, std::uint16_t group, std::uint32_t count,
                                      std::uint32_t buffer_size) noexcept {
        if (count == 0 || count > 32768 || (count & (count - 1)) != 0 || buffer_size == 0) {
            return errc_failure(std::errc::invalid_argument, "io_uring buffer ring");
        }
        // The entries first (page-aligned, as the kernel requires), the buffers after them.
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        const std::size_t entries_size = (count * sizeof(::io_uring_buf) + page - 1) / page * page;
        auto memory = memory_map::anonymous(entries_size + std::size_t{count} * buffer_size);
        if (!memory) {
            return failure{memory.error()};
        }
        ::io_uring_buf_reg registration{};
        registration.ring_addr = reinterpret_cast<std::uintptr_t>(memory->data());
        registration.ring_entries = count;
        registration.bgid = group;
        auto registered = register_call(r.fd(), IORING_REGISTER_PBUF_RING, &registration, 1,
                                        "io_uring buffer ring");
        if (!registered) {
            return failure{registered.error()};
        }
        buffer_ring made(r.fd(), std::move(*memory), entries_size, group, count, buffer_size);
        for (std::uint32_t id = 0; id < count; ++id) {
            made.stage(static_cast<std::uint16_t>(id));
        }
        made.publish();
        return made;
    }

    buffer_ring(const buffer_ring&) = delete;
    buffer_ring& operator=(const buffer_ring&) = delete;
    buffer_ring(buffer_ring&& other) noexcept
        : ring_fd_(std::exchange(other.ring_fd_, -1)),
          memory_(std::move(other.memory_)),
          entries_(std::exchange(other.entries_, nullptr)),
          buffers_(std::exchange(other.buffers_, nullptr)),
          group_(other.group_),
          count_(other.count_),
          buffer_size_(other.buffer_size_),
          tail_(other.tail_),
          staged_(other.staged_) {}
    buffer_ring& operator=(buffer_ring&&) = delete;
    /// Unregisters the group (its buffers must no longer be in use by a receive in flight:
    /// cancel those first) and unmaps the memory.
    ~buffer_ring() {
        if (ring_fd_ >= 0) {
            ::io_uring_buf_reg registration{};
            registration.bgid = group_;
            (void)register_call(ring_fd_, IORING_UNREGISTER_PBUF_RING, &registration, 1,
                                "io_uring buffer ring");
        }
    }

    /// The buffer group id a receive names in sqe.buf_group.
    [[nodiscard]] std::uint16_t group() const noexcept { return group_; }
    /// How many buffers the ring holds.
    [[nodiscard]] std::uint32_t count() const noexcept { return count_; }
    /// The size of each buffer.
    [[nodiscard]] std::uint32_t buffer_size() const noexcept { return buffer_size_; }

    /// The whole of buffer `id`.
    [[nodiscard]] std::span<std::byte> buffer(std::uint16_t id) const noexcept {
        return {buffers_ + std::size_t{id} * buffer_size_, buffer_size_};
    }
    /// The bytes a successful receive completion put in its buffer.
    [[nodiscard]] std::span<std::byte> received(const cqe& c) const noexcept {
        return buffer(buffer_id(c)).first(static_cast<std::size_t>(c.res > 0 ? c.res : 0));
    }

    /// Writes buffer `id` into the next free entry, not yet visible to the kernel: `publish`
    /// makes every staged buffer visible at once (one release store for a batch).
    void stage(std::uint16_t id) noexcept {
        ::io_uring_buf& entry = entries_[(tail_ + staged_) & (count_ - 1)];
        entry.addr = reinterpret_cast<std::uintptr_t>(buffer(id).data());
        entry.len = buffer_size_;
        entry.bid = id;
        ++staged_;
    }
    /// Makes the staged buffers visible to the kernel: the tail moves past them with a release
    /// store, after the entries themselves were written.
    void publish() noexcept {
        if (staged_ == 0) {
            return; // the store would tell the kernel nothing, and dirty a line it reads
        }
        tail_ = static_cast<std::uint16_t>(tail_ + staged_);
        staged_ = 0;
        // The tail overlays the `resv` field of entry 0 (struct io_uring_buf_ring).
        store_release(tail_field(), tail_);
    }
    /// Gives buffer `id` back to the kernel at once: `stage` and `publish`.
    void give_back(std::uint16_t id) noexcept {
        stage(id);
        publish();
    }

private:
    buffer_ring(int ring_fd, memory_map memory, std::size_t entries_size, std::uint16_t group,
                std::uint32_t count, std::uint32_t buffer_size) noexcept
        : ring_fd_(ring_fd),
          memory_(std::move(memory)),
          entries_(reinterpret_cast<::io_uring_buf*>(memory_.data())),
          buffers_(memory_.data() + entries_size),
          group_(group),
          count_(count),
          buffer_size_(buffer_size) {}

    [[nodiscard]] std::uint16_t* tail_field() const noexcept {
        return reinterpret_cast<std::uint16_t*>(memory_.data() +
                                                offsetof(::io_uring_buf_ring, tail));
    }

    int ring_fd_ = -1;
    memory_map memory_;
    ::io_uring_buf* entries_ = nullptr;
    std::byte* buffers_ = nullptr;
    std::uint16_t group_ = 0;
    std::uint32_t count_ = 0;
    std::uint32_t buffer_size_ = 0;
    std::uint16_t tail_ = 0;   // the tail as the kernel last saw it
    std::uint32_t staged_ = 0; // entries written past it, not yet published
};

} // namespace netkit::detail::uring
