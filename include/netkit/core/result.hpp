#pragma once

#include <netkit/core/error.hpp>
#include <netkit/detail/result_storage.hpp>

#include <type_traits>
#include <utility>

namespace netkit {

template <class T>
class result;

/// A value of type T or an `error`: the return type of every operation that can fail.
///
/// It reads and behaves as C++23 `std::expected<T, netkit::error>` for every member the two
/// share (construction and its constraints, `has_value`, `operator bool`, `value`, `error`,
/// `value_or`, `error_or`, `*`, `->`, `emplace`, `and_then`, `transform`, `or_else`,
/// `transform_error`, `==`), with two deliberate differences: `value()` throws
/// `operation_failed` (a `std::system_error` naming the operation and the endpoint), and
/// `value()` and `*` of a temporary return T, not T&&. It is always netkit's own type, so it means
/// the same in every translation unit whatever language version each is built with.
///
/// @par Example
/// @code
/// auto sock = netkit::tcp::socket::connect(ep);
/// if (!sock) { log(sock.error().message()); return; }
/// sock->send_all(data).value(); // throws netkit::operation_failed on error
/// @endcode
template <class T>
class [[nodiscard]] result : private detail::result_base<T>, private detail::copy_gate_for<T> {
    static_assert(detail::valid_result_value<T>,
                  "netkit: result<T> holds a value: not a reference (return a pointer), an "
                  "array, in_place_t, failure or error");
    using base = detail::result_base<T>;

    template <class>
    friend class result;

public:
    /// The type of the value.
    using value_type = T;
    /// The type of the error: always netkit::error.
    using error_type = netkit::error;
    /// The result of another value type, as std::expected::rebind.
    template <class U>
    using rebind = result<U>;

    // NOLINTBEGIN(google-explicit-constructor,hicpp-explicit-conversions,bugprone-forwarding-reference-overload):
    // implicit where std::expected is, explicit where it is

    /// A value-initialised T, as `std::expected` does.
    constexpr result() noexcept(
        std::is_nothrow_default_constructible_v<T>) requires std::is_default_constructible_v<T>
        : base(std::in_place) {}

    /// The value, built from `value`; explicit when U does not convert to T implicitly, so that
    /// `result<std::vector<int>> r = 5;` does not compile.
    template <class U = T>
        requires detail::result_value_source<T, U>
    constexpr explicit(!detail::convertible<U, T>)
        result(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>)
        : base(std::in_place, std::forward<U>(value)) {}

    /// The value, built in place from `args`.
    template <class... Args>
        requires std::is_constructible_v<T, Args...>
    constexpr explicit result(std::in_place_t, Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args&&...>)
        : base(std::in_place, std::forward<Args>(args)...) {}

    /// The failure.
    result(failure f) noexcept : base(f.error) {}

    /// From a result of another value type, converting its value.
    template <class U>
        requires detail::result_conversion_source<T, U, const U&>
    explicit(!detail::convertible<const U&, T>) result(const result<U>& other)
        : base(other.error_) {
        if (other.has_value_) {
            base::emplace(other.value_);
        }
    }
    template <class U>
        /// From a temporary result of another value type, moving its value.
        requires detail::result_conversion_source<T, U, U>
    explicit(!detail::convertible<U, T>) result(result<U>&& other) : base(other.error_) {
        if (other.has_value_) {
            base::emplace(std::move(other.value_));
        }
    }
    // NOLINTEND(google-explicit-constructor,hicpp-explicit-conversions,bugprone-forwarding-reference-overload)

    /// True when it holds a value.
    [[nodiscard]] constexpr bool has_value() const noexcept { return this->has_value_; }
    /// True when it holds a value.
    constexpr explicit operator bool() const noexcept { return this->has_value_; }

    /// The value; throws `operation_failed` (a `std::system_error`) if there is none.
    constexpr T& value() & {
        throw_if_error();
        return this->value_;
    }
    /// The value of a const result; throws `operation_failed` if there is none.
    constexpr const T& value() const& {
        throw_if_error();
        return this->value_;
    }
    /// On a temporary the value is moved out and returned by value, so that
    /// `for (auto& e : netkit::resolve(...).value())` iterates a live object, not a reference
    /// into a destroyed result.
    constexpr T value() && {
        throw_if_error();
        return std::move(this->value_);
    }

