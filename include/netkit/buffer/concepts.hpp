#pragma once

#include <netkit/detail/toolchain_shims.hpp>

#include <concepts>
#include <cstddef>
#include <type_traits>

#include <sys/uio.h>

namespace netkit {

class const_buffer;
class mutable_buffer;

namespace detail {

// What netkit asks of a range, through std::begin, std::end, std::data and std::size
// (detail/toolchain_shims.hpp): the std::ranges concepts would bring <ranges>, which costs every
// includer more to compile than all of netkit's buffer code. A range is contiguous when its
// iterators are contiguous (pointers among them), or when it has a data() that points at the very
// elements begin() walks: a data() and a size() alone say nothing (an endpoint has both, in bytes
// of a sockaddr), so they never make a range.

/// Something begin() and end() walk.
template <class R>
concept iterable = requires(R& r) {
    std::begin(r);
    std::end(r);
};

/// The element type an iterable's iterator reads, const when the range gives const access.
template <class R>
using iterated_element = std::remove_reference_t<decltype(*std::begin(std::declval<R&>()))>;

/// An iterable whose data() points at the elements its iterators read, and that knows its size.
template <class R>
concept has_data_and_size = iterable<R> && requires(R& r) {
    { std::data(r) } -> std::same_as<std::add_pointer_t<iterated_element<R>>>;
    { std::size(r) } -> std::convertible_to<std::size_t>;
};

/// An iterable whose iterators are contiguous and can be subtracted.
template <class R>
concept contiguously_iterated =
    iterable<R> && std::contiguous_iterator<decltype(std::begin(std::declval<R&>()))> &&
    std::sized_sentinel_for<decltype(std::end(std::declval<R&>())),
                            decltype(std::begin(std::declval<R&>()))>;

/// A range whose elements are one array: a pointer to the first and a count.
template <class R>
concept contiguous_sized = has_data_and_size<R> || contiguously_iterated<R>;

/// A pointer to the first element of a contiguous range (null for an empty one without data()).
template <class R>
constexpr std::add_pointer_t<iterated_element<R>> data_of(R& r) noexcept {
    if constexpr (has_data_and_size<R>) {
        return std::data(r);
    } else if constexpr (std::is_pointer_v<decltype(std::begin(r))>) {
        return std::begin(r);
    } else {
        return std::begin(r) == std::end(r) ? nullptr : detail::address_of(*std::begin(r));
    }
}

/// How many elements a contiguous range holds.
template <class R>
constexpr std::size_t size_of(R& r) noexcept {
    if constexpr (has_data_and_size<R>) {
        return static_cast<std::size_t>(std::size(r));
    } else {
        return static_cast<std::size_t>(std::end(r) - std::begin(r));
    }
}

/// The element type of a contiguous range, const when the range gives const access.
template <class R>
using element_of = std::remove_pointer_t<decltype(data_of(std::declval<R&>()))>;

/// A range that can be walked and counted (a buffer sequence need not be contiguous).
template <class S>
concept sized_iterable = requires(S& s) {
    std::begin(s);
    std::end(s);
    { std::size(s) } -> std::convertible_to<std::size_t>;
};

/// The element type of a range that can be walked, without cv or reference.
template <class S>
using sequence_element = std::remove_cvref_t<decltype(*std::begin(std::declval<S&>()))>;

} // namespace detail

/// A buffer type layout-compatible with `iovec`.
template <class B>
concept buffer_type = std::same_as<std::remove_cv_t<B>, const_buffer> ||
    std::same_as<std::remove_cv_t<B>, mutable_buffer> || std::same_as<std::remove_cv_t<B>, iovec>;

/// A contiguous, sized range of trivially copyable elements: its bytes can go to the kernel as
/// they are (std::string, std::vector<T>, std::array<T, N>, std::span<T>, T[N], ...). A range of
/// buffers is not one: it is a `buffer_sequence`, whose bytes are elsewhere.
template <class R>
concept byte_range = detail::contiguous_sized<R> &&
    std::is_trivially_copyable_v<std::remove_cv_t<detail::element_of<R>>> &&
    !buffer_type<detail::element_of<R>>;

/// A byte range the kernel may write into: its elements are not const (a std::string_view or a
/// const container is not one).
template <class R>
concept mutable_byte_range = byte_range<R> && !std::is_const_v<detail::element_of<R>>;

/// A sequence of buffers: a range whose elements are `const_buffer`, `mutable_buffer` or `iovec`.
/// A contiguous one goes to the kernel as it is; any other is copied into iovecs on the stack.
template <class S>
concept buffer_sequence = detail::sized_iterable<S> && buffer_type<detail::sequence_element<S>>;

/// A sequence of buffers the kernel may write into (no `const_buffer` elements).
template <class S>
concept mutable_buffer_sequence =
    buffer_sequence<S> && !std::same_as<detail::sequence_element<S>, const_buffer>;

namespace detail {

/// Why a send or a receive refuses its data: the first check that fails.
enum class data_refusal {
    none,
    not_a_buffer,
    not_trivially_copyable,
    const_object,
    read_only_range,
    const_buffer_sequence
};

/// The verdict on the data of a send (`Data` as deduced from a `const Data&` parameter).
template <class Data>
consteval data_refusal send_refusal() noexcept {
    using type = std::remove_cvref_t<Data>;
    if constexpr (buffer_sequence<type> || std::same_as<type, const_buffer> ||
                  std::same_as<type, mutable_buffer>) {
        return data_refusal::none;
    } else if constexpr (!contiguous_sized<const type&>) {
        return data_refusal::not_a_buffer;
    } else if constexpr (!std::is_trivially_copyable_v<std::remove_cv_t<element_of<const type&>>>) {
        return data_refusal::not_trivially_copyable;
    } else {
        return data_refusal::none;
    }
}

/// The verdict on the target of a receive (`Data` as deduced from a `Data&&` parameter).
template <class Data>
consteval data_refusal receive_refusal() noexcept {
    using type = std::remove_reference_t<Data>;
    if constexpr (buffer_sequence<std::remove_cv_t<type>>) {
        return mutable_buffer_sequence<std::remove_cv_t<type>>
                   ? data_refusal::none
                   : data_refusal::const_buffer_sequence;
    } else if constexpr (std::is_const_v<type>) {
        return data_refusal::const_object;
    } else if constexpr (std::same_as<type, mutable_buffer>) {
        return data_refusal::none;
    } else if constexpr (std::same_as<type, const_buffer>) {
        return data_refusal::read_only_range;
    } else if constexpr (!contiguous_sized<type&>) {
        return data_refusal::not_a_buffer;
    } else if constexpr (!std::is_trivially_copyable_v<std::remove_cv_t<element_of<type&>>>) {
        return data_refusal::not_trivially_copyable;
    } else if constexpr (!mutable_byte_range<type&>) {
        return data_refusal::read_only_range;
    } else {
        return data_refusal::none;
    }
}

} // namespace detail

/// What the send functions take: a byte range, a `const_buffer` or `mutable_buffer`, or a buffer
/// sequence. Anything else is refused with a sentence that says what is wrong with it.
template <class Data>
concept sendable_data = detail::send_refusal<Data>()
== detail::data_refusal::none;

/// What the receive functions write into: a writable byte range, a `mutable_buffer`, or a
/// sequence of buffers that are not `const_buffer`. A const object, a read-only view or a range
/// of non-trivially-copyable elements is refused with a sentence that names it.
template <class Data>
concept receive_target = detail::receive_refusal<Data>()
== detail::data_refusal::none;

} // namespace netkit
