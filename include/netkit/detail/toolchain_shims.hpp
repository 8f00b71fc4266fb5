#pragma once

// netkit's toolchain shims: the only place where netkit's headers reach into a standard
// library's internal headers or a compiler's built-ins, each with a fallback to the public
// standard form that every other toolchain gets (the libcxx gate, clang 14 with libc++, compiles
// the fallbacks). Why each is worth a reader's time, with its measured gain: docs/design.md,
// "Toolchain shims".
//
// 1. Durations, time points, clocks and floor/ceil: libstdc++'s <bits/chrono.h> instead of
//    <chrono>, which in C++20 also brings the calendar, time zones and stream output.
// 2. std::begin/end/data/size, the iterator concepts and ranges::enable_borrowed_range:
//    libstdc++'s three headers below instead of <iterator>, which also brings the stream
//    iterators.
// 3. The type traits result<T> asks of every T: the compiler's built-ins instead of the class
//    template chains of <type_traits>.
// 4. std::addressof without <memory>: the built-in that g++ and clang both have.
// 5. Acquire loads and release stores on memory the kernel shares (io_uring's ring indexes):
//    std::atomic_ref where the standard library has it (detail/kernel_shared.hpp), the __atomic
//    built-ins that std::atomic_ref is made of where it does not (libc++ before 19).

#include <version>

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif

#if defined(__GLIBCXX__) && __has_include(<bits/range_access.h>) &&                            \
    __has_include(<bits/ranges_base.h>) && __has_include(<bits/stl_iterator_base_types.h>)
#include <bits/range_access.h>
#include <bits/ranges_base.h>
#include <bits/stl_iterator_base_types.h>
#else
#include <iterator>
#endif

#include <type_traits>
#include <utility>

namespace netkit::detail {

template <class To>
void accept_implicitly(To) noexcept; // declared only: asked about in unevaluated operands

// `convertible` answers what std::is_convertible_v<From, To> answers for every type a result
// holds (not void, arrays, functions or abstract classes, which it never holds); g++ 12 has no
// built-in for it, so there a requires-expression copy-initialises a parameter of type To.
#if defined(__has_builtin)
#if __has_builtin(__is_convertible)
template <class From, class To>
inline constexpr bool convertible = __is_convertible(From, To);
#define NETKIT_DETAIL_HAS_CONVERTIBLE 1
#endif
#endif
#ifndef NETKIT_DETAIL_HAS_CONVERTIBLE
template <class From, class To>
inline constexpr bool convertible = requires {
    detail::accept_implicitly<To>(std::declval<From>());
};
#endif
#undef NETKIT_DETAIL_HAS_CONVERTIBLE

#if defined(__has_builtin)
#if __has_builtin(__is_constructible) && __has_builtin(__is_assignable) &&                         \
    __has_builtin(__is_trivially_copyable)
#define NETKIT_DETAIL_TRAIT_BUILTINS 1
#endif
#endif
#ifdef NETKIT_DETAIL_TRAIT_BUILTINS
template <class T, class... Args>
inline constexpr bool constructible = __is_constructible(T, Args...);
template <class T, class U>
inline constexpr bool assignable = __is_assignable(T, U);
template <class T>
inline constexpr bool trivially_copyable = __is_trivially_copyable(T);
#else
template <class T, class... Args>
inline constexpr bool constructible = std::is_constructible_v<T, Args...>;
template <class T, class U>
inline constexpr bool assignable = std::is_assignable_v<T, U>;
template <class T>
inline constexpr bool trivially_copyable = std::is_trivially_copyable_v<T>;
#endif
#undef NETKIT_DETAIL_TRAIT_BUILTINS

template <class T>
constexpr T* address_of(T& object) noexcept {
    return __builtin_addressof(object);
}

#if !defined(__cpp_lib_atomic_ref)
template <class T>
T builtin_load_acquire(T* where) noexcept {
    return __atomic_load_n(where, __ATOMIC_ACQUIRE);
}
template <class T>
T builtin_load_relaxed(T* where) noexcept {
    return __atomic_load_n(where, __ATOMIC_RELAXED);
}
template <class T>
void builtin_store_release(T* where, T value) noexcept {
    __atomic_store_n(where, value, __ATOMIC_RELEASE);
}
#endif

} // namespace netkit::detail
