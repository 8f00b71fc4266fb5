#pragma once

// Where a transfer of a buffer sequence stands between system calls: the position itself, and
// the cursor the blocking loops walk with.

#include <netkit/buffer/buffer.hpp>
#include <netkit/detail/const_view.hpp>
#include <netkit/detail/minimal_algorithms.hpp>

#include <array>
#include <cstddef>
#include <span>

#include <sys/uio.h>

namespace netkit {

/// A position inside an array of iovecs: the buffers not yet transferred and the offset into
/// the first of them. It is what a transfer must remember between two system calls, and nothing
/// more (no iovec window), so a resumable operation can keep one per connection.
class buffer_position {
public:
    /// Starts at the first byte of `buffers`, skipping leading empty ones; the iovec array must
    /// outlive the position.
    explicit buffer_position(std::span<const iovec> buffers) noexcept : remaining_(buffers) {
        skip_finished();
    }

    /// True once every byte has been consumed.
    [[nodiscard]] bool done() const noexcept { return remaining_.empty(); }
    /// The buffers not yet finished, the first of them from `offset()` on.
    [[nodiscard]] std::span<const iovec> remaining() const noexcept { return remaining_; }
    /// Bytes of `remaining().front()` already transferred.
    [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

    /// Marks `n` bytes as transferred.
    void consume(std::size_t n) noexcept {
        // The common case on a readiness loop, tested first: the rest of the last buffer went.
        if (remaining_.size() == 1 && n == remaining_.front().iov_len - offset_) [[likely]] {
            remaining_ = {};
            offset_ = 0;
            return;
        }
        while (n > 0 && !remaining_.empty()) {
            const std::size_t left = remaining_.front().iov_len - offset_;
            if (n < left) {
                offset_ += n;
                return;
            }
            n -= left;
            offset_ = 0;
            remaining_ = remaining_.subspan(1);
        }
        skip_finished();
    }

private:
    void skip_finished() noexcept {
        while (!remaining_.empty() && remaining_.front().iov_len == offset_) {
            offset_ = 0;
            remaining_ = remaining_.subspan(1);
        }
    }

    std::span<const iovec> remaining_;
    std::size_t offset_ = 0;
};

/// A cursor over a sequence of iovecs that has been partly transferred: what `send_all` and
/// `receive_exact` use to carry on from the exact byte where a short transfer stopped.
///
/// `next()` gives the iovecs for the next system call: at most `max_buffers_per_call`, the
/// first starting at the current byte. While no buffer has been partly consumed it returns a
/// slice of the caller's own array; only after a short transfer does it copy iovec descriptors
/// (never data) into its window, to adjust the first one without touching the caller's.
class buffer_cursor {
public:
    /// Starts at the first byte of `buffers`, skipping leading empty ones; the iovec array must
    /// outlive the cursor.
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): window_ is left uninitialised on purpose
    explicit buffer_cursor(std::span<const iovec> buffers) noexcept : position_(buffers) {}
    buffer_cursor(const buffer_cursor&) = delete;
    buffer_cursor& operator=(const buffer_cursor&) = delete;

    /// True once every byte has been consumed.
    [[nodiscard]] bool done() const noexcept { return position_.done(); }

    /// The iovecs for the next call; empty once done.
    [[nodiscard]] std::span<const iovec> next() noexcept {
        const std::span<const iovec> remaining = position_.remaining();
        const std::size_t count = detail::min_of(remaining.size(), max_buffers_per_call);
        if (position_.offset() == 0) {
            return remaining.first(count);
        }
        detail::copy_elements(remaining.data(), count, window_.data());
        window_[0].iov_base = static_cast<char*>(window_[0].iov_base) + position_.offset();
        window_[0].iov_len -= position_.offset();
        return detail::const_view<iovec>(window_.data(), count);
    }

    /// Marks `n` bytes as transferred.
    void consume(std::size_t n) noexcept { position_.consume(n); }

private:
    buffer_position position_;
    // Deliberately uninitialised: 16 KiB that only a short transfer ever touches.
    std::array<iovec, max_buffers_per_call> window_;
};

} // namespace netkit
