#pragma once

#include <netkit/addr/address_error.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/endpoint_conversions.hpp>
#include <netkit/detail/minimal_algorithms.hpp>

#include <compare>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include <sys/socket.h>
#include <sys/un.h>

namespace netkit::local {

/// A Unix-domain socket name: a filesystem path, a Linux abstract name, or unnamed (an unbound
/// socket, or either end of a socketpair). It holds the kernel's `sockaddr_un` itself.
///
/// A name too long for `sun_path` is an error (`address_errc::path_too_long`), never cut short:
/// a truncated path would bind or connect to a different file.
class endpoint {
public:
    /// Unnamed.
    endpoint() noexcept { address_.sun_family = AF_UNIX; }

    /// Largest name, in bytes: sun_path less the terminating NUL a path needs (an abstract name
    /// uses the same bytes for its leading NUL).
    static constexpr std::size_t max_name_length = sizeof(sockaddr_un::sun_path) - 1;

    /// A filesystem path. Errors: empty, embedded NUL, longer than `max_name_length`.
    static result<endpoint> path(std::string_view path) noexcept {
        if (path.empty()) {
            return parse_failure(address_errc::empty, "local::endpoint::path", path);
        }
        if (path.find('\0') != std::string_view::npos) {
            return parse_failure(address_errc::embedded_nul, "local::endpoint::path", path);
        }
        if (path.size() > max_name_length) {
            return parse_failure(address_errc::path_too_long, "local::endpoint::path", path);
        }
        endpoint result;
        std::memcpy(result.address_.sun_path, path.data(), path.size());
        result.length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
        return result;
    }

    /// A Linux abstract name (no file; gone when the last socket closes). Any bytes, NULs
    /// included; at most `max_name_length` of them.
    static result<endpoint> abstract(std::string_view name) noexcept {
        if (name.size() > max_name_length) {
            return parse_failure(address_errc::path_too_long, "local::endpoint::abstract", name);
        }
        endpoint result;
        std::memcpy(result.address_.sun_path + 1, name.data(), name.size());
        result.length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
        return result;
    }

    /// "@name" is abstract (the convention of ss and netstat), anything else is a path.
    static result<endpoint> parse(std::string_view text) noexcept {
        auto parsed = !text.empty() && text.front() == '@' ? abstract(text.substr(1)) : path(text);
        if (!parsed) {
            return failure{error(parsed.error().code(), "parse local::endpoint", text)};
        }
        return parsed;
    }

