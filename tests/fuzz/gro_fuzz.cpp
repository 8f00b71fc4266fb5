// libFuzzer target: splitting coalesced (GRO) receives into datagrams, with any segment size (0
// and huge included), any byte count, any control data and flags, alone and inside a batch of
// one or more messages whose lengths and flags are the input's. Whatever the input, the
// datagrams cover exactly the bytes received, in order and without a gap; none is empty or
// larger than the segment size, all but the last are of that size, and none is lost.
//
// Input (missing bytes read as 0):
//   selector  low 2 bits: segment size 0 | 1 + next byte | next 2 bytes | next 8 bytes
//   flags     bit 0 MSG_CTRUNC, bit 1 MSG_TRUNC (for the receive of the whole payload)
//   L, then L bytes of control data (their SCM_RIGHTS messages renamed: a batch would close
//             descriptors it finds there)
//   2 bytes   the batch's slot size; 1 byte: messages received (1 to 4); per message 2 bytes of
//             length (which may exceed the slot, as recvmmsg's does with MSG_TRUNC) and 1 byte
//             of flags
//   the rest  the payload
#include <netkit/msg/segments.hpp>

#include <netkit/msg/batch.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/flags.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include <sys/socket.h>

namespace nk = netkit;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

class reader {
public:
    explicit reader(std::span<const std::uint8_t> bytes) : rest_(bytes) {}

    std::uint64_t number(std::size_t width) {
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < width && !rest_.empty(); ++i) {
            value |= std::uint64_t{rest_.front()} << (8 * i);
            rest_ = rest_.subspan(1);
        }
        return value;
    }
    std::span<const std::uint8_t> bytes(std::size_t count) {
        const auto taken = rest_.first(count < rest_.size() ? count : rest_.size());
        rest_ = rest_.subspan(taken.size());
        return taken;
    }
    std::span<const std::uint8_t> rest() const { return rest_; }

private:
    std::span<const std::uint8_t> rest_;
};

std::size_t segment_size(reader& in) {
    switch (in.number(1) & 3U) {
    case 0:
        return 0;
    case 1:
        return 1 + static_cast<std::size_t>(in.number(1));
    case 2:
        return static_cast<std::size_t>(in.number(2));
    default:
        return static_cast<std::size_t>(in.number(8));
    }
}

int flag_bits(std::uint64_t bits) {
    return ((bits & 1U) != 0 ? MSG_CTRUNC : 0) | ((bits & 2U) != 0 ? MSG_TRUNC : 0);
}

// The invariants of one split of `bytes`: every byte in exactly one datagram, in order; no
// datagram empty or over the segment size; every one but the last of exactly that size.
void check_split(std::span<const std::byte> bytes, const nk::udp::segments& parts) {
    const std::size_t size = parts.datagram_size();
    require(parts.empty() == bytes.empty());
    require(bytes.empty() ? size == 0 : size >= 1 && size <= bytes.size());
    std::size_t covered = 0;
    std::size_t count = 0;
    for (auto it = parts.begin(); it != parts.end(); ++it) {
        const auto datagram = *it;
        require(++count <= bytes.size()); // a walk that stops advancing never ends
        require(datagram.data() == bytes.data() + covered);
        require(!datagram.empty() && datagram.size() <= size);
        covered += datagram.size();
        require(covered == bytes.size() || datagram.size() == size);
    }
    require(covered == bytes.size());
    require(count == parts.size());
}

// The iterator on its own, as a caller may build one: it must end too.
void check_iterator(std::span<const std::byte> bytes, std::size_t size) {
    std::size_t covered = 0;
    std::size_t steps = 0;
    for (nk::udp::segments::iterator it(bytes, size); it != nk::udp::segments::iterator(); ++it) {
        require(++steps <= bytes.size());
        const auto datagram = *it;
        require(datagram.data() == bytes.data() + covered && !datagram.empty());
        require(size == 0 || datagram.size() <= size);
        covered += datagram.size();
    }
    require(covered == bytes.size());
}

// datagrams_of as the receive paths call it: the segment size is the control data's, and only a
// receive whose control data was cut short and holds none is refused.
void check_datagrams_of(std::span<const std::byte> bytes, const nk::control_messages& control,
                        nk::message_flags flags) {
    const auto reported = nk::udp::coalesced_segment_size(control);
    require(!reported || *reported > 0);
    const auto parts = nk::udp::datagrams_of(bytes, control, flags);
    if (!parts) {
        require(parts.error() == std::errc::no_buffer_space);
        require(!reported && flags.control_truncated());
        return;
    }
    check_split(bytes, *parts);
    const std::size_t whole = bytes.size();
    require(parts->datagram_size() ==
            (reported && *reported < whole ? *reported : whole)); // never the wrong cut
}

