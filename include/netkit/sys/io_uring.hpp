#pragma once

// io_uring(7) through its three system calls, with no liburing: io_uring_setup, io_uring_enter
// and io_uring_register wrapped once each, and `ring`, which owns a ring's descriptor and the
// memory it shares with the kernel (the SQ and CQ rings in one mapping, and the SQE array).
//
// The ring indexes are shared with the kernel, so each is read or written with the ordering
// the kernel documents (io_uring(7), "Memory ordering"; liburing's barrier.h):
//   - SQ tail, ours: store-release, so the SQEs written before it are complete when the kernel
//     sees the new tail.
//   - SQ head, the kernel's: load-acquire, so the kernel has finished reading an SQE before we
//     write over its slot.
//   - CQ tail, the kernel's: load-acquire, so the CQEs before it are complete when we read them.
//   - CQ head, ours: store-release, so we have finished reading a CQE before the kernel may write
//     over its slot.
// Ring flags and counters guard no other memory: relaxed atomic loads.
//
// Fork: the mappings are MADV_DONTFORK (sys/memory_map.hpp), so a child has none of them; it
// inherits the descriptor unless it execs (io_uring descriptors are close-on-exec), but may not
// use it: a ring set up with SINGLE_ISSUER refuses any other task (EEXIST), and its requests
// belong to the parent. The child's copy of a `ring` may be destroyed (munmap of a range the
// child does not have mapped does nothing, closing the inherited descriptor leaves the parent's
// open) or abandoned with _exit. See docs/io_uring.md.

#include <netkit/core/deadline.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/kernel_shared.hpp>
#include <netkit/sys/io_uring_abi.hpp>
#include <netkit/sys/memory_map.hpp>
#include <netkit/sys/syscall_core.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <utility>

#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace netkit::detail::uring {

// --- the system calls --------------------------------------------------------------------------

/// io_uring_setup(2): a new ring of `entries` SQEs, `p` read and filled in. The descriptor is
/// close-on-exec (the kernel makes it so). Errors: EPERM (forbidden by seccomp or
/// kernel.io_uring_disabled), ENOSYS (no io_uring), ENOMEM (locked memory), EINVAL (a flag this
/// kernel does not know), EMFILE/ENFILE.
inline result<file_descriptor> setup(std::uint32_t entries, params& p) noexcept {
    const long fd = ::syscall(SYS_io_uring_setup, entries, &p);
    if (fd < 0) [[unlikely]] {
        return errno_failure("io_uring_setup");
    }
    return file_descriptor(static_cast<int>(fd));
}

/// io_uring_enter(2), once: submits up to `to_submit` SQEs and, with IORING_ENTER_GETEVENTS,
/// waits for `min_complete` completions. Returns how many SQEs the kernel consumed. Not retried
/// here: `ring::submit_and_wait` retries after EINTR with what is then left.
inline result<unsigned> enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                              const void* argument, std::size_t argument_size) noexcept {
    const long consumed =
        ::syscall(SYS_io_uring_enter, fd, to_submit, min_complete, flags, argument, argument_size);
    if (consumed < 0) [[unlikely]] {
        return errno_failure("io_uring_enter");
    }
    return static_cast<unsigned>(consumed);
}

/// io_uring_register(2). `operation` names the call in the error ("io_uring probe", ...).
/// Returns what the kernel returned (most opcodes: 0).
inline result<int> register_call(int fd, unsigned opcode, const void* argument, unsigned count,
                                 const char* operation) noexcept {
    const long returned = retry_on_interrupt(
        [&] { return ::syscall(SYS_io_uring_register, fd, opcode, argument, count); });
    if (returned < 0) [[unlikely]] {
        return errno_failure(operation);
    }
    return static_cast<int>(returned);
}

// --- the ring ----------------------------------------------------------------------------------

/// What `ring::create` asks for.
struct ring_options {
    /// SQ entries (rounded up to a power of two by the kernel): how many submissions can be
    /// prepared between two calls of `submit`.
    std::uint32_t submission_entries = 256;
    /// CQ entries (a power of two, at least `submission_entries`; 0: four times as many). Size
    /// it for every completion that can be outstanding at once, multishot ones included, so that
    /// the ring does not overflow; if it does, nothing is lost (see `ring::overflowed`).
    std::uint32_t completion_entries = 0;
    /// The setup flags to try first (see io_uring_abi.hpp); a kernel that refuses them with
    /// EINVAL is asked again with the weaker sets that follow.
    std::uint32_t flags = setup_deferred;
};

