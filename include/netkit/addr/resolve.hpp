#pragma once

#include <netkit/addr/endpoint.hpp>
#include <netkit/core/result.hpp>
#include <netkit/detail/trivial_vector.hpp>

#include <cerrno>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <netdb.h>
#include <sys/socket.h>

namespace netkit {

/// getaddrinfo's own failures (EAI_*), as error codes of `resolve_category()`. EAI_SYSTEM is
/// reported as the errno it stands for instead, in the system category.
enum class resolve_errc {
    again = EAI_AGAIN,               ///< temporary failure: try again later
    bad_flags = EAI_BADFLAGS,        ///< invalid flags
    fail = EAI_FAIL,                 ///< non-recoverable failure
    family = EAI_FAMILY,             ///< family not supported
    memory = EAI_MEMORY,             ///< out of memory
    no_name = EAI_NONAME,            ///< no such host or service
    service = EAI_SERVICE,           ///< service not available for this socket type
    socket_type = EAI_SOCKTYPE,      ///< socket type not supported
    no_data = EAI_NODATA,            ///< the host has no address
    address_family = EAI_ADDRFAMILY, ///< the host has no address of the family asked
    overflow = EAI_OVERFLOW,         ///< buffer overflow
};

namespace detail {
class resolve_category_impl final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "netkit.resolve"; }
    [[nodiscard]] std::string message(int value) const override { return ::gai_strerror(value); }
};
} // namespace detail

/// The category of getaddrinfo's EAI_* codes.
inline const std::error_category& resolve_category() noexcept {
    static const detail::resolve_category_impl instance;
    return instance;
}
inline std::error_code make_error_code(resolve_errc code) noexcept {
    return {static_cast<int>(code), resolve_category()};
}

/// What to ask getaddrinfo for.
struct resolve_hints {
    /// Only IPv4 or only IPv6 answers; nullopt for both.
    std::optional<ip::family> family{};
    /// SOCK_STREAM for TCP, SOCK_DGRAM for UDP, 0 for any (duplicates removed).
    int socket_type = SOCK_STREAM;
    /// AI_NUMERICHOST: `host` must be a numeric address; never touches DNS.
    bool numeric_host = false;
    /// AI_NUMERICSERV: `service` must be a port number; never reads /etc/services.
    bool numeric_service = false;
    /// AI_PASSIVE: a null host gives the wildcard address, for binding.
    bool passive = false;
    /// AI_ADDRCONFIG: only families configured on this host.
    bool address_configured = false;
};

/// Hints for a protocol tag: `resolve_hints_for<tcp::protocol>()`. Any type with a `socket_type`
/// will do, so this header does not include the tags (<netkit/protocol/tags.hpp>, a layer above
/// the addresses).
template <class Protocol>
constexpr resolve_hints resolve_hints_for() noexcept {
    resolve_hints hints;
    hints.socket_type = Protocol::socket_type;
    return hints;
}

namespace ip {
/// The endpoints `resolve` found, in the order getaddrinfo gave them, each once: a contiguous
/// range (`begin`/`end`, `size`, `[]`, `data`), copyable and movable. Code that wants a
/// `std::vector` builds one: `std::vector<ip::endpoint>(list.begin(), list.end())`.
class endpoint_list {
public:
    /// An endpoint.
    using value_type = endpoint;
    /// A count of endpoints.
    using size_type = std::size_t;
    /// Iterates the endpoints, read-only.
    using const_iterator = const endpoint*;
    /// The same as const_iterator: the list is changed only by push_back.
    using iterator = const_iterator;

    /// No endpoints.
    endpoint_list() noexcept = default;

    /// How many endpoints there are.
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    /// True when there are none.
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    /// The first endpoint, getaddrinfo's preferred one (the list must not be empty).
    [[nodiscard]] const endpoint& front() const noexcept { return items_.front(); }
    /// The endpoint at `index` (below `size()`).
    [[nodiscard]] const endpoint& operator[](std::size_t index) const noexcept {
        return items_.data()[index];
    }
    /// The endpoints, contiguous.
    [[nodiscard]] const endpoint* data() const noexcept { return items_.data(); }
    /// The first endpoint.
    [[nodiscard]] const endpoint* begin() const noexcept { return items_.data(); }
    /// Past the last endpoint.
    [[nodiscard]] const endpoint* end() const noexcept { return items_.data() + items_.size(); }

