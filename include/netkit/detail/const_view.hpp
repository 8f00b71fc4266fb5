#pragma once

// Every std::span netkit builds from a pointer and a length is built from a pointer to const.
// std::span's constructor checks the iterator concepts for the pointer's type, and checks them
// again for each new type: in a function that is not a template, every file that includes
// <netkit/netkit.hpp> pays for that whether it calls the function or not, so netkit keeps the set
// of pointer types to the few the API needs views of anyway.

#include <cstddef>
#include <span>

namespace netkit::detail {

/// `count` elements from `first`, read-only.
template <class T>
[[nodiscard]] constexpr std::span<const T> const_view(const T* first, std::size_t count) noexcept {
    return {first, count};
}

} // namespace netkit::detail