    /// The value, or `fallback` converted to T. As for `std::expected`, the fallback must convert
    /// to T implicitly: `result<std::vector<int>>::value_or(3)` does not compile.
    template <class U>
    constexpr T value_or(U&& fallback) const& {
        static_assert(std::is_copy_constructible_v<T> && std::is_convertible_v<U&&, T>,
                      "netkit: value_or needs a fallback that converts to the value type "
                      "implicitly, as std::expected::value_or does");
        return this->has_value_ ? this->value_ : static_cast<T>(std::forward<U>(fallback));
    }
    /// value_or on a temporary: the value is moved out.
    template <class U>
    constexpr T value_or(U&& fallback) && {
        static_assert(std::is_move_constructible_v<T> && std::is_convertible_v<U&&, T>,
                      "netkit: value_or needs a fallback that converts to the value type "
                      "implicitly, as std::expected::value_or does");
        return this->has_value_ ? std::move(this->value_)
                                : static_cast<T>(std::forward<U>(fallback));
    }

    /// The error; only meaningful when `!has_value()`.
    [[nodiscard]] constexpr const netkit::error& error() const noexcept { return this->error_; }
    /// The error, or `fallback` when there is a value.
    [[nodiscard]] netkit::error error_or(const netkit::error& fallback) const noexcept {
        return this->has_value_ ? fallback : this->error_;
    }

    /// The value, unchecked: only when `has_value()`.
    constexpr T& operator*() & noexcept { return this->value_; }
    /// The value of a const result, unchecked.
    constexpr const T& operator*() const& noexcept { return this->value_; }
    /// The value of a temporary, moved out, unchecked.
    constexpr T operator*() && noexcept(std::is_nothrow_move_constructible_v<T>) {
        return std::move(this->value_);
    }
    /// Member access to the value, unchecked.
    constexpr T* operator->() noexcept { return &this->value_; }
    /// Member access to the value of a const result, unchecked.
    constexpr const T* operator->() const noexcept { return &this->value_; }

    /// Replaces the content with a T built from `args`.
    template <class... Args>
    requires std::is_nothrow_constructible_v<T, Args...> T& emplace(Args&&... args) noexcept {
        base::emplace(std::forward<Args>(args)...);
        return this->value_;
    }

    // ---- monadic operations, as std::expected's ----------------------------------------------

    /// f(value) when there is a value (f returns a `result<U>`), else this error as a `result<U>`.
    template <class F>
    constexpr auto and_then(F&& f) & {
        return and_then_impl(*this, std::forward<F>(f));
    }
    /// and_then on a const result: f gets the value by const reference.
    template <class F>
    constexpr auto and_then(F&& f) const& {
        return and_then_impl(*this, std::forward<F>(f));
    }
    /// and_then on a temporary: f gets the value moved out.
    template <class F>
    constexpr auto and_then(F&& f) && {
        return and_then_impl(std::move(*this), std::forward<F>(f));
    }

    /// `result<U>` holding f(value) when there is a value, else this error.
    template <class F>
    constexpr auto transform(F&& f) & {
        return transform_impl(*this, std::forward<F>(f));
    }
    /// transform on a const result: f gets the value by const reference.
    template <class F>
    constexpr auto transform(F&& f) const& {
        return transform_impl(*this, std::forward<F>(f));
    }
    /// transform on a temporary: f gets the value moved out.
    template <class F>
    constexpr auto transform(F&& f) && {
        return transform_impl(std::move(*this), std::forward<F>(f));
    }

    /// This result when it holds a value, else f(error) (f returns a `result<T>`).
    template <class F>
    constexpr result or_else(F&& f) const& {
        return or_else_impl(*this, std::forward<F>(f));
    }
    /// or_else on a temporary: the value, if any, is moved into the result returned.
    template <class F>
    constexpr result or_else(F&& f) && {
        return or_else_impl(std::move(*this), std::forward<F>(f));
    }

    /// This result with f(error) in place of its error (f returns a netkit::error), for
    /// instance to name a higher-level operation.
    template <class F>
    constexpr result transform_error(F&& f) const& {
        return transform_error_impl(*this, std::forward<F>(f));
    }
    /// transform_error on a temporary: the value, if any, is moved into the result returned.
    template <class F>
    constexpr result transform_error(F&& f) && {
        return transform_error_impl(std::move(*this), std::forward<F>(f));
    }

