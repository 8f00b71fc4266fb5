#pragma once

#include <netkit/address.hpp>
#include <netkit/fd.hpp>
#include <netkit/result.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iterator>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace netkit {

// ---- sizes, at compile time -------------------------------------------------------------------

/// CMSG_ALIGN as a constant expression.
constexpr std::size_t cmsg_align(std::size_t length) noexcept {
    return (length + sizeof(std::size_t) - 1) & ~(sizeof(std::size_t) - 1);
}
/// CMSG_LEN: header plus `payload` bytes, unpadded (what cmsg_len holds).
constexpr std::size_t cmsg_length(std::size_t payload) noexcept {
    return cmsg_align(sizeof(cmsghdr)) + payload;
}
/// CMSG_SPACE: the room one control message of `payload` bytes takes, padding included.
constexpr std::size_t cmsg_space(std::size_t payload) noexcept {
    return cmsg_align(sizeof(cmsghdr)) + cmsg_align(payload);
}
static_assert(cmsg_space(sizeof(int)) == CMSG_SPACE(sizeof(int)));
static_assert(cmsg_space(3 * sizeof(int)) == CMSG_SPACE(3 * sizeof(int)));
static_assert(cmsg_space(sizeof(in_pktinfo)) == CMSG_SPACE(sizeof(in_pktinfo)));
static_assert(cmsg_length(sizeof(ucred)) == CMSG_LEN(sizeof(ucred)));

// ---- typed payloads ---------------------------------------------------------------------------
//
// Each payload type names its level and type and says how its bytes look. `decode` reads a
// received payload (bounds checked: a payload of the wrong size decodes to nothing); `encode`
// writes one to send. `space` is what one such message takes in a control buffer.

namespace cmsg {

/// SCM_RIGHTS: descriptors, up to N of them, passed over a Unix socket.
template <std::size_t N>
struct rights {
    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_RIGHTS).
    static constexpr int type = SCM_RIGHTS;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(N * sizeof(int));
};

/// SCM_CREDENTIALS: the sender's pid, uid and gid (receiver needs `so::pass_credentials`).
struct credentials {
    pid_t pid = 0; ///< the sender's process id
    uid_t uid = 0; ///< the sender's user id
    gid_t gid = 0; ///< the sender's group id
    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_CREDENTIALS).
    static constexpr int type = SCM_CREDENTIALS;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(ucred));
    /// The kernel struct the payload bytes hold (struct ucred).
    using wire = ucred;
    /// The payload read from the kernel struct.
    static credentials from_wire(const ucred& c) noexcept { return {c.pid, c.uid, c.gid}; }
    /// The kernel struct to send this payload as.
    [[nodiscard]] ucred to_wire() const noexcept { return {pid, uid, gid}; }
};

/// IP_PKTINFO: received, the datagram's destination address and arrival interface; sent, the
/// source address (`local`) and outgoing interface to use.
struct ip_packet_info {
    ip::address_v4 destination;   ///< ipi_addr: the address the datagram was sent to
    ip::address_v4 local;         ///< ipi_spec_dst: the local address (source, when sending)
    unsigned interface_index = 0; ///< ipi_ifindex: arrival interface, or outgoing one (0: any)
    /// The cmsg_level this payload travels at (IPPROTO_IP).
    static constexpr int level = IPPROTO_IP;
    /// The cmsg_type that identifies it (IP_PKTINFO).
    static constexpr int type = IP_PKTINFO;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(in_pktinfo));
    /// The kernel struct the payload bytes hold (struct in_pktinfo).
    using wire = in_pktinfo;
    /// The payload read from the kernel struct.
    static ip_packet_info from_wire(const in_pktinfo& p) noexcept {
        return {ip::address_v4::from_in_addr(p.ipi_addr),
                ip::address_v4::from_in_addr(p.ipi_spec_dst), static_cast<unsigned>(p.ipi_ifindex)};
    }
    /// The kernel struct to send this payload as.
    [[nodiscard]] in_pktinfo to_wire() const noexcept {
        in_pktinfo p{};
        p.ipi_ifindex = static_cast<int>(interface_index);
        p.ipi_spec_dst = local.to_in_addr();
        p.ipi_addr = destination.to_in_addr();
        return p;
    }
};

