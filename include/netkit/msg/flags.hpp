#pragma once

#include <sys/socket.h>

namespace netkit {

/// A set of MSG_* flags that belongs to one direction: `send_flags` and `receive_flags` are
/// distinct types, so `receive_flag::peek` cannot be passed to a send by mistake.
template <class Direction>
class flag_set {
public:
    /// No flags.
    constexpr flag_set() noexcept = default;

    /// The escape hatch for a MSG_* flag netkit has no name for: the bits go to the kernel as
    /// they are, unchecked. There is deliberately no constructor from int, so that
    /// `send_flags{MSG_PEEK}` does not compile by accident.
    [[nodiscard]] static constexpr flag_set from_native(int bits) noexcept {
        return flag_set(bits);
    }

    /// The MSG_* bits, as the kernel takes them.
    [[nodiscard]] constexpr int bits() const noexcept { return bits_; }
    /// True if every flag of `other` is set here (an empty `other` is always contained).
    [[nodiscard]] constexpr bool contains(flag_set other) const noexcept {
        return (bits_ & other.bits_) == other.bits_;
    }
    /// True if no flag is set.
    [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }

    /// The flags of both: `send_flag::dont_wait | send_flag::more`.
    friend constexpr flag_set operator|(flag_set a, flag_set b) noexcept {
        return flag_set(a.bits_ | b.bits_);
    }
    /// The flags set in both.
    friend constexpr flag_set operator&(flag_set a, flag_set b) noexcept {
        return flag_set(a.bits_ & b.bits_);
    }
    /// Adds the flags of `other`.
    constexpr flag_set& operator|=(flag_set other) noexcept {
        bits_ |= other.bits_;
        return *this;
    }
    /// True if both hold exactly the same bits.
    friend constexpr bool operator==(flag_set, flag_set) noexcept = default;

private:
    constexpr explicit flag_set(int bits) noexcept : bits_(bits) {}

    int bits_ = 0;
};

struct send_direction;
struct receive_direction;
using send_flags = flag_set<send_direction>;
using receive_flags = flag_set<receive_direction>;

/// Flags for send, send_to and sendmsg. MSG_NOSIGNAL is always added by netkit and is not listed.
namespace send_flag {
/// No flag: the default of every send.
inline constexpr send_flags none{};
/// MSG_DONTWAIT: fail with `would_block` instead of blocking, for this call only.
inline constexpr send_flags dont_wait = send_flags::from_native(MSG_DONTWAIT);
/// MSG_OOB: TCP urgent data.
inline constexpr send_flags out_of_band = send_flags::from_native(MSG_OOB);
/// MSG_MORE: more data follows; the kernel may hold this back to fill a segment or datagram.
inline constexpr send_flags more = send_flags::from_native(MSG_MORE);
/// MSG_DONTROUTE: only to directly connected hosts.
inline constexpr send_flags dont_route = send_flags::from_native(MSG_DONTROUTE);
/// MSG_EOR: ends a record (SOCK_SEQPACKET).
inline constexpr send_flags end_of_record = send_flags::from_native(MSG_EOR);
/// MSG_CONFIRM: tell the neighbour layer the link is alive (datagrams).
inline constexpr send_flags confirm = send_flags::from_native(MSG_CONFIRM);
} // namespace send_flag

/// Flags for receive, receive_from and recvmsg.
namespace receive_flag {
/// No flag: the default of every receive.
inline constexpr receive_flags none{};
/// MSG_PEEK: look at the data without taking it from the queue.
inline constexpr receive_flags peek = receive_flags::from_native(MSG_PEEK);
/// MSG_WAITALL: block until the whole buffer is filled (or EOF, error, signal).
inline constexpr receive_flags wait_all = receive_flags::from_native(MSG_WAITALL);
/// MSG_DONTWAIT: fail with `would_block` instead of blocking, for this call only.
inline constexpr receive_flags dont_wait = receive_flags::from_native(MSG_DONTWAIT);
/// MSG_OOB: TCP urgent data.
inline constexpr receive_flags out_of_band = receive_flags::from_native(MSG_OOB);
/// MSG_ERRQUEUE: read the socket's error queue (timestamps, zerocopy completions, ICMP errors).
inline constexpr receive_flags error_queue = receive_flags::from_native(MSG_ERRQUEUE);
} // namespace receive_flag

/// The flags the kernel sets on a received message (recvmsg's msg_flags).
class message_flags {
public:
    constexpr message_flags() noexcept = default;
    /// Keeps the flags that describe a message; request flags the kernel echoes back
    /// (MSG_CMSG_CLOEXEC, MSG_DONTWAIT, ...) are dropped.
    constexpr explicit message_flags(int bits) noexcept : bits_(bits & reported) {}

    /// MSG_TRUNC: the datagram was larger than the buffers; the rest is lost.
    [[nodiscard]] constexpr bool truncated() const noexcept { return (bits_ & MSG_TRUNC) != 0; }
    /// MSG_CTRUNC: control data did not fit; some ancillary data (maybe descriptors) was lost.
    [[nodiscard]] constexpr bool control_truncated() const noexcept {
        return (bits_ & MSG_CTRUNC) != 0;
    }
    /// MSG_EOR: the message ends a record.
    [[nodiscard]] constexpr bool end_of_record() const noexcept { return (bits_ & MSG_EOR) != 0; }
    /// MSG_OOB: out-of-band data was received.
    [[nodiscard]] constexpr bool out_of_band() const noexcept { return (bits_ & MSG_OOB) != 0; }
    /// MSG_ERRQUEUE: the message came from the error queue.
    [[nodiscard]] constexpr bool from_error_queue() const noexcept {
        return (bits_ & MSG_ERRQUEUE) != 0;
    }
    /// The reported MSG_* bits (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_ERRQUEUE only).
    [[nodiscard]] constexpr int bits() const noexcept { return bits_; }
    /// True if both report the same flags.
    friend constexpr bool operator==(message_flags, message_flags) noexcept = default;

private:
    static constexpr int reported = MSG_TRUNC | MSG_CTRUNC | MSG_EOR | MSG_OOB | MSG_ERRQUEUE;
    int bits_ = 0;
};

/// How a socket waits, chosen when it is opened or accepted (SOCK_NONBLOCK, accept4's flag), so a
/// readiness loop gets a non-blocking socket without a second system call (`fcntl`).
enum class io_mode : unsigned char {
    blocking,    ///< calls wait for room or data (the default)
    non_blocking ///< a call that would wait fails at once with an error whose `would_block()`
                 ///< is true (`connect`: `std::errc::operation_in_progress`)
};

/// Which directions `shutdown` ends.
enum class shutdown_type : int {
    read = SHUT_RD,   ///< no more receiving: queued and future data is discarded, receive gives 0
    write = SHUT_WR,  ///< no more sending: the peer reads end-of-stream once queued data is read
    both = SHUT_RDWR, ///< both
};
/// `sock.shutdown(netkit::shutdown::write)`.
namespace shutdown {
inline constexpr shutdown_type read = shutdown_type::read;   ///< shutdown_type::read (SHUT_RD)
inline constexpr shutdown_type write = shutdown_type::write; ///< shutdown_type::write (SHUT_WR)
inline constexpr shutdown_type both = shutdown_type::both;   ///< shutdown_type::both (SHUT_RDWR)
} // namespace shutdown

} // namespace netkit
