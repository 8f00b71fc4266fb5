#pragma once

// "Does this kernel have opcode X?": IORING_REGISTER_PROBE (Linux 5.6) asked once per ring.
// Opcodes are numbered in the order they were added, so the kernel's own last opcode says how
// new it is, and each opcode up to it carries a "supported" flag (an opcode can be compiled out).

#include <netkit/core/result.hpp>
#include <netkit/sys/io_uring.hpp>
#include <netkit/sys/io_uring_abi.hpp>

#include <cstddef>
#include <cstdint>

#include <linux/io_uring.h>

namespace netkit::detail::uring {

/// What IORING_REGISTER_PROBE reported: the opcodes the kernel supports.
class probe {
public:
    /// Asks the kernel behind `r`. Errors: io_uring_register's (EINVAL before Linux 5.6).
    static result<probe> of(const ring& r) noexcept {
        probe answer;
        auto asked =
            register_call(r.fd(), IORING_REGISTER_PROBE, &answer.reply_, max_ops, "io_uring probe");
        if (!asked) {
            return failure{asked.error()};
        }
        return answer;
    }

    /// True if the kernel supports `opcode` (an IORING_OP_* value, or any number: one past the
    /// kernel's last opcode is simply not supported).
    [[nodiscard]] bool supports(unsigned opcode) const noexcept {
        return opcode <= reply_.last_op && opcode < reply_.ops_len && opcode < max_ops &&
               (reply_.ops[opcode].flags & IO_URING_OP_SUPPORTED) != 0;
    }

    /// The kernel's last opcode (IORING_OP_LAST - 1 of its own headers).
    [[nodiscard]] unsigned last_opcode() const noexcept { return reply_.last_op; }

private:
    static constexpr unsigned max_ops = 256; // opcodes are one byte

    // io_uring_probe with room for every opcode: the kernel's struct ends in a flexible array,
    // which C++ cannot hold in a member; this one has the same layout (checked below).
    struct reply {
        std::uint8_t last_op;
        std::uint8_t ops_len;
        std::uint16_t resv;
        std::uint32_t resv2[3];
        ::io_uring_probe_op ops[max_ops];
    };
    static_assert(offsetof(reply, ops) == sizeof(::io_uring_probe));

    reply reply_{};
};

} // namespace netkit::detail::uring
