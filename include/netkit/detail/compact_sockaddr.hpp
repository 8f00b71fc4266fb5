#pragma once

#include <netkit/detail/minimal_algorithms.hpp>
#include <netkit/detail/sockaddr_text.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace netkit::detail {

/// The endpoint an error concerns, kept in 28 bytes so that `netkit::error` (and with it
/// `result<std::size_t>`) fits in one cache line. IPv4 and IPv6 endpoints are kept whole; a Unix
/// path longer than `path_capacity` keeps its tail (the file name tells paths apart better than
/// the directory) and its text starts with "...". Storing costs a few copies; the text is built
/// only when a message is asked for.
///
/// Instead of an address it can hold the text an operation was given (`assign_text`: what a
/// parse refused) or a host and service (`assign_host_service`: what resolve could not find).
/// Text keeps its first bytes; its message form is quoted, with `"`, `\` and every byte that is
/// not printable ASCII escaped (`\"`, `\\`, `\xNN`), and "..." after a part that was cut.
class compact_sockaddr {
public:
    static constexpr std::size_t path_capacity = 25;
    static constexpr std::size_t text_capacity = path_capacity;

    /// Keeps `text`, or its first `text_capacity` bytes; its message form is "300.1.1.1:80"
    /// (with the quotes).
    void assign_text(std::string_view text) noexcept {
        kind_ = kind::text;
        cut_ = text.size() > text_capacity ? cut_first : 0;
        const std::size_t kept = min_of(text.size(), text_capacity);
        if (kept != 0) { // an empty view's data() may be null
            std::memcpy(data_.data(), text.data(), kept);
        }
        size_ = static_cast<std::uint8_t>(kept);
    }

    /// Keeps a host and a service; the message form quotes the host: "example.invalid":80. One
    /// byte holds the host's length, the rest both texts; when they do not fit, the host keeps
    /// at least 16 bytes and the service at least 8.
    void assign_host_service(std::string_view host, std::string_view service) noexcept {
        constexpr std::size_t room = text_capacity - 1;
        const std::size_t service_room =
            max_of<std::size_t>(room - min_of(host.size(), room), room - host_priority);
        const std::size_t service_kept = min_of(service.size(), service_room);
        const std::size_t host_kept = min_of(host.size(), room - service_kept);
        kind_ = kind::host_service;
        cut_ = static_cast<std::uint8_t>((host_kept < host.size() ? cut_first : 0) |
                                         (service_kept < service.size() ? cut_second : 0));
        data_[0] = static_cast<unsigned char>(host_kept);
        if (host_kept != 0) { // an empty view's data() may be null
            std::memcpy(data_.data() + 1, host.data(), host_kept);
        }
        if (service_kept != 0) {
            std::memcpy(data_.data() + 1 + host_kept, service.data(), service_kept);
        }
        size_ = static_cast<std::uint8_t>(1 + host_kept + service_kept);
    }

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
        if (kind_ == kind::text || kind_ == kind::host_service) {
            append_text_to(out);
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
        case kind::text:
        case kind::host_service:
            break;
        }
        std::array<char, sockaddr_text_capacity> text{};
        const std::size_t used = format_sockaddr(reinterpret_cast<const sockaddr*>(&storage),
                                                 length, text.data(), text.size());
        std::size_t at = 0;
        if (cut_ != 0 && kind_ == kind::abstract) {
            out += '@';
            at = 1;
        }
        if (cut_ != 0) {
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
        other,
        text,        ///< data_: the text
        host_service ///< data_: host length, host, service
    };
    static constexpr std::uint8_t cut_first = 1;  ///< the text, or the host, was cut
    static constexpr std::uint8_t cut_second = 2; ///< the service was cut
    static constexpr std::size_t host_priority = 16;

    static void append_escaped(std::string& out, const unsigned char* bytes, std::size_t size) {
        static constexpr std::string_view hex = "0123456789abcdef";
        for (std::size_t i = 0; i < size; ++i) {
            const unsigned char c = bytes[i];
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x20 || c > 0x7e) {
                out += "\\x";
                out += hex[c >> 4U];
                out += hex[c & 0xfU];
            } else {
                out += static_cast<char>(c);
            }
        }
    }

    void append_text_to(std::string& out) const {
        const bool pair = kind_ == kind::host_service;
        const std::size_t first_at = pair ? 1 : 0;
        const std::size_t first_size = pair ? data_[0] : size_;
        out += '"';
        append_escaped(out, data_.data() + first_at, first_size);
        out += '"';
        if ((cut_ & cut_first) != 0) {
            out += "...";
        }
        const std::size_t second_at = first_at + first_size;
        if (pair && (second_at < size_ || (cut_ & cut_second) != 0)) {
            out += ':';
            append_escaped(out, data_.data() + second_at, size_ - second_at);
            if ((cut_ & cut_second) != 0) {
                out += "...";
            }
        }
    }

    void assign_path(const unsigned char* raw, socklen_t length) noexcept {
        const std::size_t path_offset = offsetof(sockaddr_un, sun_path);
        const std::size_t total =
            min_of<std::size_t>(static_cast<std::size_t>(length), sizeof(sockaddr_un));
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
        cut_ = size > path_capacity ? cut_first : 0;
        const std::size_t kept = min_of(size, path_capacity);
        std::memcpy(data_.data(), path + (size - kept), kept);
        size_ = static_cast<std::uint8_t>(kept);
    }

    kind kind_ = kind::none;
    std::uint8_t cut_ = 0; // paths: 0 or 1; text: cut_first | cut_second
    std::uint8_t size_ = 0;
    // Left uninitialised on purpose: most errors carry no endpoint and must stay cheap to make.
    std::array<unsigned char, path_capacity>
        data_; // NOLINT(cppcoreguidelines-pro-type-member-init)
};

} // namespace netkit::detail
