#pragma once

// The few algorithms netkit's headers need, so that they need not include <algorithm>: with
// libstdc++ 12 and C++20 it is the heaviest standard header they reached (the ranges algorithms,
// the parallel ones' declarations), and every user of <netkit/netkit.hpp> paid for it to get a
// minimum, a maximum and a copy.

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace netkit::detail {

// By value, not by reference as std::min: the arguments are numbers, often temporaries, and a
// reference to one would dangle past the full expression. Ties give the first, as std::min.
template <class T>
[[nodiscard]] constexpr T min_of(const T& a, const T& b) noexcept {
    return b < a ? b : a;
}
// Ties give the first, as std::max.
template <class T>
[[nodiscard]] constexpr T max_of(const T& a, const T& b) noexcept {
    return a < b ? b : a;
}

// memmove, as libstdc++'s std::copy does for trivially copyable elements (a loop during constant
// evaluation, where memmove is not allowed). Returns the end of the copy.
template <class T>
constexpr T* copy_elements(const T* from, std::size_t count, T* to) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    if (std::is_constant_evaluated()) {
        for (std::size_t i = 0; i < count; ++i) {
            to[i] = from[i];
        }
    } else if (count != 0) { // from may be null when count is 0, and memmove's may not
        std::memmove(to, from, count * sizeof(T));
    }
    return to + count;
}

} // namespace netkit::detail