// Renames every SCM_RIGHTS message of `control` (its walk is the parser's own), so that the
// batch, which owns the descriptors it receives, finds none to close.
void rename_descriptors(std::span<std::byte> control) {
    constexpr std::size_t header = nk::cmsg_align(sizeof(cmsghdr));
    for (const nk::control_message m : nk::parse_control(control)) {
        if (m.level() == SOL_SOCKET && m.type() == SCM_RIGHTS) {
            const auto at = static_cast<std::size_t>(m.data().data() - control.data()) - header;
            const int other = SCM_RIGHTS + 1000;
            std::memcpy(control.data() + at + offsetof(cmsghdr, cmsg_type), &other, sizeof other);
        }
    }
}

constexpr std::size_t batch_messages = 4;
constexpr std::size_t batch_control = 256; // room for any control data of the input

// A batch of `received` messages as recvmmsg leaves it, each with its length, flags and the
// control data, then every message split.
void check_batch(reader& in, std::span<const std::byte> control) {
    const auto slot = static_cast<std::size_t>(in.number(2));
    const std::size_t received = 1 + static_cast<std::size_t>(in.number(1) % batch_messages);
    std::array<std::size_t, batch_messages> lengths{};
    std::array<int, batch_messages> flags{};
    for (std::size_t i = 0; i < received; ++i) {
        lengths[i] = static_cast<std::size_t>(in.number(2));
        flags[i] = flag_bits(in.number(1));
    }
    const auto payload = in.rest();
    std::vector<std::byte> area(payload.size());
    if (!payload.empty()) {
        std::memcpy(area.data(), payload.data(), payload.size());
    }

    nk::udp::batch<batch_messages, 1, batch_control> batch;
    const auto added = batch.add_receive_slots(area, slot);
    require(added.has_value() == (slot > 0));
    if (!added || *added == 0) {
        return;
    }
    const std::size_t count = received < *added ? received : *added;
    batch.prepare_receive();
    for (std::size_t i = 0; i < count; ++i) {
        const auto room = batch.control(i).receive_area();
        if (!control.empty()) {
            std::memcpy(room.data(), control.data(), control.size());
        }
        mmsghdr& entry = batch.header(i).native_entry();
        entry.msg_len = static_cast<unsigned>(lengths[i]);
        entry.msg_hdr.msg_flags = flags[i];
        entry.msg_hdr.msg_controllen = control.size();
    }
    batch.mark_completed(count, true);
    for (std::size_t i = 0; i < count; ++i) {
        const auto bytes = batch.bytes(i);
        require(bytes.data() == area.data() + i * slot);
        require(bytes.size() == (lengths[i] < slot ? lengths[i] : slot));
        check_datagrams_of(bytes, batch.control(i).messages(), batch.header(i).flags());
        // The batch's own call splits the same bytes the same way.
        const auto parts = nk::udp::datagrams_of(batch, i);
        const auto alone =
            nk::udp::datagrams_of(bytes, batch.control(i).messages(), batch.header(i).flags());
        require(parts.has_value() == alone.has_value());
        if (parts) {
            check_split(bytes, *parts);
            require(parts->datagram_size() == alone->datagram_size());
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    reader in(std::span<const std::uint8_t>(data, size));
    const std::size_t segment = segment_size(in);
    const auto flags = nk::message_flags(flag_bits(in.number(1)));
    const auto control_input = in.bytes(static_cast<std::size_t>(in.number(1)));
    std::vector<std::byte> control(control_input.size()); // its own block: ASan sees overreads
    if (!control.empty()) {
        std::memcpy(control.data(), control_input.data(), control.size());
    }
    rename_descriptors(control);

    // What follows is the batch's fields and payload; all of it is also one receive's bytes.
    reader batch_fields = in;
    const auto payload_input = in.rest();
    std::vector<std::byte> payload(payload_input.size());
    if (!payload.empty()) {
        std::memcpy(payload.data(), payload_input.data(), payload.size());
    }
    check_split(payload, nk::udp::segments(payload, segment));
    check_iterator(payload, segment);
    check_datagrams_of(payload, nk::parse_control(control), flags);

    check_batch(batch_fields, control);
    return 0;
}
