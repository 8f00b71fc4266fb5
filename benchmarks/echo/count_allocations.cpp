// Linked into netkit's echo servers (echo_netkit_server, echo_netkit_co_server), never into the
// examples themselves: every global operator new is counted, and SIGUSR1 writes the count so far
// to standard output as a line "allocations N". run.py reads it at both ends of its measured
// window and records the difference per request. run.py finds out whether a server counts from
// its caught signals (/proc/PID/status), so the C and Asio servers need nothing of this.
//
// The array and nothrow forms are not replaced: libstdc++ and libc++ implement them with the
// plain and aligned forms below, which are.
#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <new>

#include <unistd.h>

// TSan's runtime (clang's, linked statically) defines the global operator new and delete
// itself: under TSan nothing is replaced, and without a SIGUSR1 handler run.py records no
// count for the server.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NETKIT_ECHO_NO_NEW_REPLACEMENT 1
#endif
#endif
#if !defined(NETKIT_ECHO_NO_NEW_REPLACEMENT) && !defined(__SANITIZE_THREAD__)

namespace {

std::atomic<unsigned long long> allocations{0};
static_assert(std::atomic<unsigned long long>::is_always_lock_free); // read in a signal handler

// Async-signal-safe: an atomic load, digits by hand and one write(2).
void report(int) {
    char text[40] = "allocations ";
    char digits[24];
    std::size_t count = 0;
    unsigned long long value = allocations.load(std::memory_order_relaxed);
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    std::size_t length = sizeof("allocations ") - 1;
    while (count > 0) {
        text[length++] = digits[--count];
    }
    text[length++] = '\n';
    (void)!::write(STDOUT_FILENO, text, length);
}

// Installed before main: by the time a server prints its endpoint, run.py may signal it.
[[maybe_unused]] const bool reporting = [] {
    struct sigaction action {};
    action.sa_handler = report;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return ::sigaction(SIGUSR1, &action, nullptr) == 0;
}();

} // namespace

void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}

void* operator new(std::size_t size, std::align_val_t alignment) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    const auto align = static_cast<std::size_t>(alignment);
    // aligned_alloc wants a size that is a non-zero multiple of the alignment.
    const std::size_t rounded = size == 0 ? align : (size + align - 1) / align * align;
    if (void* p = std::aligned_alloc(align, rounded)) {
        return p;
    }
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#endif
