#pragma once

// io_uring's kernel interface as netkit uses it: the structures and constants of
// <linux/io_uring.h> (Debian's kernel headers are 6.1's), netkit's own definitions of the few
// that came later, and the layout checks that tie the two together.
//
// A constant newer than 6.1 is a netkit constant that takes the header's value where the header
// has it and the kernel's documented value where it has not, never a #define of the kernel's
// name: a program that includes a newer <linux/io_uring.h> after this header must still compile.
// The kernel version each feature appeared in: docs/io_uring.md.

#include <cstddef>
#include <cstdint>

#include <linux/io_uring.h>
#include <linux/time_types.h>

namespace netkit::detail::uring {

/// A submission queue entry (64 bytes).
using sqe = ::io_uring_sqe;
/// A completion queue entry (16 bytes: netkit never asks for IORING_SETUP_CQE32).
using cqe = ::io_uring_cqe;
/// What io_uring_setup(2) reads and fills in.
using params = ::io_uring_params;
/// The timespec io_uring's timeouts and waits read (64-bit fields on every architecture).
using kernel_timespec = ::__kernel_timespec;

// The kernel's layout, which the shared memory and the registration calls depend on.
static_assert(sizeof(sqe) == 64);
static_assert(sizeof(cqe) == 16);
static_assert(sizeof(params) == 120);
static_assert(sizeof(::io_uring_buf) == 16);
static_assert(sizeof(::io_uring_buf_reg) == 40);
static_assert(sizeof(::io_uring_probe) == 16 && sizeof(::io_uring_probe_op) == 8);
static_assert(sizeof(::io_uring_recvmsg_out) == 16);

/// The setup flags netkit asks for, strongest first (each set falls back to the next on EINVAL):
/// one issuing thread with completions run only when it asks for them (Linux 6.1), cooperative
/// task running with a flag that says when to enter (5.19), and nothing (5.4 and later).
inline constexpr std::uint32_t setup_deferred =
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
inline constexpr std::uint32_t setup_cooperative =
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
inline constexpr std::uint32_t setup_plain = 0;

/// The features netkit requires of a kernel: one mmap for both rings (5.4), completions queued
/// rather than dropped when the CQ ring is full (5.5), and a timeout on io_uring_enter (5.11).
inline constexpr std::uint32_t required_features =
    IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;

// --- newer than Debian's 6.1 headers ---------------------------------------------------------

/// sqe.ioprio of a send or receive: a receive with buffer selection takes as many buffers as the
/// data fills, a send sends several buffers of a group (Linux 6.10).
#if defined(IORING_RECVSEND_BUNDLE)
inline constexpr std::uint16_t recvsend_bundle = IORING_RECVSEND_BUNDLE;
#else
inline constexpr std::uint16_t recvsend_bundle = 1U << 4;
#endif

/// io_uring_params.features: the kernel takes bundles (Linux 6.10).
#if defined(IORING_FEAT_RECVSEND_BUNDLE)
inline constexpr std::uint32_t feature_recvsend_bundle = IORING_FEAT_RECVSEND_BUNDLE;
#else
inline constexpr std::uint32_t feature_recvsend_bundle = 1U << 14;
#endif

/// cqe.flags: the buffer named by the CQE is only partly consumed and stays in the kernel's
/// hands (incremental buffer rings, Linux 6.12).
#if defined(IORING_CQE_F_BUF_MORE)
inline constexpr std::uint32_t cqe_buffer_more = IORING_CQE_F_BUF_MORE;
#else
inline constexpr std::uint32_t cqe_buffer_more = 1U << 4;
#endif

/// io_uring_register(2) opcode: the head of a provided buffer ring, how far the kernel has
/// consumed it (Linux 6.8).
inline constexpr unsigned register_pbuf_status = 26;

/// The argument of `register_pbuf_status`.
struct buffer_ring_status {
    std::uint32_t group;   ///< in: the buffer group
    std::uint32_t head;    ///< out: the index of the next entry the kernel will take
    std::uint32_t resv[8]; ///< reserved, zero
};
static_assert(sizeof(buffer_ring_status) == 40);

} // namespace netkit::detail::uring
