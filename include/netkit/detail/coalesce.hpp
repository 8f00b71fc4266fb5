#pragma once

// The adaptive send: a message of small fragments is copied into one buffer on the stack and
// sent as one range, because the kernel's work per iovec costs more than copying a few hundred
// bytes here; a message with any large fragment is gathered, never copied. The rule and the
// measurements behind it are in docs/design.md, "Small fragments are copied, large ones gathered".

#include <netkit/buffer/buffer.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/result.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <span>

#include <sys/socket.h>
#include <sys/uio.h>

namespace netkit::detail {

// The stack buffer a message is copied into: a message larger than this is always gathered.
inline constexpr std::size_t coalesce_capacity = 16384;
// A fragment this long or longer is never copied: the message it is in is gathered.
inline constexpr std::size_t coalesce_fragment_limit = 512;

// The message's size when it should be copied and sent as one range, else 0: at least two
// fragments, all shorter than the limit, together within the stack buffer. MSG_ZEROCOPY is
// never coalesced: the kernel would pin the stack buffer and send from it after it is reused.
inline std::size_t coalescible_size(std::span<const iovec> iov, int flags) noexcept {
    if (iov.size() < 2 || iov.size() > coalesce_capacity || (flags & MSG_ZEROCOPY) != 0) {
        return 0;
    }
    std::size_t total = 0;
    for (const iovec& v : iov) {
        total += v.iov_len;
        if (v.iov_len >= coalesce_fragment_limit || total > coalesce_capacity) {
            return 0;
        }
    }
    return total;
}

// The stack buffer of one coalesced send, filled from the fragments.
class coalesced_bytes {
public:
    coalesced_bytes(std::span<const iovec> iov, std::size_t size) noexcept : size_(size) {
        char* at = bytes_.data();
        for (const iovec& v : iov) {
            if (v.iov_len != 0) { // an empty range may have no storage: memcpy from null is UB
                std::memcpy(at, v.iov_base, v.iov_len);
                at += v.iov_len;
            }
        }
    }
    coalesced_bytes(const coalesced_bytes&) = delete;
    coalesced_bytes& operator=(const coalesced_bytes&) = delete;
    coalesced_bytes(coalesced_bytes&&) = delete;
    coalesced_bytes& operator=(coalesced_bytes&&) = delete;
    ~coalesced_bytes() = default;

    [[nodiscard]] const char* data() const noexcept { return bytes_.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] iovec as_iovec() noexcept { return {bytes_.data(), size_}; }

private:
    std::size_t size_;
    std::array<char, coalesce_capacity> bytes_; // NOLINT(*-member-init): filled up to size_
};

// A copied send fails as the gather it replaces would have: named "sendmsg" (with its
// destination, if any), so that an error does not depend on the sizes of the fragments.
inline failure as_sendmsg_failure(const error& failed, const void* name,
                                  socklen_t name_length) noexcept {
    error renamed = name == nullptr ? error(failed.code(), "sendmsg")
                                    : error(failed.code(), "sendmsg",
                                            static_cast<const sockaddr*>(name), name_length);
    return failure{renamed.with_bytes_transferred(failed.bytes_transferred())};
}

} // namespace netkit::detail
