#pragma once

#include <netkit/detail/minimal_algorithms.hpp>

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace netkit::detail {

/// Longest text any socket address formats to: a full Unix path with escapes would be longer, so
/// Unix text is cut with "..." at this size.
inline constexpr std::size_t sockaddr_text_capacity = 119;

/// Appends the text of a socket address to `out` (which holds `capacity` bytes) and returns the
/// number of bytes written. Never writes more than `capacity`; cuts with "..." when it must.
///
/// Forms: "1.2.3.4:80", "[::1]:80", "[fe80::1%2]:80" (scope as a number: naming the interface
/// would need a system call), "/path", "@abstract" (bytes outside printable ASCII as \xNN),
/// "(unnamed)" for an unbound Unix socket, "(family N)" for others.
inline std::size_t format_sockaddr(const sockaddr* address, socklen_t length, char* out,
                                   std::size_t capacity) noexcept {
    std::size_t used = 0;
    auto put = [&](std::string_view text) {
        const std::size_t room = capacity - used;
        const std::size_t n = min_of(room, text.size());
        std::memcpy(out + used, text.data(), n);
        used += n;
        return n == text.size();
    };
    auto put_number = [&](unsigned long value) {
        std::array<char, 24> digits{};
        const int n = std::snprintf(digits.data(), digits.size(), "%lu", value);
        put(std::string_view(digits.data(), static_cast<std::size_t>(n)));
    };
    if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) {
        put("(no address)");
        return used;
    }
    sa_family_t family{};
    std::memcpy(&family, address, sizeof family);
    std::array<char, INET6_ADDRSTRLEN> host{};
    if (family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in in{};
        std::memcpy(&in, address, sizeof in);
        ::inet_ntop(AF_INET, &in.sin_addr, host.data(), host.size());
        put(host.data());
        put(":");
        put_number(ntohs(in.sin_port));
    } else if (family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, address, sizeof in6);
        ::inet_ntop(AF_INET6, &in6.sin6_addr, host.data(), host.size());
        put("[");
        put(host.data());
        if (in6.sin6_scope_id != 0) {
            put("%");
            put_number(in6.sin6_scope_id);
        }
        put("]:");
        put_number(ntohs(in6.sin6_port));
    } else if (family == AF_UNIX) {
        const std::size_t path_offset = offsetof(sockaddr_un, sun_path);
        const std::size_t total =
            min_of<std::size_t>(static_cast<std::size_t>(length), sizeof(sockaddr_un));
        const char* path = reinterpret_cast<const char*>(address) + path_offset;
        std::size_t path_length = total > path_offset ? total - path_offset : 0;
        if (path_length == 0) {
            put("(unnamed)");
            return used;
        }
        const bool abstract = path[0] == '\0';
        if (!abstract) {
            // Filesystem names may or may not carry their terminating NUL in `length`.
            path_length = ::strnlen(path, path_length);
        }
        constexpr std::string_view ellipsis = "...";
        const std::size_t limit = capacity - ellipsis.size();
        if (abstract) {
            put("@");
        }
        for (std::size_t i = abstract ? 1 : 0; i < path_length; ++i) {
            const auto byte = static_cast<unsigned char>(path[i]);
            std::array<char, 5> piece{};
            std::size_t piece_length = 1;
            if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
                piece[0] = static_cast<char>(byte);
            } else {
                std::snprintf(piece.data(), piece.size(), "\\x%02x", byte);
                piece_length = 4;
            }
            if (used + piece_length > limit) {
                put(ellipsis);
                return used;
            }
            put(std::string_view(piece.data(), piece_length));
        }
    } else {
        put("(family ");
        put_number(family);
        put(")");
    }
    return used;
}

} // namespace netkit::detail