/// IPV6_PKTINFO: the destination (received) or source (sent) address, and the interface.
struct ipv6_packet_info {
    ip::address_v6 address;       ///< ipi6_addr: destination (received) or source (sent)
    unsigned interface_index = 0; ///< ipi6_ifindex: arrival interface, or outgoing one (0: any)
    /// The cmsg_level this payload travels at (IPPROTO_IPV6).
    static constexpr int level = IPPROTO_IPV6;
    /// The cmsg_type that identifies it (IPV6_PKTINFO).
    static constexpr int type = IPV6_PKTINFO;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(in6_pktinfo));
    /// The kernel struct the payload bytes hold (struct in6_pktinfo).
    using wire = in6_pktinfo;
    /// The payload read from the kernel struct.
    static ipv6_packet_info from_wire(const in6_pktinfo& p) noexcept {
        return {ip::address_v6::from_in6_addr(p.ipi6_addr), p.ipi6_ifindex};
    }
    /// The kernel struct to send this payload as.
    [[nodiscard]] in6_pktinfo to_wire() const noexcept {
        in6_pktinfo p{};
        p.ipi6_addr = address.to_in6_addr();
        p.ipi6_ifindex = interface_index;
        return p;
    }
};

namespace detail {
/// Whether whole seconds since the epoch fit the system clock's duration with room to spare.
constexpr bool representable(std::int64_t seconds) noexcept {
    using rep = std::chrono::system_clock::duration;
    constexpr std::int64_t limit =
        std::chrono::duration_cast<std::chrono::seconds>(rep::max()).count() - 1;
    return seconds > -limit && seconds < limit;
}

template <int Level, int Type, class Wire>
struct int_payload {
    Wire value{};
    static constexpr int level = Level;
    static constexpr int type = Type;
    static constexpr std::size_t space = cmsg_space(sizeof(Wire));
    using wire = Wire;
    static int_payload from_wire(const Wire& w) noexcept { return {w}; }
    [[nodiscard]] Wire to_wire() const noexcept { return value; }
};
} // namespace detail

/// IP_TTL: the TTL of a received datagram (with `ip::receive_ttl`), or of one to send.
using ttl = detail::int_payload<IPPROTO_IP, IP_TTL, int>;
/// IP_TOS: the TOS byte of a received datagram (with `ip::receive_tos`), or of one to send.
using tos = detail::int_payload<IPPROTO_IP, IP_TOS, std::uint8_t>;
/// IPV6_TCLASS: the traffic class received (with `ipv6::receive_traffic_class`) or to send.
using traffic_class = detail::int_payload<IPPROTO_IPV6, IPV6_TCLASS, int>;
/// UDP_SEGMENT: send one buffer as datagrams of this size (GSO).
using udp_segment = detail::int_payload<IPPROTO_UDP, UDP_SEGMENT, std::uint16_t>;
/// UDP_GRO: the segment size of a coalesced received datagram (with `udp::gro`).
using udp_gro = detail::int_payload<IPPROTO_UDP, UDP_GRO, int>;
/// SO_RXQ_OVFL: datagrams dropped so far on this socket (with `so::receive_queue_overflow`).
using dropped = detail::int_payload<SOL_SOCKET, SO_RXQ_OVFL, std::uint32_t>;

/// SCM_TIMESTAMPNS (with `so::timestamp_ns`): when the kernel received the data.
struct timestamp_ns {
    std::chrono::system_clock::time_point time; ///< when the data was received (system clock)
    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_TIMESTAMPNS).
    static constexpr int type = SCM_TIMESTAMPNS;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(timespec));
    /// The kernel struct the payload bytes hold (struct timespec).
    using wire = timespec;
    /// The payload read from the kernel struct; nothing for a time the clock cannot represent
    /// or an impossible fraction: a hostile or corrupt payload must not overflow the conversion.
    static std::optional<timestamp_ns> from_wire(const timespec& t) noexcept {
        if (!detail::representable(t.tv_sec) || t.tv_nsec < 0 || t.tv_nsec >= 1'000'000'000) {
            return std::nullopt;
        }
        const auto since_epoch =
            std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
        return timestamp_ns{std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch))};
    }
};