    /// Appends `ep`. Errors: `std::errc::not_enough_memory` (the list is left as it was).
    result<void> push_back(const endpoint& ep) noexcept {
        if (const std::errc failed = items_.push_back(ep); failed != std::errc{}) {
            return netkit::detail::errc_failure(failed, "endpoint_list push_back");
        }
        return {};
    }

    /// True when both hold equal endpoints in the same order.
    friend bool operator==(const endpoint_list& a, const endpoint_list& b) noexcept {
        if (a.size() != b.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!(a[i] == b[i])) {
                return false;
            }
        }
        return true;
    }

private:
    netkit::detail::trivial_vector<endpoint> items_;
};
} // namespace ip

namespace detail {
/// getaddrinfo(3): a library call, not a socket system call, but kept in one place all the same.
/// Errors name the host and service as given (`resolve "example.invalid":80: ...`).
inline result<ip::endpoint_list> get_address_info(const char* host, const char* service,
                                                  const resolve_hints& hints) {
    addrinfo want{};
    want.ai_family = hints.family ? static_cast<int>(*hints.family) : AF_UNSPEC;
    want.ai_socktype = hints.socket_type;
    want.ai_flags =
        (hints.numeric_host ? AI_NUMERICHOST : 0) | (hints.numeric_service ? AI_NUMERICSERV : 0) |
        (hints.passive ? AI_PASSIVE : 0) | (hints.address_configured ? AI_ADDRCONFIG : 0);
    addrinfo* found = nullptr;
    const int status = ::getaddrinfo(host, service, &want, &found);
    if (status != 0) {
        const std::error_code code = status == EAI_SYSTEM
                                         ? std::error_code(errno, std::system_category())
                                         : make_error_code(static_cast<resolve_errc>(status));
        return failure{error::for_host_service(code, "resolve", host == nullptr ? "" : host,
                                               service == nullptr ? "" : service)};
    }
    // Freed on every way out; a guard of its own, so that no includer compiles <memory>
    // (docs/benchmarks.md, "Compile time").
    class freed_at_exit {
    public:
        explicit freed_at_exit(addrinfo* list) noexcept : list_(list) {}
        freed_at_exit(const freed_at_exit&) = delete;
        freed_at_exit& operator=(const freed_at_exit&) = delete;
        ~freed_at_exit() { ::freeaddrinfo(list_); }

    private:
        addrinfo* list_;
    };
    const freed_at_exit owner(found);
    ip::endpoint_list endpoints;
    const auto listed = [&endpoints](const ip::endpoint& candidate) {
        for (const ip::endpoint& seen : endpoints) {
            if (seen == candidate) {
                return true;
            }
        }
        return false;
    };
    for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
        auto endpoint = ip::endpoint::from_sockaddr(entry->ai_addr, entry->ai_addrlen);
        if (endpoint && !listed(*endpoint)) {
            if (auto added = endpoints.push_back(*endpoint); !added) {
                return failure{error::for_host_service(added.error().code(), "resolve",
                                                       host == nullptr ? "" : host,
                                                       service == nullptr ? "" : service)};
            }
        }
    }
    return endpoints;
}
} // namespace detail

/// Resolves a host name and service (name or port) to endpoints with getaddrinfo(3), in the
/// order getaddrinfo prefers (RFC 6724), each once. Errors are `resolve_errc` values (EAI_NONAME,
/// ...) or, for EAI_SYSTEM, the errno; `std::errc::not_enough_memory` when the list could not be
/// allocated. Blocking: it may query DNS.
///
/// @par Example
/// @code
/// for (const auto& ep : netkit::resolve("localhost", "8080").value()) { ... }
/// @endcode
inline result<ip::endpoint_list> resolve(std::string_view host, std::string_view service,
                                         const resolve_hints& hints = {}) {
    // From pointer and size, not the constrained constructor from a view (docs/benchmarks.md,
    // "Compile time").
    const std::string host_text(host.data(), host.size());
    const std::string service_text(service.data(), service.size());
    return detail::get_address_info(host.empty() ? nullptr : host_text.c_str(),
                                    service.empty() ? nullptr : service_text.c_str(), hints);
}

} // namespace netkit

template <>
struct std::is_error_code_enum<netkit::resolve_errc> : std::true_type {};
