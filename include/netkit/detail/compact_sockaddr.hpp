#pragma once

#include <netkit/detail/sockaddr_text.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace netkit::detail {

/// The endpoint an error concerns, kept in 28 bytes so that `netkit::error` (and with it
/// `result<std::size_t>`) fits in one cache line. IPv4 and IPv6 endpoints are kept whole; a Unix
/// path longer than `path_capacity` keeps its tail (the file name tells paths apart better than
/// the directory) and its text starts with "...". Storing costs a few copies; the text is built
/// only when a message is asked for.
class compact_sockaddr {
public:
    static constexpr std::size_t path_capacity = 25;

    void assign(const sockaddr* address, socklen_t length) noexcept {
        if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) {
            kind_ = kind::none;
            return;
        }
        sa_family_t family{};
        std::memcpy(&family, address, sizeof family);
        const auto* raw = reinterpret_cast<const unsigned char*>(address);
        if (family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
            kind_ = kind::v4;
            std::memcpy(data_.data(), raw + offsetof(sockaddr_in, sin_port), 2);
            std::memcpy(data_.data() + 2, raw + offsetof(sockaddr_in, sin_addr), 4);
        } else if (family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
            kind_ = kind::v6;
            std::memcpy(data_.data(), raw + offsetof(sockaddr_in6, sin6_port), 2);
            std::memcpy(data_.data() + 2, raw + offsetof(sockaddr_in6, sin6_scope_id), 4);
            std::memcpy(data_.data() + 6, raw + offsetof(sockaddr_in6, sin6_addr), 16);
        } else if (family == AF_UNIX) {
            assign_path(raw, length);
        } else {
            kind_ = kind::other;
            std::memcpy(data_.data(), &family, sizeof family);
        }
    }

    [[nodiscard]] bool empty() const noexcept { return kind_ == kind::none; }

    /// Appends the endpoint's text ("127.0.0.1:9", "[::1]:80", "/run/app.sock", "@name",
    /// "...tail/of/a/long/path") to `out`.
    void append_to(std::string& out) const {
        if (kind_ == kind::none) {
            return;
        }
        sockaddr_storage storage{};
        auto* raw = reinterpret_cast<unsigned char*>(&storage);
        socklen_t length = 0;
        switch (kind_) {
        case kind::v4:
            storage.ss_family = AF_INET;
            std::memcpy(raw + offsetof(sockaddr_in, sin_port), data_.data(), 2);
            std::memcpy(raw + offsetof(sockaddr_in, sin_addr), data_.data() + 2, 4);
            length = sizeof(sockaddr_in);
            break;
        case kind::v6:
            storage.ss_family = AF_INET6;
            std::memcpy(raw + offsetof(sockaddr_in6, sin6_port), data_.data(), 2);
            std::memcpy(raw + offsetof(sockaddr_in6, sin6_scope_id), data_.data() + 2, 4);
            std::memcpy(raw + offsetof(sockaddr_in6, sin6_addr), data_.data() + 6, 16);
            length = sizeof(sockaddr_in6);
            break;
        case kind::path:
        case kind::abstract: {
            storage.ss_family = AF_UNIX;
            const std::size_t path_offset = offsetof(sockaddr_un, sun_path);
            const std::size_t lead = kind_ == kind::abstract ? 1 : 0; // the abstract NUL
            std::memcpy(raw + path_offset + lead, data_.data(), size_);
            length = static_cast<socklen_t>(path_offset + lead + size_);
            break;
        }
        case kind::unnamed:
            storage.ss_family = AF_UNIX;
            length = sizeof(sa_family_t);
            break;
        case kind::other:
            std::memcpy(&storage.ss_family, data_.data(), sizeof(sa_family_t));
            length = sizeof(sa_family_t);
            break;
        case kind::none:
            break;
        }
        std::array<char, sockaddr_text_capacity> text{};
        const std::size_t used = format_sockaddr(reinterpret_cast<const sockaddr*>(&storage),
                                                 length, text.data(), text.size());
        std::size_t at = 0;
        if (cut_ && kind_ == kind::abstract) {
            out += '@';
            at = 1;
        }
        if (cut_) {
            out += "...";
        }
        out.append(text.data() + at, used - at);
    }

private:
    enum class kind : std::uint8_t {
        none,
        v4,
        v6,
        path,
        abstract,
        unnamed,
        other
    };

    void assign_path(const unsigned char* raw, socklen_t length) noexcept {
        const std::size_t path_offset = offsetof(sockaddr_un, sun_path);
        const std::size_t total =
            std::min<std::size_t>(static_cast<std::size_t>(length), sizeof(sockaddr_un));
        std::size_t size = total > path_offset ? total - path_offset : 0;
        if (size == 0) {
            kind_ = kind::unnamed;
            return;
        }
        const auto* path = raw + path_offset;
        if (path[0] == '\0') {
            kind_ = kind::abstract;
            ++path; // the NUL that makes it abstract is not part of the name
            --size;
        } else {
            kind_ = kind::path;
            // A filesystem name may or may not carry its terminating NUL in `length`.
            size = ::strnlen(reinterpret_cast<const char*>(path), size);
        }
        cut_ = size > path_capacity;
        const std::size_t kept = std::min(size, path_capacity);
        std::memcpy(data_.data(), path + (size - kept), kept);
        size_ = static_cast<std::uint8_t>(kept);
    }

    kind kind_ = kind::none;
    bool cut_ = false;
    std::uint8_t size_ = 0;
    // Left uninitialised on purpose: most errors carry no endpoint and must stay cheap to make.
    std::array<unsigned char, path_capacity>
        data_; // NOLINT(cppcoreguidelines-pro-type-member-init)
};

} // namespace netkit::detail
