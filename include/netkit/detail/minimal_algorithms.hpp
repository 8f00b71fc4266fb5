#pragma once

// The few algorithms netkit's headers need, so that they need not include <algorithm>: with
// libstdc++ 12 and C++20 it is the heaviest standard header they reached (the ranges algorithms,
// the parallel ones' declarations), and every user of <netkit/netkit.hpp> paid for it to get a
// minimum, a maximum, a copy and a binary heap.

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

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

// A binary heap over first[0, size) with std::push_heap's and std::pop_heap's contract (the
// greatest by less(a, b) first) and libstdc++'s exact steps, so that elements that compare equal
// come out in the order they did with <algorithm>'s heap. tests/unit/minimal_algorithms.cpp
// compares the two.

// Moves value up from hole towards the root, past every parent less than it.
template <class T, class Less>
constexpr void heap_sift_up(T* first, std::size_t hole, T value, Less& less) {
    while (hole > 0) {
        const std::size_t parent = (hole - 1) / 2;
        if (!less(first[parent], value)) {
            break;
        }
        first[hole] = std::move(first[parent]);
        hole = parent;
    }
    first[hole] = std::move(value);
}

// first[size - 1] has just been added; makes first[0, size) a heap again.
template <class T, class Less>
constexpr void heap_push(T* first, std::size_t size, Less less) {
    if (size > 1) {
        T value = std::move(first[size - 1]);
        heap_sift_up(first, size - 1, std::move(value), less);
    }
}

// Moves the first element to first[size - 1] and makes first[0, size - 1) a heap: the hole left
// at the root goes down to a leaf along the greater children, then the old last element goes up
// from there (fewer comparisons than sifting it down, as the last element is likely small).
template <class T, class Less>
constexpr void heap_pop(T* first, std::size_t size, Less less) {
    if (size < 2) {
        return;
    }
    const std::size_t len = size - 1;
    T value = std::move(first[len]);
    first[len] = std::move(first[0]);
    std::size_t hole = 0;
    std::size_t child = 0;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (less(first[child], first[child - 1])) {
            --child;
        }
        first[hole] = std::move(first[child]);
        hole = child;
    }
    if ((len & 1U) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        first[hole] = std::move(first[child - 1]);
        hole = child - 1;
    }
    heap_sift_up(first, hole, std::move(value), less);
}

} // namespace netkit::detail
