#pragma once

// Loads and stores on memory that the kernel reads and writes at the same time as we do: the
// head and tail indexes of io_uring's rings and of a provided buffer ring. They are atomic
// accesses (the kernel's smp_load_acquire / smp_store_release on its side), made through
// std::atomic_ref where the standard library has it; libc++ before 19 has not, and there the
// __atomic built-ins std::atomic_ref is made of do the same (docs/design.md, "Toolchain shims").
// Only io_uring's headers include this, so <atomic> costs nobody else.

#include <netkit/detail/toolchain_shims.hpp>

#include <version>

#if defined(__cpp_lib_atomic_ref)
#include <atomic>
#endif

namespace netkit::detail {

/// Reads `*where` with acquire ordering: what the kernel wrote before it published this value
/// (with a release store) is visible to the reads that follow.
/// (A pointer to non-const: std::atomic_ref<const T> is C++26.)
template <class T>
T load_acquire(T* where) noexcept {
#if defined(__cpp_lib_atomic_ref)
    return std::atomic_ref<T>(*where).load(std::memory_order_acquire);
#else
    return builtin_load_acquire(where);
#endif
}

/// Reads `*where` atomically without ordering: a value the kernel may change at any time (ring
/// flags, counters) that guards no other memory.
template <class T>
T load_relaxed(T* where) noexcept {
#if defined(__cpp_lib_atomic_ref)
    return std::atomic_ref<T>(*where).load(std::memory_order_relaxed);
#else
    return builtin_load_relaxed(where);
#endif
}

/// Writes `value` to `*where` with release ordering: every write before it (the entries this
/// index publishes) is visible to the kernel once it sees the new value.
template <class T>
void store_release(T* where, T value) noexcept {
#if defined(__cpp_lib_atomic_ref)
    std::atomic_ref<T>(*where).store(value, std::memory_order_release);
#else
    builtin_store_release(where, value);
#endif
}

} // namespace netkit::detail