/// SCM_TIMESTAMP (with `so::timestamp`): when the kernel received the data, in microseconds.
struct timestamp {
    std::chrono::system_clock::time_point time; ///< when the data was received (system clock)
    /// The cmsg_level this payload travels at (SOL_SOCKET).
    static constexpr int level = SOL_SOCKET;
    /// The cmsg_type that identifies it (SCM_TIMESTAMP).
    static constexpr int type = SCM_TIMESTAMP;
    /// The room one such message takes in a control buffer (CMSG_SPACE of its payload).
    static constexpr std::size_t space = cmsg_space(sizeof(timeval));
    /// The kernel struct the payload bytes hold (struct timeval).
    using wire = timeval;
    /// The payload read from the kernel struct; nothing for a time the clock cannot represent
    /// or an impossible fraction.
    static std::optional<timestamp> from_wire(const timeval& t) noexcept {
        if (!detail::representable(t.tv_sec) || t.tv_usec < 0 || t.tv_usec >= 1'000'000) {
            return std::nullopt;
        }
        const auto since_epoch =
            std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
        return timestamp{std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch))};
    }
};

} // namespace cmsg

/// The control buffer size, computed at compile time, that holds one message of each payload
/// type given: `control_buffer<control_space<cmsg::rights<3>, cmsg::credentials>>`.
template <class... Payloads>
inline constexpr std::size_t control_space = (std::size_t{0} + ... + Payloads::space);

// ---- parsing: bounds-checked, whatever the bytes ---------------------------------------------

/// One control message inside a received control area: its level, type and payload bytes.
class control_message {
public:
    /// A message of `level` and `type` whose payload is `data` (a view: nothing is copied).
    constexpr control_message(int level, int type, std::span<const std::byte> data) noexcept
        : level_(level),
          type_(type),
          data_(data) {}

    /// cmsg_level: SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, ...
    [[nodiscard]] constexpr int level() const noexcept { return level_; }
    /// cmsg_type: SCM_RIGHTS, IP_PKTINFO, ...
    [[nodiscard]] constexpr int type() const noexcept { return type_; }
    /// The payload, exactly as the kernel wrote it.
    [[nodiscard]] constexpr std::span<const std::byte> data() const noexcept { return data_; }

    /// Whether this message is of payload type T (by level and type).
    template <class T>
    [[nodiscard]] constexpr bool is() const noexcept {
        return level_ == T::level && type_ == T::type;
    }

    /// The payload as T, or nothing if this is not a T or its size is not a T's (a malformed or
    /// foreign message is never misread). A narrower integer may also arrive as an int, as IP_TOS
    /// may (one byte or an int); it is read only if its value fits, never truncated.
    template <class T>
    [[nodiscard]] std::optional<T> as() const noexcept {
        if (!is<T>()) {
            return std::nullopt;
        }
        using wire = typename T::wire;
        wire value{};
        if (data_.size() == sizeof(wire)) {
            std::memcpy(&value, data_.data(), sizeof(wire));
        } else if constexpr (std::is_integral_v<wire>) {
            int wide = 0;
            if (data_.size() != sizeof(int)) {
                return std::nullopt;
            }
            std::memcpy(&wide, data_.data(), sizeof(int));
            if (!std::in_range<wire>(wide)) {
                return std::nullopt;
            }
            value = static_cast<wire>(wide);
        } else {
            return std::nullopt;
        }
        if constexpr (std::is_same_v<decltype(T::from_wire(value)), std::optional<T>>) {
            return T::from_wire(value);
        } else {
            return std::optional<T>(T::from_wire(value));
        }
    }

    /// For SCM_RIGHTS: how many descriptors the payload holds (the descriptors themselves are
    /// owned by the control buffer they arrived in).
    [[nodiscard]] std::size_t descriptor_count() const noexcept {
        return level_ == SOL_SOCKET && type_ == SCM_RIGHTS ? data_.size() / sizeof(int) : 0;
    }
    /// For SCM_RIGHTS: descriptor number `i` (not owned: see `control_buffer::take_descriptor`).
    [[nodiscard]] int descriptor(std::size_t i) const noexcept {
        int fd = -1;
        if (i < descriptor_count()) {
            std::memcpy(&fd, data_.data() + i * sizeof(int), sizeof(int));
        }
        return fd;
    }

private:
    int level_;
    int type_;
    std::span<const std::byte> data_;
};

/// The control messages in a span of bytes, as a forward range. The walk checks every header
/// against the bytes that remain and stops at the first one that does not fit, so no byte
/// outside the span is ever read, whatever the span holds.
class control_messages {
public:
    /// A forward iterator over the messages; it stops at the end of the area or at the first
    /// header whose length is too short or runs past the area.
    class iterator {
    public:
        using value_type = control_message;                  ///< the message it points to
        using difference_type = std::ptrdiff_t;              ///< as forward iterators require
        using iterator_category = std::forward_iterator_tag; ///< a forward iterator

