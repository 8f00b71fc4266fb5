#pragma once

// In a function that is not a template, netkit builds a std::span from a pointer and a length
// only from a pointer to const, through this. std::span's constructor checks the iterator
// concepts for the pointer's type, and checks them again for each new type; there, every file
// that includes <netkit/netkit.hpp> pays for that whether it calls the function or not, so the
// pointer types stay the two the API needs views of anyway (const iovec, const std::byte).
// Templates may build spans of other types: only a program that uses them pays.

#include <cstddef>
#include <span>

namespace netkit::detail {

/// `count` elements from `first`, read-only.
template <class T>
[[nodiscard]] constexpr std::span<const T> const_view(const T* first, std::size_t count) noexcept {
    return {first, count};
}

} // namespace netkit::detail