    // ---- comparison ---------------------------------------------------------------------------

    /// Equal when both hold equal values or both hold equal errors.
    template <class U>
    friend constexpr bool operator==(const result& a, const result<U>& b) {
        if (a.has_value() != b.has_value()) {
            return false;
        }
        return a.has_value() ? static_cast<bool>(*a == *b) : a.error() == b.error();
    }
    /// Equal when it holds a value equal to `v`. (std::expected takes any T2 here; a T, which
    /// other types convert to, keeps unconstrained operator== templates of other libraries,
    /// such as test frameworks' expression captures, from recursing through this one.)
    friend constexpr bool operator==(const result& a, const T& v) {
        return a.has_value() && static_cast<bool>(*a == v);
    }
    /// Equal when it holds an error equal to `f.error`.
    friend bool operator==(const result& a, const failure& f) noexcept {
        return !a.has_value() && a.error() == f.error;
    }

private:
    constexpr void throw_if_error() const {
        if (!this->has_value_) [[unlikely]] {
            throw operation_failed(this->error_);
        }
    }

    // Each checks what std::expected mandates of f with a sentence, then compiles the rest only
    // when the check holds, so that the sentence is the first error a user reads.
    template <class Self, class F>
    static constexpr auto and_then_impl(Self&& self, F&& f) {
        using R = std::remove_cvref_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
        static_assert(detail::and_then_returns_result<R>,
                      "netkit: the function given to and_then must return a netkit::result (use "
                      "transform for a plain value)");
        if constexpr (detail::and_then_returns_result<R>) {
            if (self.has_value_) {
                return R(detail::invoke(std::forward<F>(f), *std::forward<Self>(self)));
            }
            return R(failure{self.error_});
        }
    }
    template <class Self, class F>
    static constexpr auto transform_impl(Self&& self, F&& f) {
        using U = std::remove_cv_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
        static_assert(detail::transform_returns_value<U>,
                      "netkit: the function given to transform must return a value a result can "
                      "hold (not a reference, an array, in_place_t, failure or error)");
        if constexpr (detail::transform_returns_value<U>) {
            if (!self.has_value_) {
                return result<U>(failure{self.error_});
            }
            if constexpr (std::is_void_v<U>) {
                detail::invoke(std::forward<F>(f), *std::forward<Self>(self));
                return result<U>();
            } else {
                return result<U>(std::in_place,
                                 detail::invoke(std::forward<F>(f), *std::forward<Self>(self)));
            }
        }
    }
    template <class Self, class F>
    static constexpr result or_else_impl(Self&& self, F&& f) {
        using R = std::remove_cvref_t<std::invoke_result_t<F, const netkit::error&>>;
        static_assert(detail::or_else_returns_same_result<R, T>,
                      "netkit: the function given to or_else must return a netkit::result of the "
                      "same value type");
        if constexpr (detail::or_else_returns_same_result<R, T>) {
            if (self.has_value_) {
                return std::forward<Self>(self);
            }
            return detail::invoke(std::forward<F>(f), self.error_);
        } else {
            return failure{self.error_};
        }
    }
    template <class Self, class F>
    static constexpr result transform_error_impl(Self&& self, F&& f) {
        using E = std::remove_cv_t<std::invoke_result_t<F, const netkit::error&>>;
        static_assert(detail::transform_error_returns_error<E>,
                      "netkit: the function given to transform_error must return a netkit::error "
                      "(a result's error type is always netkit::error)");
        if constexpr (detail::transform_error_returns_error<E>) {
            if (self.has_value_) {
                return std::forward<Self>(self);
            }
            return failure{detail::invoke(std::forward<F>(f), self.error_)};
        } else {
            return failure{self.error_};
        }
    }
};

/// The result of an operation that yields nothing but may fail, as `std::expected<void, E>`.
template <>
class [[nodiscard]] result<void> {
public:
    /// No value: only success or an error.
    using value_type = void;
    /// The type of the error: always netkit::error.
    using error_type = netkit::error;
    /// The result of another value type, as std::expected::rebind.
    template <class U>
    using rebind = result<U>;

