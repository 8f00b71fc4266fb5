#pragma once

// The type traits result<T> asks of every T, answered by the compiler's built-ins where it has
// them. libstdc++ 12 builds std::is_constructible_v, is_copy_constructible_v and
// is_trivially_copyable_v from chains of class templates, each instantiated for every T it is
// asked about; the built-ins give the same answers with no instantiation at all. Elsewhere they
// are the standard traits.

#include <type_traits>

namespace netkit::detail {

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

} // namespace netkit::detail
