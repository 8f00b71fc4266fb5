#pragma once

#include <netkit/buffer/concepts.hpp>
#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/toolchain_shims.hpp>

#include <array>
#include <climits>
#include <cstddef>
#include <span>
#include <type_traits>

#include <sys/uio.h>

namespace netkit {

/// The most buffers one sendmsg/recvmsg takes (IOV_MAX, 1024 on Linux).
inline constexpr std::size_t max_buffers_per_call = IOV_MAX;

namespace detail {
struct buffer_layout;
}

/// A view of bytes to send: a pointer and a size, with the memory layout of `struct iovec`, so
/// an array of them is an array of iovecs to the kernel. It does not own the bytes.
class const_buffer {
public:
    constexpr const_buffer() noexcept = default;
    /// The `size` bytes at `data`, which must stay valid while the buffer is used.
    // iovec has no const form; only the kernel reads through it, and only on send.
    constexpr const_buffer(const void* data, std::size_t size) noexcept
        : iov_{const_cast<void*>(data), size} {} // NOLINT(cppcoreguidelines-pro-type-const-cast)

    /// The first byte.
    [[nodiscard]] constexpr const void* data() const noexcept { return iov_.iov_base; }
    /// The number of bytes.
    [[nodiscard]] constexpr std::size_t size() const noexcept { return iov_.iov_len; }
    /// True if the buffer has no bytes.
    [[nodiscard]] constexpr bool empty() const noexcept { return iov_.iov_len == 0; }

    /// Drops the first `n` bytes (at most all of them).
    constexpr const_buffer& operator+=(std::size_t n) noexcept {
        n = detail::min_of(n, iov_.iov_len);
        iov_.iov_base = static_cast<char*>(iov_.iov_base) + n;
        iov_.iov_len -= n;
        return *this;
    }

private:
    friend struct detail::buffer_layout;
    iovec iov_{};
};

/// A view of writable bytes to receive into, with the memory layout of `struct iovec`.
class mutable_buffer {
public:
    constexpr mutable_buffer() noexcept = default;
    /// The `size` writable bytes at `data`, which must stay valid while the buffer is used.
    constexpr mutable_buffer(void* data, std::size_t size) noexcept : iov_{data, size} {}

    /// The first byte.
    [[nodiscard]] constexpr void* data() const noexcept { return iov_.iov_base; }
    /// The number of bytes.
    [[nodiscard]] constexpr std::size_t size() const noexcept { return iov_.iov_len; }
    /// True if the buffer has no bytes.
    [[nodiscard]] constexpr bool empty() const noexcept { return iov_.iov_len == 0; }

    /// Drops the first `n` bytes (at most all of them).
    constexpr mutable_buffer& operator+=(std::size_t n) noexcept {
        n = detail::min_of(n, iov_.iov_len);
        iov_.iov_base = static_cast<char*>(iov_.iov_base) + n;
        iov_.iov_len -= n;
        return *this;
    }
    /// The same bytes, read-only: a receive buffer can be passed where a send buffer is expected.
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): writable bytes are readable
    constexpr operator const_buffer() const noexcept { return {iov_.iov_base, iov_.iov_len}; }

private:
    friend struct detail::buffer_layout;
    iovec iov_{};
};

namespace detail {
// What makes handing a span of buffers to the kernel as iovecs sound. A friend of both buffer
// types, so that offsetof may name their private iovec.
struct buffer_layout {
    template <class Buffer>
    static constexpr bool matches_iovec() noexcept {
        return sizeof(Buffer) == sizeof(iovec) && alignof(Buffer) == alignof(iovec) &&
               std::is_standard_layout_v<Buffer> && std::is_trivially_copyable_v<Buffer> &&
               offsetof(Buffer, iov_) == 0; // so data() and size() sit at iov_base and iov_len
    }
};
} // namespace detail
static_assert(detail::buffer_layout::matches_iovec<const_buffer>(),
              "const_buffer must have the size, alignment and member offsets of iovec");
static_assert(detail::buffer_layout::matches_iovec<mutable_buffer>(),
              "mutable_buffer must have the size, alignment and member offsets of iovec");

namespace detail {
template <class R>
constexpr void check_byte_range() noexcept {
    static_assert(contiguous_sized<R>,
                  "netkit: a buffer must be a contiguous sized range (std::string, std::vector, "
                  "std::array, std::span, a C array...)");
    static_assert(
        std::is_trivially_copyable_v<std::remove_cv_t<element_of<R>>>,
        "netkit: buffer elements must be trivially copyable: the kernel copies their "
        "bytes, which is wrong for types that own memory (std::string, pointers' targets)");
}
} // namespace detail

/// A `const_buffer` over the bytes of a contiguous range of trivially copyable elements.
template <class R>
[[nodiscard]] constexpr const_buffer buffer(const R& range) noexcept {
    detail::check_byte_range<const R&>();
    return {detail::data_of(range), detail::size_of(range) * sizeof(detail::element_of<const R&>)};
}
/// A `mutable_buffer` over a writable range; a const range (or string_view) gives a
/// `const_buffer`, which cannot be received into.
template <class R>
    requires(!std::is_const_v<R>)
