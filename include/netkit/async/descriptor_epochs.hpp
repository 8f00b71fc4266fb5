#pragma once

#include <netkit/core/fd.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

// How the loop knows that a descriptor number it registered with epoll still names the same
// file. The loop keeps a descriptor registered from one operation to the next (edge-triggered,
// both directions), so a wait costs no epoll_ctl. The kernel drops the registration when the
// file closes, and the number may come back for another file: every close netkit makes bumps
// the number's epoch (core/fd.hpp's observer), and a registration is trusted only while the
// epoch it was made under is current. A descriptor closed behind netkit's back (close(2) on a
// released number) is not seen: see docs/coroutines.md.

namespace netkit::async::detail {

class descriptor_epochs {
public:
    // Numbers past this are not tracked: their waits register each time (ADD, or MOD when the
    // number is still registered), which is always right and costs one epoll_ctl.
    static constexpr std::size_t tracked = 65536;

    // The epoch of `fd`, or none when it is not tracked.
    static std::optional<std::uint32_t> of(int fd) noexcept {
        if (fd < 0 || static_cast<std::size_t>(fd) >= tracked) {
            return std::nullopt;
        }
        return table()[fd].load(std::memory_order_acquire);
    }

    static void closing(int fd) noexcept {
        if (fd >= 0 && static_cast<std::size_t>(fd) < tracked) {
            table()[fd].fetch_add(1, std::memory_order_acq_rel);
        }
    }

private:
    // Zero-initialised static storage: the pages are touched only for numbers in use.
    static std::atomic<std::uint32_t>* table() noexcept {
        static std::atomic<std::uint32_t> epochs[tracked]; // NOLINT: a fixed table, by design
        return epochs;
    }
};

} // namespace netkit::async::detail