/// One io_uring instance: its descriptor and its memory, mapped by netkit. Move-only; used by
/// one thread (the one that created it, when it was set up with SINGLE_ISSUER).
///
/// Submitting: `next_sqe()` gives a slot (or null when the SQ is full), a prepare function of
/// sys/io_uring_ops.hpp fills it, `submit()` or `submit_and_wait()` hands every prepared entry to
/// the kernel. Completing: `for_each_completion(f)` calls `f(const cqe&)` for each completion
/// ready and releases their slots; with DEFER_TASKRUN (`completions_need_enter()`), completions
/// appear only after io_uring_enter with GETEVENTS, which `submit_and_wait` does.
class ring {
public:
    /// Sets up a ring with the strongest of the setup flags the kernel takes (`options.flags`,
    /// then COOP_TASKRUN, then none), and maps its memory.
    /// Errors: io_uring_setup's (EPERM, ENOSYS and ENOMEM are the ones a caller falls back on:
    /// io_uring forbidden, absent, or out of locked memory), ENOSYS too when the kernel lacks a
    /// required feature (io_uring_abi.hpp, `required_features`), mmap's and madvise's.
    static result<ring> create(const ring_options& options = {}) noexcept {
        std::uint32_t flags = options.flags;
        for (;;) {
            params p{};
            p.flags = flags | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
            p.cq_entries = options.completion_entries != 0 ? options.completion_entries
                                                           : 4 * options.submission_entries;
            auto fd = setup(options.submission_entries, p);
            if (fd) {
                return map(std::move(*fd), p);
            }
            if (fd.error() != std::errc::invalid_argument || flags == setup_plain) {
                return failure{fd.error()};
            }
            flags = weaker(flags); // EINVAL: a flag this kernel does not know
        }
    }

    /// The ring's descriptor (for io_uring_register and the buffer rings).
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The setup flags the kernel accepted (IORING_SETUP_*).
    [[nodiscard]] std::uint32_t setup_flags() const noexcept { return flags_; }
    /// The kernel's IORING_FEAT_* bits.
    [[nodiscard]] std::uint32_t features() const noexcept { return features_; }
    /// How many SQEs can be prepared before a submit.
    [[nodiscard]] std::uint32_t submission_capacity() const noexcept { return sq_entries_; }
    /// How many completions the CQ ring holds.
    [[nodiscard]] std::uint32_t completion_capacity() const noexcept { return cq_entries_; }

    // --- submission ---

    /// The next free SQE, to be filled by a prepare function, or null when every slot holds an
    /// entry the kernel has not consumed yet (submit, then ask again).
    [[nodiscard]] sqe* next_sqe() noexcept {
        // Acquire: the kernel has finished reading the entries before its head.
        if (sqe_tail_ - load_acquire(sq_head_) >= sq_entries_) {
            return nullptr;
        }
        return &sqes_[sqe_tail_++ & sq_mask_];
    }

    /// Prepared entries the kernel has not consumed yet.
    [[nodiscard]] std::uint32_t unsubmitted() const noexcept {
        return sqe_tail_ - load_acquire(sq_head_);
    }

    /// Hands every prepared SQE to the kernel, and brings completions that wait in the kernel
    /// into the CQ ring, without waiting for any. Returns how many SQEs it consumed. Makes no
    /// system call when there is nothing to do; with DEFER_TASKRUN there always may be
    /// completions to bring in, so it always enters, as liburing's io_uring_submit does.
    /// Errors: io_uring_enter's; EBUSY or EAGAIN mean "reap completions, then submit again"
    /// (back-pressure), EEXIST a ring of another task (after fork).
    result<unsigned> submit() noexcept { return submit_and_wait(0, deadline::never()); }