    result() noexcept = default;
    /// Success, as std::expected<void, E>(std::in_place).
    explicit result(std::in_place_t) noexcept {}
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): implicit like expected
    /// The failure.
    result(failure f) noexcept : error_(f.error), has_value_(false) {}

    /// True when the operation succeeded.
    [[nodiscard]] constexpr bool has_value() const noexcept { return has_value_; }
    /// True when the operation succeeded.
    constexpr explicit operator bool() const noexcept { return has_value_; }
    /// Throws `operation_failed` if the operation failed.
    void value() const {
        if (!has_value_) [[unlikely]] {
            throw operation_failed(error_);
        }
    }
    /// Nothing, as std::expected<void, E>::operator*.
    constexpr void operator*() const noexcept {}
    /// The error; only meaningful when `!has_value()`.
    [[nodiscard]] constexpr const netkit::error& error() const noexcept { return error_; }
    /// The error, or `fallback` when the operation succeeded.
    [[nodiscard]] netkit::error error_or(const netkit::error& fallback) const noexcept {
        return has_value_ ? fallback : error_;
    }
    /// Makes it a success.
    void emplace() noexcept { has_value_ = true; }

    /// f() when it succeeded (f returns a `result<U>`), else this error as a `result<U>`.
    template <class F>
    constexpr auto and_then(F&& f) const {
        using R = std::remove_cvref_t<std::invoke_result_t<F>>;
        static_assert(detail::and_then_returns_result<R>,
                      "netkit: the function given to and_then must return a netkit::result (use "
                      "transform for a plain value)");
        if constexpr (detail::and_then_returns_result<R>) {
            if (has_value_) {
                return R(detail::invoke(std::forward<F>(f)));
            }
            return R(failure{error_});
        }
    }
    /// `result<U>` holding f() when it succeeded, else this error.
    template <class F>
    constexpr auto transform(F&& f) const {
        using U = std::remove_cv_t<std::invoke_result_t<F>>;
        static_assert(detail::transform_returns_value<U>,
                      "netkit: the function given to transform must return a value a result can "
                      "hold (not a reference, an array, in_place_t, failure or error)");
        if constexpr (detail::transform_returns_value<U>) {
            if (!has_value_) {
                return result<U>(failure{error_});
            }
            if constexpr (std::is_void_v<U>) {
                detail::invoke(std::forward<F>(f));
                return result<U>();
            } else {
                return result<U>(std::in_place, detail::invoke(std::forward<F>(f)));
            }
        }
    }
    /// This result when it succeeded, else f(error) (f returns a `result<void>`).
    template <class F>
    constexpr result or_else(F&& f) const {
        using R = std::remove_cvref_t<std::invoke_result_t<F, const netkit::error&>>;
        static_assert(detail::or_else_returns_same_result<R, void>,
                      "netkit: the function given to or_else must return a netkit::result of the "
                      "same value type");
        if constexpr (detail::or_else_returns_same_result<R, void>) {
            if (has_value_) {
                return *this;
            }
            return detail::invoke(std::forward<F>(f), error_);
        } else {
            return *this;
        }
    }
    /// This result with f(error) in place of its error (f returns a netkit::error).
    template <class F>
    constexpr result transform_error(F&& f) const {
        using E = std::remove_cv_t<std::invoke_result_t<F, const netkit::error&>>;
        static_assert(detail::transform_error_returns_error<E>,
                      "netkit: the function given to transform_error must return a netkit::error "
                      "(a result's error type is always netkit::error)");
        if constexpr (detail::transform_error_returns_error<E>) {
            if (has_value_) {
                return *this;
            }
            return failure{detail::invoke(std::forward<F>(f), error_)};
        } else {
            return *this;
        }
    }

    /// Equal when both succeeded or both hold equal errors.
    friend bool operator==(const result& a, const result& b) noexcept {
        return a.has_value_ == b.has_value_ && (a.has_value_ || a.error_ == b.error_);
    }
    /// Equal when it holds an error equal to `f.error`.
    friend bool operator==(const result& a, const failure& f) noexcept {
        return !a.has_value_ && a.error_ == f.error;
    }

private:
    netkit::error error_;
    bool has_value_ = true;
};

} // namespace netkit
