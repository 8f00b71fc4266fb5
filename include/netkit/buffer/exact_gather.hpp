#pragma once

// The opt-out of the adaptive send: a buffer sequence that goes to the kernel as the very iovecs
// it names, whatever their sizes (see docs/design.md, "Small fragments are copied, large ones
// gathered").

#include <netkit/buffer/concepts.hpp>
#include <netkit/detail/toolchain_shims.hpp>

#include <cstddef>
#include <type_traits>

namespace netkit {

/// A buffer sequence sent exactly as given: its own iovecs go to the kernel (sendmsg(2), or
/// send(2) for a single buffer), never a copy of small fragments into one buffer (what netkit
/// otherwise does for a message of small fragments, since that is faster). For measuring
/// gather itself, or for a filter or a tool that must see the iovecs as they are. Made by
/// `exact_gather`.
template <class Holder>
class exact_gather_view {
public:
    /// Over `buffers`: a pointer to a container, or a copy of a small trivially copyable sequence.
    constexpr explicit exact_gather_view(Holder buffers) noexcept : buffers_(buffers) {}
    /// The first buffer of the sequence.
    [[nodiscard]] constexpr auto begin() const noexcept { return std::begin(sequence()); }
    /// One past the last buffer.
    [[nodiscard]] constexpr auto end() const noexcept { return std::end(sequence()); }
    /// The number of buffers.
    [[nodiscard]] constexpr std::size_t size() const noexcept {
        return static_cast<std::size_t>(std::size(sequence()));
    }

private:
    constexpr const auto& sequence() const noexcept {
        if constexpr (std::is_pointer_v<Holder>) {
            return *buffers_;
        } else {
            return buffers_;
        }
    }
    Holder buffers_;
};

/// `buffers`, to be sent exactly as given: `sock.send_all(netkit::exact_gather(pieces))`. A span,
/// what `netkit::gather` returns, or another small trivially copyable sequence is copied, so
/// the view does not depend on it (only on the bytes); a container is viewed and must outlive
/// the view; a temporary container is refused, since it would be destroyed before the send.
template <class S>
[[nodiscard]] constexpr auto exact_gather(S&& buffers) noexcept {
    using sequence = std::remove_cvref_t<S>;
    static_assert(buffer_sequence<sequence>,
                  "netkit::exact_gather: pass a sequence of const_buffer, mutable_buffer or iovec");
    constexpr bool small_value = std::is_trivially_copyable_v<sequence> && sizeof(sequence) <= 64;
    if constexpr (small_value ||
                  (!std::is_lvalue_reference_v<S> && std::is_trivially_copyable_v<sequence>)) {
        return exact_gather_view<sequence>(buffers);
    } else if constexpr (std::is_lvalue_reference_v<S>) {
        return exact_gather_view<const sequence*>(&buffers);
    } else {
        static_assert(std::is_trivially_copyable_v<sequence>,
                      "netkit::exact_gather: a temporary container would be destroyed before it "
                      "is sent; pass a named sequence");
        return exact_gather_view<sequence>(buffers);
    }
}

namespace detail {
template <class T>
inline constexpr bool is_exact_gather = false;
template <class Holder>
inline constexpr bool is_exact_gather<exact_gather_view<Holder>> = true;

/// Whether a send of `Data` may copy small fragments into one buffer: buffer sequences unless
/// wrapped in `exact_gather` (a byte range is one buffer already).
template <class Data>
inline constexpr bool may_coalesce = buffer_sequence<Data> && !is_exact_gather<Data>;
} // namespace detail

} // namespace netkit
