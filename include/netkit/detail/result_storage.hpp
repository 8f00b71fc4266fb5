#pragma once

// result<T>'s storage and the rules it shares with std::expected (which values it holds, which
// conversions it accepts, what the monadic operations require), apart from its interface.

#include <netkit/core/error.hpp>
#include <netkit/detail/toolchain_shims.hpp>

#include <new>
#include <type_traits>
#include <utility>

namespace netkit {

template <class T>
class result;

namespace detail {

// What result needs of <functional> and <memory>, without their weight (together about a third
// of what <netkit/netkit.hpp> costs to compile): std::invoke, for callables and for pointers to
// members applied to the value, a pointer to it, a smart pointer or a reference_wrapper, and
// std::construct_at.
template <class Member>
struct member_class;
template <class M, class C>
struct member_class<M C::*> {
    using type = C;
};

// The object a pointer to a member of C is applied to: the value itself (or one derived from
// C), what converts to C& (a reference_wrapper), or what dereferences to it (a pointer).
template <class C, class Object>
constexpr decltype(auto) member_target(Object&& object) noexcept {
    if constexpr (std::is_base_of_v<C, std::remove_cvref_t<Object>>) {
        return std::forward<Object>(object);
    } else if constexpr (convertible<Object, C&> || convertible<Object, const C&>) {
        using target = std::conditional_t<convertible<Object, C&>, C&, const C&>;
        return static_cast<target>(object);
    } else {
        return *std::forward<Object>(object);
    }
}

template <class F, class... Args>
constexpr decltype(auto) invoke(F&& f,
                                Args&&... args) noexcept(std::is_nothrow_invocable_v<F, Args...>) {
    using member = std::remove_cvref_t<F>;
    if constexpr (std::is_member_function_pointer_v<member>) {
        using C = typename member_class<member>::type;
        return [&](auto&& object, auto&&... rest) -> decltype(auto) {
            return (member_target<C>(std::forward<decltype(object)>(object)).*
                    f)(std::forward<decltype(rest)>(rest)...);
        }(std::forward<Args>(args)...);
    } else if constexpr (std::is_member_object_pointer_v<member>) {
        using C = typename member_class<member>::type;
        return [&](auto&& object) -> decltype(auto) {
            return (member_target<C>(std::forward<decltype(object)>(object)).*f);
        }(std::forward<Args>(args)...);
    } else {
        return std::forward<F>(f)(std::forward<Args>(args)...);
    }
}

// Placement new through a void pointer with const and volatile cast away, as std::construct_at
// does, so that a result<const T> can be built too.
template <class T, class... Args>
void construct(T* where, Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
    ::new (const_cast<void*>(static_cast<const volatile void*>(where)))
        T(std::forward<Args>(args)...);
}

template <class R>
inline constexpr bool is_result = false;
template <class T>
inline constexpr bool is_result<result<T>> = true;

// What std::expected refuses to hold as a value.
template <class T>
inline constexpr bool valid_result_value =
    !std::is_reference_v<T> && !std::is_array_v<T> && !std::is_function_v<T> &&
    !std::is_same_v<std::remove_cv_t<T>, std::in_place_t> &&
    !std::is_same_v<std::remove_cv_t<T>, failure> &&
    !std::is_same_v<std::remove_cv_t<T>, netkit::error>;

// The value constructor's constraints, as [expected.object.cons] states them.
template <class T, class U>
concept result_value_source =
    !std::is_same_v<std::remove_cvref_t<U>, std::in_place_t> &&
    !is_result<std::remove_cvref_t<U>> && !std::is_same_v<std::remove_cvref_t<U>, failure> &&
    constructible<T, U> &&
    (!std::is_same_v<std::remove_cv_t<T>, bool> || !is_result<std::remove_cvref_t<U>>);

// The converting constructor's (from result<U>): T must not be buildable from the result itself,
// or `result<std::any>(result<int>)` would have two meanings.
template <class T, class U, class Source>
concept result_conversion_source =
    !std::is_same_v<T, U> && std::is_constructible_v<T, Source> &&
    (std::is_same_v<std::remove_cv_t<T>, bool> ||
     (!std::is_constructible_v<T, result<U>&> && !std::is_constructible_v<T, result<U>> &&
      !std::is_constructible_v<T, const result<U>&> &&
      !std::is_constructible_v<T, const result<U>> && !convertible<result<U>&, T> &&
      !convertible<result<U>, T> && !convertible<const result<U>&, T> &&
      !convertible<const result<U>, T>));

// result<T>'s storage, in two forms: when T is trivially copyable (which, for a destructible T,
// the only kind a result can hold, means a trivial destructor too) every special member is
// defaulted, so result<std::size_t> is returned as cheaply as a size and a flag; other T get
// hand-written ones. (Two bases rather than constrained special members because clang 14 does
// not implement conditionally trivial special members.)
template <class T, bool Trivial = trivially_copyable<T>>
struct result_base {
    template <class... Args>
    constexpr explicit result_base(std::in_place_t, Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args&&...>)
        : value_(std::forward<Args>(args)...),
          has_value_(true) {}
    explicit result_base(const netkit::error& e) noexcept : error_(e) {}

