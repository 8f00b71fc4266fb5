#pragma once

#include <netkit/detail/sockaddr_text.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include <sys/socket.h>

namespace netkit {

/// Failures that are netkit's own rather than the kernel's.
enum class errc {
    end_of_stream = 1, ///< the peer closed the stream before a `receive_exact` was complete
    too_many_buffers,  ///< one message of more buffers than IOV_MAX: it cannot be one system call
};

namespace detail {
class netkit_category_impl final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "netkit"; }
    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::end_of_stream:
            return "end of stream before the transfer was complete";
        case errc::too_many_buffers:
            return "more buffers than IOV_MAX in one message (send_all splits a stream)";
        }
        return "unknown netkit error";
    }
    [[nodiscard]] std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
        case errc::end_of_stream:
            return std::errc::connection_aborted;
        case errc::too_many_buffers:
            return std::errc::message_size;
        }
        return {value, *this};
    }
};
} // namespace detail

/// The category of `netkit::errc`. `too_many_buffers` compares equal to
/// `std::errc::message_size` (EMSGSIZE), `end_of_stream` to `std::errc::connection_aborted`.
inline const std::error_category& netkit_category() noexcept {
    static const detail::netkit_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), netkit_category()};
}

/// The failure of one operation: an error code, the name of the operation that produced it, the
/// endpoint it concerned (where there is one) and, for loops such as `send_all`, how many bytes
/// had moved before it failed.
///
/// It is trivially copyable and never allocates, so carrying it through a `result` costs nothing
/// on the success path; the text of `message()` is only built when asked for.
class error {
public:
    error() noexcept = default;

    error(std::error_code code, const char* operation) noexcept
        : code_(code),
          operation_(operation) {}

    /// An error that names the endpoint it concerned: "connect 127.0.0.1:9: Connection refused".
    error(std::error_code code, const char* operation, const sockaddr* address,
          socklen_t length) noexcept
        : code_(code),
          operation_(operation) {
        endpoint_.assign(address, length);
    }

    /// Builds an error from an errno value (the system category).
    static error from_errno(int errno_value, const char* operation) noexcept {
        return {std::error_code(errno_value, std::system_category()), operation};
    }

    [[nodiscard]] const std::error_code& code() const noexcept { return code_; }
    /// The operation that failed ("connect", "send", ...); never null.
    [[nodiscard]] const char* operation() const noexcept { return operation_; }
    /// Bytes moved before the failure by looping operations (`send_all`, `receive_exact`).
    [[nodiscard]] std::size_t bytes_transferred() const noexcept { return transferred_; }
    /// True when a non-blocking operation could not proceed: not a fault, just "try later".
    [[nodiscard]] bool would_block() const noexcept {
        return code_ == std::errc::operation_would_block ||
               code_ == std::errc::resource_unavailable_try_again;
    }

    error& with_bytes_transferred(std::size_t bytes) noexcept {
        transferred_ = bytes;
        return *this;
    }

    /// "operation endpoint", e.g. "connect 127.0.0.1:9" (just "send" when there is no endpoint).
    [[nodiscard]] std::string context() const {
        std::string text = operation_;
        if (!endpoint_.empty()) {
            text += ' ';
            text += endpoint_.view();
        }
        return text;
    }
    /// "operation endpoint: reason", e.g. "connect 127.0.0.1:9: Connection refused".
    [[nodiscard]] std::string message() const { return context() + ": " + code_.message(); }

    /// Same error code (operation and endpoint are context, not identity).
    friend bool operator==(const error& a, const error& b) noexcept { return a.code_ == b.code_; }
    friend bool operator==(const error& a, std::errc b) noexcept { return a.code_ == b; }

private:
    std::error_code code_{};
    const char* operation_ = "netkit";
    std::size_t transferred_ = 0;
    detail::sockaddr_text endpoint_;
};

/// The exception `result::value()` throws: a `std::system_error` whose `what()` is
/// `error::message()` (std::system_error appends the reason to the context), and which keeps the
/// whole `error` for callers that want the details.
class operation_failed : public std::system_error {
public:
    explicit operation_failed(const netkit::error& failure)
        : std::system_error(failure.code(), failure.context()),
          error_(failure) {}

    [[nodiscard]] const netkit::error& error() const noexcept { return error_; }

private:
    netkit::error error_;
};

/// Tag for constructing a failed `result`, as in `return failure(err);`.
struct failure {
    netkit::error error;
};