[[nodiscard]] constexpr auto buffer(R& range) noexcept {
    detail::check_byte_range<R&>();
    using element = detail::element_of<R&>;
    if constexpr (std::is_const_v<element>) {
        return const_buffer(detail::data_of(range), detail::size_of(range) * sizeof(element));
    } else {
        return mutable_buffer(detail::data_of(range), detail::size_of(range) * sizeof(element));
    }
}
[[nodiscard]] constexpr const_buffer buffer(const_buffer b) noexcept { return b; }
[[nodiscard]] constexpr mutable_buffer buffer(mutable_buffer b) noexcept { return b; }
[[nodiscard]] constexpr const_buffer buffer(const void* data, std::size_t size) noexcept {
    return {data, size};
}
[[nodiscard]] constexpr mutable_buffer buffer(void* data, std::size_t size) noexcept {
    return {data, size};
}

/// A fixed number of buffers stored inline (no allocation): what `gather` and `scatter` build.
/// It is a contiguous range of buffers, so it goes to the kernel as an iovec array as it is.
template <class Buffer, std::size_t N>
class buffer_list {
public:
    /// const_buffer (from `gather`) or mutable_buffer (from `scatter`).
    using value_type = Buffer;

    /// N empty buffers.
    constexpr buffer_list() noexcept = default;
    /// A copy of `buffers` (the buffer descriptors, not the bytes they point to).
    constexpr explicit buffer_list(const std::array<Buffer, N>& buffers) noexcept
        : buffers_(buffers) {}

    /// The first buffer.
    [[nodiscard]] constexpr const Buffer* begin() const noexcept { return buffers_.data(); }
    /// One past the last buffer.
    [[nodiscard]] constexpr const Buffer* end() const noexcept { return buffers_.data() + N; }
    /// The buffers as a contiguous array (an iovec array to the kernel).
    [[nodiscard]] constexpr const Buffer* data() const noexcept { return buffers_.data(); }
    /// The number of buffers, N.
    [[nodiscard]] static constexpr std::size_t size() noexcept { return N; }
    /// The buffer at index `i` (< N, unchecked).
    [[nodiscard]] constexpr const Buffer& operator[](std::size_t i) const noexcept {
        return buffers_[i];
    }

private:
    std::array<Buffer, N> buffers_{};
};

namespace detail {
template <class T>
constexpr const_buffer as_const_buffer(const T& piece) noexcept {
    return buffer(piece);
}
template <class T>
constexpr mutable_buffer as_mutable_buffer(T& piece) noexcept {
    static_assert(!std::is_const_v<T>,
                  "netkit: cannot receive into a const object; pass a writable range");
    if constexpr (std::is_same_v<T, mutable_buffer>) {
        return piece;
    } else {
        static_assert(mutable_byte_range<T&>,
                      "netkit: cannot receive into a read-only range (a std::string_view, "
                      "a span of const, a const container); pass a writable range");
        return buffer(piece);
    }
}
} // namespace detail

/// Buffers over several pieces of data, to go out in one system call:
/// `sock.send_all(netkit::gather(header, body, trailer))`. Built on the stack; the data is not
/// copied, except that a message of small pieces is sent from one stack copy (see `send`).
template <class... Pieces>
[[nodiscard]] constexpr buffer_list<const_buffer, sizeof...(Pieces)>
gather(const Pieces&... pieces) noexcept {
    return buffer_list<const_buffer, sizeof...(Pieces)>({detail::as_const_buffer(pieces)...});
}

/// Buffers over several writable pieces, to be filled in order by one system call (one recvmsg).
/// A piece is a named object or a view (`std::span(&header, 1)`); a temporary container is
/// refused, since it would be gone before the data could be read from it.
template <class... Pieces>
[[nodiscard]] constexpr buffer_list<mutable_buffer, sizeof...(Pieces)>
scatter(Pieces&&... pieces) noexcept {
    static_assert(((std::is_lvalue_reference_v<Pieces> ||
                    std::ranges::enable_borrowed_range<std::remove_cvref_t<Pieces>> ||
                    std::is_same_v<std::remove_cvref_t<Pieces>, mutable_buffer>)&&...),
                  "netkit::scatter: a temporary container would be destroyed before its data is "
                  "read; pass a named object or a view such as std::span");
    return buffer_list<mutable_buffer, sizeof...(Pieces)>({detail::as_mutable_buffer(pieces)...});
}