    /// Hands every prepared SQE to the kernel and waits until at least `min_complete`
    /// completions are in the CQ ring, or until `until`. Returns how many SQEs the kernel
    /// consumed; a wait that reached its deadline is not an error (the CQ ring holds fewer).
    /// With `min_complete` 0 it still enters the kernel when completions are waiting there (an
    /// overflow, deferred task work), so that they reach the CQ ring. EINTR is retried with the
    /// time that is left. Errors as `submit`.
    result<unsigned> submit_and_wait(unsigned min_complete, deadline until) noexcept {
        publish_tail();
        unsigned consumed = 0;
        for (;;) {
            const unsigned pending = unsubmitted();
            unsigned flags = 0;
            if (min_complete > 0 || completions_need_enter()) {
                flags |= IORING_ENTER_GETEVENTS;
            }
            if (pending == 0 && flags == 0) {
                return consumed;
            }
            io_uring_getevents_arg wait{};
            kernel_timespec timeout{};
            if (min_complete > 0 && !until.is_never()) {
                timeout = time_left(until);
                wait.ts = reinterpret_cast<std::uintptr_t>(&timeout);
                flags |= IORING_ENTER_EXT_ARG;
            }
            const bool extended = (flags & IORING_ENTER_EXT_ARG) != 0;
            auto entered = enter(fd(), pending, min_complete, flags, extended ? &wait : nullptr,
                                 extended ? sizeof wait : 0);
            if (entered) {
                return consumed + *entered;
            }
            if (entered.error() == std::errc::stream_timeout) { // ETIME: the deadline passed
                return consumed;
            }
            if (entered.error() != std::errc::interrupted) {
                return failure{entered.error()};
            }
            // EINTR: the wait was interrupted before anything was submitted; go on with what
            // is left, the timeout recomputed from the deadline.
        }
    }

    // --- completion ---

    /// Completions in the CQ ring, ready to be read.
    [[nodiscard]] std::uint32_t ready() const noexcept {
        // Acquire: the CQEs before the kernel's tail are complete.
        return load_acquire(cq_tail_) - load_relaxed(cq_head_);
    }

    /// Calls `f(const cqe&)` for each completion ready, oldest first, then gives their slots
    /// back to the kernel. Returns how many it handled. `f` may prepare and submit new entries;
    /// it must not call `for_each_completion` itself.
    template <class F>
    std::uint32_t for_each_completion(F&& f) noexcept(noexcept(f(std::declval<const cqe&>()))) {
        std::uint32_t head = load_relaxed(cq_head_); // ours: only this thread writes it
        const std::uint32_t tail = load_acquire(cq_tail_);
        const std::uint32_t count = tail - head;
        for (; head != tail; ++head) {
            f(cqes_[head & cq_mask_]);
        }
        // Release: the reads of the slots above are done before the kernel may reuse them.
        store_release(cq_head_, head);
        return count;
    }

    /// The oldest completion ready, or null; `pop()` gives its slot back.
    [[nodiscard]] const cqe* peek() const noexcept {
        const std::uint32_t head = load_relaxed(cq_head_);
        return head == load_acquire(cq_tail_) ? nullptr : &cqes_[head & cq_mask_];
    }
    /// Gives the slot of the completion `peek` returned back to the kernel.
    void pop() noexcept { store_release(cq_head_, load_relaxed(cq_head_) + 1); }

    /// True while completions wait in the kernel because the CQ ring was full (they are kept,
    /// not dropped: IORING_FEAT_NODROP). The next `submit_and_wait` moves them in as room allows.
    [[nodiscard]] bool overflowed() const noexcept {
        return (load_relaxed(sq_flags_) & IORING_SQ_CQ_OVERFLOW) != 0;
    }
    /// Completions the kernel could not keep at all (it failed to allocate the overflow
    /// entry): lost, and the caller's to treat as a fatal error. Zero in normal operation.
    [[nodiscard]] std::uint32_t dropped() const noexcept { return load_relaxed(cq_overflow_); }