        /// The end of every walk.
        iterator() noexcept = default;
        /// The first message of `rest`, or the end if it holds no valid one.
        explicit iterator(std::span<const std::byte> rest) noexcept : rest_(rest) { load(); }

        /// The current message (its payload is a view into the control area).
        control_message operator*() const noexcept { return current_; }
        /// Moves to the next message, or to the end.
        iterator& operator++() noexcept {
            // The next header starts at the aligned end of this one; if that is past the
            // span, the walk is over.
            const std::size_t step = cmsg_align(length_);
            rest_ = step >= rest_.size() ? std::span<const std::byte>() : rest_.subspan(step);
            load();
            return *this;
        }
        /// Moves to the next message; returns the iterator as it was.
        iterator operator++(int) noexcept {
            iterator before = *this;
            ++*this;
            return before;
        }
        /// True if both are at the same position of the same area (or both at the end).
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.rest_.data() == b.rest_.data() && a.rest_.size() == b.rest_.size();
        }

    private:
        void load() noexcept {
            constexpr std::size_t header = cmsg_align(sizeof(cmsghdr));
            cmsghdr h{};
            if (rest_.size() < sizeof(cmsghdr)) {
                rest_ = {};
                return;
            }
            std::memcpy(&h, rest_.data(), sizeof h);
            if (h.cmsg_len < header || h.cmsg_len > rest_.size()) {
                rest_ = {}; // a header that lies about its length ends the walk
                return;
            }
            length_ = h.cmsg_len;
            current_ = control_message(h.cmsg_level, h.cmsg_type,
                                       rest_.subspan(header, h.cmsg_len - header));
        }

        std::span<const std::byte> rest_{};
        std::size_t length_ = 0;
        control_message current_{0, 0, {}};
    };

    /// No messages.
    constexpr control_messages() noexcept = default;
    /// The messages of the control area `bytes` (a view: the area must outlive the range).
    constexpr explicit control_messages(std::span<const std::byte> bytes) noexcept
        : bytes_(bytes) {}

    /// The first message.
    [[nodiscard]] iterator begin() const noexcept { return iterator(bytes_); }
    /// The end of the walk.
    [[nodiscard]] iterator end() const noexcept { return iterator(); }
    /// True if the area holds no valid message.
    [[nodiscard]] bool empty() const noexcept { return begin() == end(); }

    /// The first message of payload type T, decoded.
    template <class T>
    [[nodiscard]] std::optional<T> find() const noexcept {
        for (const control_message m : *this) {
            if (auto value = m.as<T>()) {
                return value;
            }
        }
        return std::nullopt;
    }

private:
    std::span<const std::byte> bytes_;
};

/// Parses a control area (what recvmsg wrote into msg_control, msg_controllen bytes).
[[nodiscard]] inline control_messages parse_control(std::span<const std::byte> bytes) noexcept {
    return control_messages(bytes);
}

// ---- the buffer: what to send, and where received control data lands -------------------------

/// Storage for ancillary data, of a size fixed at compile time. To send, fill it with `add`;
/// to receive, pass it to `receive_message` and read `messages()`.
///
/// Descriptors received with SCM_RIGHTS are owned by the buffer the moment they arrive: take
/// them with `take_descriptor(i)`; any not taken are closed by the next receive into this buffer
/// or by its destructor, so ignoring them cannot leak them.
class control_storage {
public:
    control_storage(const control_storage&) = delete;
    control_storage& operator=(const control_storage&) = delete;

    /// Appends one control message to send. Errors: `no_buffer_space` if it does not fit.
    template <class Payload>
    result<void> add(const Payload& payload) noexcept {
        const auto wire = payload.to_wire();
        return add_raw(Payload::level, Payload::type, std::as_bytes(std::span(&wire, 1)));
    }
    /// Appends SCM_RIGHTS with these descriptors (the kernel duplicates them into the receiver).
    result<void> add_descriptors(std::span<const int> fds) noexcept {
        return add_raw(SOL_SOCKET, SCM_RIGHTS, std::as_bytes(fds));
    }
    /// Appends any control message, as raw bytes.
    result<void> add_raw(int level, int type, std::span<const std::byte> payload) noexcept {
        const std::size_t space = cmsg_space(payload.size());
        if (used_ + space > bytes_.size()) {
            return detail::errc_failure(std::errc::no_buffer_space, "control message");
        }
        std::byte* at = bytes_.data() + used_;
        std::memset(at, 0, space);
        cmsghdr header{};
        header.cmsg_len = cmsg_length(payload.size());
        header.cmsg_level = level;
        header.cmsg_type = type;
        std::memcpy(at, &header, sizeof header);
        if (!payload.empty()) {
            std::memcpy(at + cmsg_align(sizeof(cmsghdr)), payload.data(), payload.size());
        }
        used_ += space;
        return {};
    }