namespace detail {
// result<T>'s storage, in two forms: when T is trivially copyable and destructible every special
// member is defaulted, so result<std::size_t> is returned as cheaply as a size and a flag; other
// T get hand-written ones. (Two bases rather than constrained special members because clang 14
// does not implement conditionally trivial special members.)
template <class T,
          bool Trivial = std::is_trivially_copyable_v<T>&& std::is_trivially_destructible_v<T>>
struct result_base {
    template <class... Args>
    explicit result_base(std::in_place_t,
                         Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args&&...>)
        : value_(std::forward<Args>(args)...),
          has_value_(true) {}
    explicit result_base(const netkit::error& e) noexcept : error_(e) {}

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
            std::construct_at(&value_, other.value_);
        } else {
            std::construct_at(&error_, other.error_);
        }
    }
    result_base(result_base&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : has_value_(other.has_value_) {
        if (has_value_) {
            std::construct_at(&value_, std::move(other.value_));
        } else {
            std::construct_at(&error_, other.error_);
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

    template <class U>
    void assign_value(U&& value) {
        if (has_value_) {
            value_ = std::forward<U>(value);
            return;
        }
        if constexpr (std::is_nothrow_constructible_v<T, U&&>) {
            std::construct_at(&value_, std::forward<U>(value));
        } else {
            // Build it aside first: a throwing copy must leave the error in place.
            T made(std::forward<U>(value));
            static_assert(std::is_nothrow_move_constructible_v<T>,
                          "netkit: result<T> needs T to be nothrow-move-constructible or "
                          "nothrow-constructible from what is assigned");
            std::construct_at(&value_, std::move(made));
        }
        has_value_ = true;
    }
    void assign_error(const netkit::error& e) noexcept {
        destroy();
        std::construct_at(&error_, e);
        has_value_ = false;
    }

    union {
        T value_;
        netkit::error error_;
    };
    bool has_value_ = false;
};
} // namespace detail

/// A value of type T or an `error`: the return type of every operation that can fail.
///
/// Its surface is a subset of C++23 `std::expected` (`has_value`, `operator bool`, `value`,
/// `error`, `value_or`, `*`, `->`), but it is always netkit's own type so that it means the same
/// in every translation unit whatever language version each is built with.
///
/// @par Example
/// @code
/// auto sock = netkit::tcp::socket::connect(ep);
/// if (!sock) { log(sock.error().message()); return; }
/// sock->send_all(data).value(); // throws netkit::operation_failed on error
/// @endcode
template <class T>
class [[nodiscard]] result : private detail::result_base<T> {
    static_assert(!std::is_reference_v<T>,
                  "result<T&> is not supported: return a pointer or a value");
    static_assert(!std::is_same_v<std::remove_cv_t<T>, netkit::error>,
                  "result<error> is ambiguous");
    using base = detail::result_base<T>;

public:
    using value_type = T;
    using error_type = netkit::error;

    // NOLINTBEGIN(google-explicit-constructor,hicpp-explicit-conversions,bugprone-forwarding-reference-overload):
    // implicit like expected; constrained so that it never hides the copy and move constructors
    template <class U = T>
        requires std::is_constructible_v<T, U&&> &&
            (!std::is_same_v<std::remove_cvref_t<U>, result>)&&(
                !std::is_same_v<std::remove_cvref_t<U>, failure>)
                result(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>)
            : base(std::in_place, std::forward<U>(value)) {}
        result(failure f) noexcept : base(f.error) {}
        // NOLINTEND(google-explicit-constructor,hicpp-explicit-conversions,bugprone-forwarding-reference-overload)

        [[nodiscard]] bool has_value() const noexcept { return this->has_value_; }
        explicit operator bool() const noexcept { return this->has_value_; }

        /// The value; throws `operation_failed` (a `std::system_error`) if there is none.
        T& value() & {
            throw_if_error();
            return this->value_;
        }
        const T& value() const& {
            throw_if_error();
            return this->value_;
        }
        /// On a temporary the value is moved out and returned by value, so that
        /// `for (auto& e : netkit::resolve(...).value())` iterates a live object, not a
        /// reference into a destroyed result.
        T value() && {
            throw_if_error();
            return std::move(this->value_);
        }

        template <class U>
        T value_or(U&& fallback) const& {
            return this->has_value_ ? this->value_ : static_cast<T>(std::forward<U>(fallback));
        }
        template <class U>
        T value_or(U&& fallback) && {
            return this->has_value_ ? std::move(this->value_)
                                    : static_cast<T>(std::forward<U>(fallback));
        }

        /// The error; only meaningful when `!has_value()`.
        [[nodiscard]] const netkit::error& error() const noexcept { return this->error_; }

        T& operator*() & noexcept { return this->value_; }
        const T& operator*() const& noexcept { return this->value_; }
        T operator*() && noexcept(std::is_nothrow_move_constructible_v<T>) {
            return std::move(this->value_);
        }
        T* operator->() noexcept { return &this->value_; }
        const T* operator->() const noexcept { return &this->value_; }

    private:
        void throw_if_error() const {
            if (!this->has_value_) [[unlikely]] {
                throw operation_failed(this->error_);
            }
        }
};

/// The result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] result<void> {
public:
    using value_type = void;
    using error_type = netkit::error;

    result() noexcept = default;
    // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): implicit like expected
    result(failure f) noexcept : error_(f.error), has_value_(false) {}

    [[nodiscard]] bool has_value() const noexcept { return has_value_; }
    explicit operator bool() const noexcept { return has_value_; }
    /// Throws `operation_failed` if the operation failed.
    void value() const {
        if (!has_value_) {
            throw operation_failed(error_);
        }
    }
    [[nodiscard]] const netkit::error& error() const noexcept { return error_; }

private:
    netkit::error error_;
    bool has_value_ = true;
};

namespace detail {
/// The error for the current errno.
inline failure errno_failure(const char* operation) noexcept {
    return failure{error::from_errno(errno, operation)};
}
inline failure errc_failure(std::errc code, const char* operation) noexcept {
    return failure{error(std::make_error_code(code), operation)};
}
inline failure errc_failure(netkit::errc code, const char* operation) noexcept {
    return failure{error(make_error_code(code), operation)};
}
} // namespace detail

} // namespace netkit

template <>
struct std::is_error_code_enum<netkit::errc> : std::true_type {};
