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

// Whether a message may be copied, from what costs nothing to look at: at least two fragments,
// no more than could fit, neither end one large (a header and a large body are the common
// message that must be gathered), and no MSG_ZEROCOPY, which would have the kernel pin the stack
// buffer and send from it after it is reused. `coalesced_bytes` checks every fragment as it
// copies.
inline bool may_copy(std::span<const iovec> iov, int flags) noexcept {
    return iov.size() >= 2 && iov.size() <= coalesce_capacity && (flags & MSG_ZEROCOPY) == 0 &&
           iov.front().iov_len < coalesce_fragment_limit &&
           iov.back().iov_len < coalesce_fragment_limit;
}

// The stack buffer of one coalesced send. It copies the fragments while each is shorter than
// the limit and all fit, in one pass, since a separate pass to decide first cost about a tenth
// of a small message's user-space instructions (callgrind); at the first fragment that does not
// qualify it stops with size() 0, and the message is gathered. What was copied in vain is at
// most the small fragments before a large one in the middle of a message.
class coalesced_bytes {
public:
    explicit coalesced_bytes(std::span<const iovec> iov) noexcept {
        char* at = bytes_.data();
        std::size_t room = coalesce_capacity;
        for (const iovec& v : iov) {
            if (v.iov_len >= coalesce_fragment_limit || v.iov_len > room) {
                return;
            }
            if (v.iov_len != 0) { // an empty range may have no storage: memcpy from null is UB
                std::size_t length = v.iov_len;
                // Hides the bound just checked: knowing a copy is under 512 bytes, g++ expands
                // memcpy into a loop of 8-byte moves, which callgrind counts at three times the
                // instructions of the C library's vector copy for 64 bytes.
                asm("" : "+r"(length));
                std::memcpy(at, v.iov_base, length);
                at += length;
                room -= length;
            }
        }
        size_ = coalesce_capacity - room;
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
    std::size_t size_ = 0;
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