    /// Control messages written so far (to send) or received.
    [[nodiscard]] control_messages messages() const noexcept {
        return parse_control(bytes_.first(used_));
    }
    /// The bytes written so far (to send) or received: what goes in msg_control.
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_.first(used_); }
    /// The size of the whole control area, in bytes.
    [[nodiscard]] std::size_t capacity() const noexcept { return bytes_.size(); }

    /// Descriptors received and not yet taken.
    [[nodiscard]] std::size_t descriptor_count() const noexcept { return fd_count_; }
    /// Takes ownership of received descriptor `i`. Errors: `std::errc::invalid_argument` for an
    /// index past the descriptors received, `std::errc::bad_file_descriptor` for one already
    /// taken (each taken once: a second owner would close it twice).
    [[nodiscard]] result<file_descriptor> take_descriptor(std::size_t i) noexcept {
        if (i >= fd_count_) {
            return detail::errc_failure(std::errc::invalid_argument,
                                        "take_descriptor (index past the descriptors received)");
        }
        if (fds_[i] < 0) {
            return detail::errc_failure(std::errc::bad_file_descriptor,
                                        "take_descriptor (already taken)");
        }
        return file_descriptor(std::exchange(fds_[i], -1));
    }

    /// Forgets what was written or received, closing received descriptors not taken.
    void clear() noexcept {
        for (std::size_t i = 0; i < fd_count_; ++i) {
            file_descriptor(std::exchange(fds_[i], -1)).reset();
        }
        fd_count_ = 0;
        used_ = 0;
    }

    /// For the receive path: clears the storage (as `clear()`) and returns the whole area for
    /// the kernel to write into; `received()` then records what it wrote.
    [[nodiscard]] std::span<std::byte> receive_area() noexcept {
        clear();
        return bytes_;
    }
    /// Records `length` bytes written by the kernel and takes ownership of every descriptor in
    /// them at once, before anything else can fail.
    void received(std::size_t length) noexcept {
        used_ = std::min(length, bytes_.size());
        for (const control_message m : messages()) {
            for (std::size_t i = 0; i < m.descriptor_count(); ++i) {
                const int fd = m.descriptor(i);
                if (fd < 0) {
                    continue;
                }
                if (fd_count_ < fds_.size()) {
                    fds_[fd_count_++] = fd;
                } else {
                    file_descriptor(fd).reset(); // cannot happen (sized to the area); never leak
                }
            }
        }
    }

protected:
    /// Storage over `bytes` (the control area) and `fds` (room for the received descriptors),
    /// both owned by the derived class (control_buffer).
    control_storage(std::span<std::byte> bytes, std::span<int> fds) noexcept
        : bytes_(bytes),
          fds_(fds) {}
    ~control_storage() { clear(); }

private:
    std::span<std::byte> bytes_;
    std::span<int> fds_;
    std::size_t used_ = 0;
    std::size_t fd_count_ = 0;
};

/// A control buffer of `Capacity` bytes on the stack (no allocation). Size it with
/// `control_space<...>`: `netkit::control_buffer<netkit::control_space<netkit::cmsg::rights<3>>>`.
template <std::size_t Capacity>
class control_buffer : public control_storage {
    static_assert(Capacity >= cmsg_space(0),
                  "netkit: a control buffer must hold at least one header");

public:
    control_buffer() noexcept : control_storage(bytes_, fds_) {}
    // Close untaken descriptors while this object's arrays are still alive.
    ~control_buffer() { clear(); }
    control_buffer(const control_buffer&) = delete;
    control_buffer& operator=(const control_buffer&) = delete;

private:
    alignas(cmsghdr) std::array<std::byte, Capacity> bytes_{};
    std::array<int, Capacity / sizeof(int)> fds_{};
};

} // namespace netkit