    /// Reads a socket address the kernel produced (getsockname, recvfrom, accept, ...). Unlike
    /// `path`, it accepts a path of the full `sizeof(sun_path)` bytes with no NUL, which Linux
    /// lets a peer bind.
    static result<endpoint> from_sockaddr(const sockaddr* address, socklen_t length) noexcept {
        if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) {
            return failure{error(make_error_code(address_errc::address_too_short), "endpoint")};
        }
        sa_family_t family{};
        std::memcpy(&family, address, sizeof family);
        if (family != AF_UNIX) {
            return failure{error(make_error_code(address_errc::wrong_family), "endpoint")};
        }
        endpoint result;
        const auto usable = netkit::detail::min_of<std::size_t>(static_cast<std::size_t>(length),
                                                                sizeof(sockaddr_un));
        std::memcpy(&result.address_, address, usable);
        result.length_ = static_cast<socklen_t>(usable);
        const std::size_t name_bytes = usable - offsetof(sockaddr_un, sun_path);
        if (name_bytes > 0 && result.address_.sun_path[0] != '\0') {
            // Normalise a path to "bytes + one NUL", whatever length the kernel reported. Linux
            // lets a socket bind a path that fills sun_path with no NUL at all; that name is
            // kept as it is rather than refused, or accept/recvfrom would lose a real peer.
            const std::size_t path_length = ::strnlen(result.address_.sun_path, name_bytes);
            const bool room_for_nul = path_length < sizeof result.address_.sun_path;
            if (room_for_nul) {
                result.address_.sun_path[path_length] = '\0';
            }
            result.length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_length +
                                                    (room_for_nul ? 1 : 0));
        }
        return result;
    }

    /// True for the unnamed endpoint: an unbound socket, or a socketpair's end.
    [[nodiscard]] bool is_unnamed() const noexcept {
        return length_ <= static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
    }
    /// True for a name in the abstract namespace (Linux; no file in the file system).
    [[nodiscard]] bool is_abstract() const noexcept {
        return !is_unnamed() && address_.sun_path[0] == '\0';
    }
    /// True for a file-system path.
    [[nodiscard]] bool is_path() const noexcept { return !is_unnamed() && !is_abstract(); }

    /// The path, or the abstract name without its leading NUL; empty when unnamed.
    [[nodiscard]] std::string_view name() const noexcept {
        if (is_unnamed()) {
            return {};
        }
        const std::size_t bytes =
            static_cast<std::size_t>(length_) - offsetof(sockaddr_un, sun_path);
        if (is_abstract()) {
            return {address_.sun_path + 1, bytes - 1};
        }
        // A path ends in its NUL, except one the kernel reported filling all of sun_path.
        const bool has_nul = address_.sun_path[bytes - 1] == '\0';
        return {address_.sun_path, has_nul ? bytes - 1 : bytes};
    }

    /// Reads `length` bytes of a `sockaddr_storage` that the kernel or a C API filled.
    static result<endpoint> from_sockaddr(const sockaddr_storage& address,
                                          socklen_t length) noexcept {
        return netkit::detail::endpoint_from_storage<endpoint>(address, length);
    }
    /// The address copied into a `sockaddr_storage`, for C APIs that take one (its length is
    /// `size()`).
    [[nodiscard]] sockaddr_storage to_sockaddr_storage() const noexcept {
        return netkit::detail::to_sockaddr_storage(data(), size());
    }

    /// The socket address, ready for the kernel (a `sockaddr_un`).
    [[nodiscard]] const sockaddr* data() const noexcept {
        return reinterpret_cast<const sockaddr*>(&address_);
    }
    /// The address length the kernel takes with `data()`: the family, plus the path and its NUL
    /// or the abstract name's bytes.
    [[nodiscard]] socklen_t size() const noexcept { return length_; }
    /// Largest socket address this type reads back from the kernel: sizeof(sockaddr_un).
    static constexpr socklen_t capacity = sizeof(sockaddr_un);

    /// `/path`, `@abstract` (non-printable bytes as `\xNN`) or `(unnamed)`.
    [[nodiscard]] std::string to_string() const {
        return netkit::detail::sockaddr_string(data(), size());
    }

    /// True if both are unnamed, or both name the same path or the same abstract name.
    friend bool operator==(const endpoint& a, const endpoint& b) noexcept {
        return a.is_abstract() == b.is_abstract() && a.name() == b.name();
    }
    /// Unnamed and paths before abstract names; then by the bytes of the name.
    friend std::strong_ordering operator<=>(const endpoint& a, const endpoint& b) noexcept {
        if (a.is_abstract() != b.is_abstract()) {
            return a.is_abstract() ? std::strong_ordering::greater : std::strong_ordering::less;
        }
        return a.name().compare(b.name()) <=> 0;
    }

private:
    static failure parse_failure(address_errc code, const char* operation,
                                 std::string_view input) noexcept {
        return failure{error(make_error_code(code), operation, input)};
    }

    sockaddr_un address_{};
    socklen_t length_ = sizeof(sa_family_t);
};

} // namespace netkit::local

/// Hashes a Unix-domain endpoint (its name and whether it is abstract), for unordered containers.
template <>
struct std::hash<netkit::local::endpoint> {
    /// Consistent with `==`.
    std::size_t operator()(const netkit::local::endpoint& e) const noexcept {
        return std::hash<std::string_view>{}(e.name()) ^ (e.is_abstract() ? 0x9e3779b9U : 0U);
    }
};