    /// True when completions may be waiting that only io_uring_enter with GETEVENTS brings into
    /// the CQ ring: always with DEFER_TASKRUN, otherwise on an overflow or (COOP_TASKRUN) when
    /// the kernel flags pending task work.
    [[nodiscard]] bool completions_need_enter() const noexcept {
        return (flags_ & IORING_SETUP_DEFER_TASKRUN) != 0 ||
               (load_relaxed(sq_flags_) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
    }

private:
    /// The set of setup flags to try after `flags` was refused.
    static constexpr std::uint32_t weaker(std::uint32_t flags) noexcept {
        return (flags & IORING_SETUP_DEFER_TASKRUN) != 0 ? setup_cooperative : setup_plain;
    }

    static result<ring> map(file_descriptor fd, const params& p) noexcept {
        if ((p.features & required_features) != required_features) {
            return errc_failure(std::errc::function_not_supported, "io_uring_setup");
        }
        // One mapping for both rings (IORING_FEAT_SINGLE_MMAP): as long as the longer of the two.
        const std::size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(std::uint32_t);
        const std::size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(cqe);
        auto rings = memory_map::shared(fd.get(), sq_size > cq_size ? sq_size : cq_size,
                                        static_cast<off_t>(IORING_OFF_SQ_RING));
        if (!rings) {
            return failure{rings.error()};
        }
        auto entries = memory_map::shared(fd.get(), p.sq_entries * sizeof(sqe),
                                          static_cast<off_t>(IORING_OFF_SQES));
        if (!entries) {
            return failure{entries.error()};
        }
        return ring(std::move(fd), std::move(*rings), std::move(*entries), p);
    }

    ring(file_descriptor fd, memory_map rings, memory_map entries, const params& p) noexcept
        : fd_(std::move(fd)),
          rings_(std::move(rings)),
          sqe_memory_(std::move(entries)),
          flags_(p.flags),
          features_(p.features),
          sq_entries_(p.sq_entries),
          cq_entries_(p.cq_entries) {
        std::byte* base = rings_.data();
        sq_head_ = field<std::uint32_t>(base, p.sq_off.head);
        sq_tail_ = field<std::uint32_t>(base, p.sq_off.tail);
        sq_flags_ = field<std::uint32_t>(base, p.sq_off.flags);
        sq_mask_ = *field<std::uint32_t>(base, p.sq_off.ring_mask);
        cq_head_ = field<std::uint32_t>(base, p.cq_off.head);
        cq_tail_ = field<std::uint32_t>(base, p.cq_off.tail);
        cq_overflow_ = field<std::uint32_t>(base, p.cq_off.overflow);
        cq_mask_ = *field<std::uint32_t>(base, p.cq_off.ring_mask);
        cqes_ = field<cqe>(base, p.cq_off.cqes);
        sqes_ = reinterpret_cast<sqe*>(sqe_memory_.data());
        // The SQ array maps ring slots to SQE indexes; netkit keeps it the identity, written
        // once here, so that slot i of the ring is always SQE i.
        auto* array = field<std::uint32_t>(base, p.sq_off.array);
        for (std::uint32_t i = 0; i < sq_entries_; ++i) {
            array[i] = i;
        }
        sqe_tail_ = load_relaxed(sq_tail_);
    }

    template <class T>
    static T* field(std::byte* base, std::uint32_t offset) noexcept {
        return reinterpret_cast<T*>(base + offset);
    }

    /// The SQ tail the kernel reads: every entry prepared so far. Release: their contents are
    /// complete before the kernel can see the new tail.
    void publish_tail() noexcept { store_release(sq_tail_, sqe_tail_); }

    static kernel_timespec time_left(deadline until) noexcept {
        const auto now = deadline::clock::now();
        const auto left = until.at() > now
                              ? std::chrono::ceil<std::chrono::nanoseconds>(until.at() - now)
                              : std::chrono::nanoseconds(0);
        kernel_timespec ts{};
        ts.tv_sec = static_cast<decltype(ts.tv_sec)>(left.count() / 1'000'000'000);
        ts.tv_nsec = static_cast<decltype(ts.tv_nsec)>(left.count() % 1'000'000'000);
        return ts;
    }

    file_descriptor fd_;
    memory_map rings_;
    memory_map sqe_memory_;
    std::uint32_t flags_ = 0;
    std::uint32_t features_ = 0;
    std::uint32_t sq_entries_ = 0;
    std::uint32_t cq_entries_ = 0;
    std::uint32_t* sq_head_ = nullptr;
    std::uint32_t* sq_tail_ = nullptr;
    std::uint32_t* sq_flags_ = nullptr;
    std::uint32_t sq_mask_ = 0;
    std::uint32_t sqe_tail_ = 0; // entries prepared: published to *sq_tail_ by publish_tail
    std::uint32_t* cq_head_ = nullptr;
    std::uint32_t* cq_tail_ = nullptr;
    std::uint32_t* cq_overflow_ = nullptr;
    std::uint32_t cq_mask_ = 0;
    cqe* cqes_ = nullptr;
    sqe* sqes_ = nullptr;
};

} // namespace netkit::detail::uring