    // Only called where nothing is alive (a constructor) or T is nothrow-constructible.
    template <class... Args>
    void emplace(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args&&...>) {
        detail::construct(&value_, std::forward<Args>(args)...);
        has_value_ = true;
    }

    union {
        T value_;
        netkit::error error_;
    };
    bool has_value_ = false;
};

template <class T>
struct result_base<T, false> {
    template <class... Args>
    explicit result_base(std::in_place_t,
                         Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args&&...>)
        : value_(std::forward<Args>(args)...),
          has_value_(true) {}
    explicit result_base(const netkit::error& e) noexcept : error_(e) {}

    result_base(const result_base& other) noexcept(std::is_nothrow_copy_constructible_v<T>)
        : has_value_(other.has_value_) {
        if (has_value_) {
            detail::construct(&value_, other.value_);
        } else {
            detail::construct(&error_, other.error_);
        }
    }
    result_base(result_base&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : has_value_(other.has_value_) {
        if (has_value_) {
            detail::construct(&value_, std::move(other.value_));
        } else {
            detail::construct(&error_, other.error_);
        }
    }
    // Assignment keeps *this valid if copying T throws: the new value is made before the old
    // state is given up, and `has_value_` always tells which member is alive.
    result_base& operator=(const result_base& other) {
        if (this != &other) {
            if (other.has_value_) {
                assign_value(other.value_);
            } else {
                assign_error(other.error_);
            }
        }
        return *this;
    }
    result_base& operator=(result_base&& other) noexcept(
        std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_move_assignable_v<T>) {
        if (this != &other) {
            if (other.has_value_) {
                assign_value(std::move(other.value_));
            } else {
                assign_error(other.error_);
            }
        }
        return *this;
    }
    ~result_base() { destroy(); }

    void destroy() noexcept {
        if (has_value_) {
            value_.~T();
        }
    }

    // Only called where nothing is alive (a constructor) or T is nothrow-constructible.
    template <class... Args>
    void emplace(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args&&...>) {
        destroy();
        has_value_ = false;
        detail::construct(&value_, std::forward<Args>(args)...);
        has_value_ = true;
    }

    template <class U>
    void assign_value(U&& value) {
        if (has_value_) {
            value_ = std::forward<U>(value);
            return;
        }
        if constexpr (std::is_nothrow_constructible_v<T, U&&>) {
            detail::construct(&value_, std::forward<U>(value));
        } else {
            // Build it aside first: a throwing copy must leave the error in place.
            T made(std::forward<U>(value));
            static_assert(std::is_nothrow_move_constructible_v<T>,
                          "netkit: result<T> needs T to be nothrow-move-constructible or "
                          "nothrow-constructible from what is assigned");
            detail::construct(&value_, std::move(made));
        }
        has_value_ = true;
    }
    void assign_error(const netkit::error& e) noexcept {
        destroy();
        detail::construct(&error_, e);
        has_value_ = false;
    }

    union {
        T value_;
        netkit::error error_;
    };
    bool has_value_ = false;
};

// Deletes result's copy operations where T's are missing, as std::expected's are; an empty base,
// so it costs no space, and trivial where T's are, so it keeps result<std::size_t> trivial.
template <bool CopyConstructible, bool CopyAssignable>
struct copy_gate {};
template <>
struct copy_gate<true, false> {
    copy_gate() = default;
    copy_gate(const copy_gate&) = default;
    copy_gate(copy_gate&&) = default;
    copy_gate& operator=(const copy_gate&) = delete;
    copy_gate& operator=(copy_gate&&) = default;
    ~copy_gate() = default;
};
template <bool CopyAssignable>
struct copy_gate<false, CopyAssignable> {
    copy_gate() = default;
    copy_gate(const copy_gate&) = delete;
    copy_gate(copy_gate&&) = default;
    copy_gate& operator=(const copy_gate&) = delete;
    copy_gate& operator=(copy_gate&&) = default;
    ~copy_gate() = default;
};
template <class T>
using copy_gate_for =
    copy_gate<constructible<T, const T&>, constructible<T, const T&> && assignable<T&, const T&>>;

// What std::expected "Mandates" of the functions given to its monadic operations. Each is checked
// by a static_assert with a sentence at the top of the operation, and the rest of its body is
// compiled only when the check holds, so that the sentence is the first error a user reads.
template <class R>
inline constexpr bool and_then_returns_result = is_result<R>;
template <class R, class T>
inline constexpr bool or_else_returns_same_result = std::is_same_v<R, result<T>>;
template <class E>
inline constexpr bool transform_error_returns_error = std::is_same_v<E, netkit::error>;
template <class U>
inline constexpr bool transform_returns_value = std::is_void_v<U> || valid_result_value<U>;
} // namespace detail

} // namespace netkit