namespace detail {
template <class B>
constexpr std::size_t length_of(const B& b) noexcept {
    if constexpr (std::is_same_v<std::remove_cv_t<B>, iovec>) {
        return b.iov_len;
    } else {
        return b.size();
    }
}

inline iovec to_iovec(const iovec& v) noexcept { return v; }
inline iovec to_iovec(const const_buffer& b) noexcept {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): iovec has no const form
    return {const_cast<void*>(b.data()), b.size()};
}
inline iovec to_iovec(const mutable_buffer& b) noexcept { return {b.data(), b.size()}; }
} // namespace detail

/// Total bytes in a buffer sequence.
template <buffer_sequence S>
[[nodiscard]] constexpr std::size_t buffer_size(const S& buffers) noexcept {
    std::size_t total = 0;
    for (const auto& b : buffers) {
        total += detail::length_of(b);
    }
    return total;
}

/// A contiguous buffer sequence seen as the kernel sees it, with no copy.
template <buffer_sequence S>
    requires detail::contiguous_sized<const S&>
[[nodiscard]] std::span<const iovec> as_iovecs(const S& buffers) noexcept {
    // Sound because every buffer type is layout-compatible with iovec (asserted above) and only
    // the kernel reads through the result.
    return {reinterpret_cast<const iovec*>(detail::data_of(buffers)), detail::size_of(buffers)};
}

namespace detail {
inline std::size_t iovec_total(std::span<const iovec> iov) noexcept {
    std::size_t total = 0;
    for (const iovec& v : iov) {
        total += v.iov_len;
    }
    return total;
}
} // namespace detail

namespace detail {

/// Iovecs for a buffer sequence: the caller's own array when it is contiguous, else a copy of
/// the descriptors on the stack (non-contiguous sequences, at most `max_buffers_per_call`;
/// `send_all` and `receive_exact` walk longer ones in windows of that size instead).
template <class S>
class iovec_view {
public:
    explicit iovec_view(const S& buffers) noexcept {
        if constexpr (contiguous_sized<const S&>) {
            view_ = as_iovecs(buffers);
        } else {
            std::size_t n = 0;
            for (const auto& b : buffers) {
                if (n == copy_.size()) {
                    overflow_ = true;
                    break;
                }
                copy_[n++] = to_iovec(b);
            }
            view_ = std::span<const iovec>(copy_.data(), n);
        }
    }
    [[nodiscard]] std::span<const iovec> get() const noexcept { return view_; }
    /// A non-contiguous sequence longer than the stack copy holds.
    [[nodiscard]] bool overflow() const noexcept { return overflow_; }

private:
    struct empty {};
    std::span<const iovec> view_;
    bool overflow_ = false;
    [[no_unique_address]] std::conditional_t<contiguous_sized<const S&>, empty,
                                             std::array<iovec, max_buffers_per_call>>
        copy_;
};

/// The iovecs of anything netkit sends: one for a byte range, the sequence's own for a buffer
/// sequence. Buffer sequences too long for one call report `overflow()`.
template <class Data>
class send_iovecs {
public:
    explicit send_iovecs(const Data& data) noexcept : view_(data) {}
    [[nodiscard]] std::span<const iovec> get() const noexcept { return view_.get(); }
    [[nodiscard]] bool overflow() const noexcept {
        return view_.overflow() || get().size() > max_buffers_per_call;
    }

private:
    iovec_view<Data> view_;
};

template <class Data>
    requires(!buffer_sequence<Data>)
class send_iovecs<Data> {
public:
    explicit send_iovecs(const Data& data) noexcept {
        const const_buffer bytes = buffer(data);
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): iovec has no const form
        one_ = {const_cast<void*>(bytes.data()), bytes.size()};
    }
    [[nodiscard]] std::span<const iovec> get() const noexcept { return {&one_, 1}; }
    [[nodiscard]] static constexpr bool overflow() noexcept { return false; }

private:
    iovec one_{};
};

/// The iovecs of anything netkit receives into, refusing read-only data at compile time.
template <class Data>
class receive_iovecs {
public:
    explicit receive_iovecs(Data& data) noexcept : view_(data) {
        static_assert(mutable_buffer_sequence<Data>,
                      "netkit: cannot receive into a sequence of const_buffer; use scatter() or "
                      "mutable_buffer");
    }
    [[nodiscard]] std::span<const iovec> get() const noexcept { return view_.get(); }
    [[nodiscard]] bool overflow() const noexcept {
        return view_.overflow() || get().size() > max_buffers_per_call;
    }

private:
    iovec_view<std::remove_const_t<Data>> view_;
};

template <class Data>
    requires(!buffer_sequence<std::remove_const_t<Data>>)
class receive_iovecs<Data> {
public:
    explicit receive_iovecs(Data& data) noexcept {
        const mutable_buffer bytes = as_mutable_buffer(data);
        one_ = {bytes.data(), bytes.size()};
    }
    [[nodiscard]] std::span<const iovec> get() const noexcept { return {&one_, 1}; }
    [[nodiscard]] static constexpr bool overflow() noexcept { return false; }

private:
    iovec one_{};
};

} // namespace detail

} // namespace netkit
