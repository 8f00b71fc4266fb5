#pragma once

#include <netkit/core/result.hpp>

#include <utility>

#include <unistd.h>

namespace netkit {

namespace detail {
/// Called with each descriptor netkit closes on this thread, just before close(2), when set. The
/// coroutine loop (async/) sets it on its thread: it keeps a descriptor registered with epoll or
/// io_uring from one operation to the next and must learn when the number stops naming the file
/// it registered. Per thread, so that reading it needs no atomic: a close on a thread without a
/// loop is not seen (docs/coroutines.md).
using close_observer = void (*)(int fd) noexcept;
inline thread_local close_observer descriptor_close_observer = nullptr;

/// close(2), the one system call made outside sys/: file_descriptor owns it, and sys/ is above
/// core/ (its wrappers return result and file_descriptor). Never retried: on Linux the descriptor
/// is released even when close is interrupted, and a retry could close a descriptor that another
/// thread has just been given the same number for. The error is reported all the same (EIO from
/// a network filesystem, say).
inline result<void> close_descriptor(int fd) noexcept {
    if (descriptor_close_observer != nullptr) {
        descriptor_close_observer(fd);
    }
    if (::close(fd) != 0) [[unlikely]] {
        return errno_failure("close");
    }
    return {};
}
} // namespace detail

/// A move-only owner of one file descriptor: it is closed exactly once, by `close()` or by the
/// destructor, never twice.
///
/// `close()` reports the kernel's error. It does not retry on EINTR: on Linux the descriptor is
/// released even when close is interrupted, and a retry could close a descriptor that another
/// thread has just been given the same number for.
class file_descriptor {
public:
    /// Owns nothing.
    constexpr file_descriptor() noexcept = default;
    /// Takes ownership of `fd` (-1 means "none").
    constexpr explicit file_descriptor(int fd) noexcept : fd_(fd) {}

    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    /// Takes `other`'s descriptor; `other` owns nothing afterwards.
    constexpr file_descriptor(file_descriptor&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)) {}
    /// Closes the descriptor this object owns (ignoring its close error) and takes `other`'s;
    /// `other` owns nothing afterwards.
    file_descriptor& operator=(file_descriptor&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    /// Closes the descriptor, if any, ignoring its close error (use `close()` to see it).
    ~file_descriptor() { reset(); }

    /// The descriptor, still owned; -1 if none.
    [[nodiscard]] constexpr int get() const noexcept { return fd_; }
    /// True if the object owns a descriptor.
    [[nodiscard]] constexpr bool is_open() const noexcept { return fd_ >= 0; }
    /// `is_open()`.
    constexpr explicit operator bool() const noexcept { return is_open(); }

    /// Gives up ownership without closing; the caller now owns the returned descriptor.
    [[nodiscard]] constexpr int release() noexcept { return std::exchange(fd_, -1); }

    /// Closes the current descriptor (ignoring its close error) and takes ownership of `fd`.
    void reset(int fd = -1) noexcept {
        const int old = std::exchange(fd_, fd);
        if (old >= 0) {
            (void)detail::close_descriptor(old);
        }
    }

    /// Closes the descriptor and reports the kernel's verdict. Afterwards the object owns nothing,
    /// whatever the outcome (EINTR included: see the class comment). Closing an empty object is a
    /// no-op that succeeds.
    result<void> close() noexcept {
        const int old = std::exchange(fd_, -1);
        if (old < 0) {
            return {};
        }
        return detail::close_descriptor(old);
    }

    /// True if both hold the same descriptor number (or both hold none).
    friend constexpr bool operator==(const file_descriptor& a, const file_descriptor& b) noexcept {
        return a.fd_ == b.fd_;
    }

private:
    int fd_ = -1;
};

} // namespace netkit
