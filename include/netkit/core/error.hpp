#pragma once

#include <netkit/detail/compact_sockaddr.hpp>

#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <sys/socket.h>

namespace netkit {

/// Failures that are netkit's own rather than the kernel's.
enum class errc {
    /// The peer closed the stream before a `receive_exact` was complete. Its own condition: the
    /// connection ended in order, nothing aborted it.
    end_of_stream = 1,
    /// One message of more buffers than IOV_MAX: it cannot be one system call. Compares equal to
    /// `std::errc::message_size` (EMSGSIZE).
    too_many_buffers,
    /// The deadline (or timeout) a blocking call was given passed before it could finish.
    /// Compares equal to `std::errc::timed_out`; its message is "deadline passed", so that it
    /// reads apart from the kernel's own ETIMEDOUT ("Connection timed out": TCP gave up).
    deadline_passed,
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
            return "more buffers than IOV_MAX in one message, which must be one system call";
        case errc::deadline_passed:
            return "deadline passed";
        }
        return "unknown netkit error";
    }
    [[nodiscard]] std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
        case errc::too_many_buffers:
            return std::errc::message_size;
        case errc::deadline_passed:
            return std::errc::timed_out;
        case errc::end_of_stream:
            break;
        }
        return {value, *this};
    }
};
} // namespace detail

/// The category of `netkit::errc`.
inline const std::error_category& netkit_category() noexcept {
    static const detail::netkit_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), netkit_category()};
}

} // namespace netkit

template <>
struct std::is_error_code_enum<netkit::errc> : std::true_type {};

namespace netkit {

namespace detail {
template <class E>
concept error_enum = std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>;
} // namespace detail

/// The failure of one operation: an error code, the name of the operation that produced it, the
/// endpoint it concerned (where there is one) and, for loops such as `send_all`, how many bytes
/// had moved before it failed.
///
/// It is trivially copyable, never allocates and takes 56 bytes, so that `result<std::size_t>`
/// fits in one cache line; the text of `message()` is only built when asked for.
class error {
public:
    error() noexcept = default;

    /// An error of `operation` (a string literal: it is kept, not copied).
    error(std::error_code code, const char* operation) noexcept
        : category_(&code.category()),
          operation_(operation),
          value_(code.value()) {}

    /// An error that names the endpoint it concerned: "connect 127.0.0.1:9: Connection refused".
    error(std::error_code code, const char* operation, const sockaddr* address,
          socklen_t length) noexcept
        : error(code, operation) {
        endpoint_.assign(address, length);
    }

    /// An error that quotes the input it concerned (its first 25 bytes):
    /// "parse ip::endpoint "300.1.1.1:80": IPv4 octet out of range (0-255)".
    error(std::error_code code, const char* operation, std::string_view input) noexcept
        : error(code, operation) {
        endpoint_.assign_text(input);
    }

    /// An error that names the host and service it concerned, cut to fit in 24 bytes:
    /// "resolve "no-such-host.invalid":80: Name or service not known".
    static error for_host_service(std::error_code code, const char* operation,
                                  std::string_view host, std::string_view service) noexcept {
        error failed(code, operation);
        failed.endpoint_.assign_host_service(host, service);
        return failed;
    }

    /// Builds an error from an errno value (the system category).
    static error from_errno(int errno_value, const char* operation) noexcept {
        return {std::error_code(errno_value, std::system_category()), operation};
    }

    /// The error code: compare it with `std::errc`, `netkit::errc` or a `std::error_condition`.
    [[nodiscard]] std::error_code code() const noexcept { return {value_, *category_}; }
    /// The operation that failed ("connect", "send", ...); never null.
    [[nodiscard]] const char* operation() const noexcept { return operation_; }
    /// Bytes moved before the failure by looping operations (`send_all`, `receive_exact`).
    [[nodiscard]] std::size_t bytes_transferred() const noexcept { return transferred_; }
    /// True when a non-blocking operation could not proceed: not a fault, just "try later".
    [[nodiscard]] bool would_block() const noexcept {
        // EAGAIN and EWOULDBLOCK are one value on Linux but not everywhere.
        return code() == std::errc::operation_would_block ||
               code() == std::errc::resource_unavailable_try_again;
    }

    /// Sets how many bytes had moved before the failure; returns this error.
    error& with_bytes_transferred(std::size_t bytes) noexcept {
        transferred_ = bytes;
        return *this;
    }

    /// "operation endpoint", e.g. "connect 127.0.0.1:9" (just "send" when there is no endpoint),
    /// or "operation "input"", e.g. "parse ip::endpoint "localhost:80"".
    [[nodiscard]] std::string context() const {
        std::string text = operation_;
        if (!endpoint_.empty()) {
            text += ' ';
            endpoint_.append_to(text);
        }
        return text;
    }
    /// "operation endpoint: reason", e.g. "connect 127.0.0.1:9: Connection refused".
    [[nodiscard]] std::string message() const { return context() + ": " + code().message(); }

    /// Same error code (operation and endpoint are context, not identity).
    friend bool operator==(const error& a, const error& b) noexcept { return a.code() == b.code(); }
    /// Same error code as `b`.
    friend bool operator==(const error& a, const std::error_code& b) noexcept {
        return a.code() == b;
    }
    /// Its error code is equivalent to the condition `b`.
    friend bool operator==(const error& a, const std::error_condition& b) noexcept {
        return a.code() == b;
    }
    /// `err == std::errc::connection_refused`, `err == netkit::errc::end_of_stream`.
    template <detail::error_enum E>
    friend bool operator==(const error& a, E b) noexcept {
        return a.code() == b;
    }

private:
    const std::error_category* category_ = &std::system_category();
    const char* operation_ = "netkit";
    std::size_t transferred_ = 0;
    int value_ = 0;
    detail::compact_sockaddr endpoint_;
};

/// The exception `result::value()` throws: a `std::system_error` whose `what()` is
/// `error::message()` (std::system_error appends the reason to the context), and which keeps the
/// whole `error` for callers that want the details.
class operation_failed : public std::system_error {
public:
    /// The exception for `failure`; `what()` is its whole message.
    explicit operation_failed(const netkit::error& failure)
        : std::system_error(failure.code(), failure.context()),
          error_(failure) {}

    /// The error, with its operation, endpoint and byte count.
    [[nodiscard]] const netkit::error& error() const noexcept { return error_; }

private:
    netkit::error error_;
};

/// Tag for constructing a failed `result`, as `std::unexpected` is for `std::expected`:
/// `return netkit::failure{err};`.
struct failure {
    /// The error the failed result holds.
    netkit::error error;
};

namespace detail {
/// The error for the current errno.
inline failure errno_failure(const char* operation) noexcept {
    return failure{error::from_errno(errno, operation)};
}
inline failure errno_failure(const char* operation, const sockaddr* address,
                             socklen_t length) noexcept {
    return failure{
        error(std::error_code(errno, std::system_category()), operation, address, length)};
}
inline failure errc_failure(std::errc code, const char* operation) noexcept {
    return failure{error(std::make_error_code(code), operation)};
}
inline failure errc_failure(netkit::errc code, const char* operation) noexcept {
    return failure{error(make_error_code(code), operation)};
}
} // namespace detail

} // namespace netkit
