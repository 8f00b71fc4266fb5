#pragma once

// The part of a forward iterator that every one writes the same way.

#include <netkit/detail/toolchain_shims.hpp>

#include <cstddef>

namespace netkit::detail {

/// The base of a forward iterator `Derived` over values of type `Value`: the member types the
/// iterator concepts read, and the postfix increment, made from `Derived`'s prefix one.
/// `Derived` defines `*`, the prefix `++` and `==`, and names this postfix `++` with
/// `using forward_iterator::operator++;`, since its own `operator++` hides the base's.
template <class Derived, class Value>
class forward_iterator {
public:
    using value_type = Value;                            ///< what `*` returns
    using difference_type = std::ptrdiff_t;              ///< as forward iterators require
    using iterator_category = std::forward_iterator_tag; ///< a forward iterator

    /// Moves to the next element; returns the iterator as it was.
    Derived operator++(int) noexcept {
        Derived before = static_cast<Derived&>(*this);
        ++static_cast<Derived&>(*this);
        return before;
    }
};

} // namespace netkit::detail
