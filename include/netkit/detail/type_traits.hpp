#pragma once

// The type traits result<T> asks of every T, answered by the compiler's built-ins where it has
// them. libstdc++ 12 builds std::is_constructible_v, is_copy_constructible_v,
// is_trivially_copyable_v and is_convertible_v from chains of class templates, each
// instantiated for every T it is asked about; the built-ins give the same answers with no
// instantiation at all. Elsewhere they are the standard traits, except `convertible`, which g++
// 12 has no built-in for: a requires-expression that copy-initialises a parameter of type To
// from a From&& answers what std::is_convertible_v<From, To> answers for every type a result
// holds (not for void, arrays, functions or abstract classes, which it never holds).

#include <type_traits>
#include <utility>

namespace netkit::detail {

#if defined(__has_builtin)
#if __has_builtin(__is_constructible) && __has_builtin(__is_assignable) &&                         \
    __has_builtin(__is_trivially_copyable)
#define NETKIT_DETAIL_TRAIT_BUILTINS 1
#endif
#endif

template <class To>
void accept_implicitly(To) noexcept; // declared only: asked about in unevaluated operands

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

} // namespace netkit::detail
