// libFuzzer target: an error-queue entry decoded from arbitrary control data, as read_error_queue
// decodes it (IP_RECVERR and IPV6_RECVERR with their offender, SCM_TIMESTAMPING, IP_PKTINFO),
// and the receive timestamps (SCM_TIMESTAMPNS, SCM_TIMESTAMP) of every message. Whatever the
// bytes: no crash, no read outside them, a field is decoded only from a message of its exact
// size, and a decoded value is the one the bytes hold (a time is exact, or absent only when
// zero, of an impossible fraction or beyond the clock).
#include <netkit/io/error_queue.hpp>

#include <netkit/msg/cmsg.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/extended_error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace nk = netkit;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

template <class Wire>
Wire read_wire(const nk::control_message& m) {
    Wire w{};
    std::memcpy(&w, m.data().data(), sizeof w);
    return w;
}

// Seconds well inside what any system clock holds (about 136 years either side of the epoch):
// a time there with a valid fraction must decode.
constexpr std::int64_t surely_representable = std::int64_t{1} << 32;

// The time `fraction` Units past `seconds`, as the decoders must give it (when they give one).
template <class Unit>
std::chrono::system_clock::time_point exact_time(std::int64_t seconds, std::int64_t fraction) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(seconds) + Unit(fraction)));
}

// One decoded time against its wire value: exact when present; absent only for what cannot be.
template <class Unit>
void check_time(const std::optional<std::chrono::system_clock::time_point>& decoded,
                std::int64_t seconds, std::int64_t fraction, bool zero_is_absent) {
    const bool valid_fraction = fraction >= 0 && fraction < Unit::period::den;
    if (decoded) {
        require(valid_fraction && !(zero_is_absent && seconds == 0 && fraction == 0));
        require(*decoded == exact_time<Unit>(seconds, fraction));
        return;
    }
    const bool must_decode = valid_fraction && seconds > -surely_representable &&
                             seconds < surely_representable &&
                             !(zero_is_absent && seconds == 0 && fraction == 0);
    require(!must_decode);
}

void check_timestamping(const nk::cmsg::timestamping& t, const scm_timestamping& w) {
    check_time<std::chrono::nanoseconds>(t.software, w.ts[0].tv_sec, w.ts[0].tv_nsec, true);
    check_time<std::chrono::nanoseconds>(t.legacy, w.ts[1].tv_sec, w.ts[1].tv_nsec, true);
    check_time<std::chrono::nanoseconds>(t.hardware, w.ts[2].tv_sec, w.ts[2].tv_nsec, true);
}

bool same_timestamping(const nk::cmsg::timestamping& a, const nk::cmsg::timestamping& b) {
    return a.software == b.software && a.legacy == b.legacy && a.hardware == b.hardware;
}

// The extended error against the sock_extended_err and offender it was decoded from.
template <class Sockaddr>
bool decoded_from(const nk::extended_error& e, const sock_extended_err& ee,
                  const Sockaddr& offender) {
    if (e.origin != static_cast<nk::error_origin>(ee.ee_origin) ||
        e.error.value() != static_cast<int>(ee.ee_errno) || e.type != ee.ee_type ||
        e.code != ee.ee_code || e.info != ee.ee_info || e.data != ee.ee_data) {
        return false;
    }
    sa_family_t family{};
    std::memcpy(&family, &offender, sizeof family);
    // An offender is read only in a layout the wire has room for, byte for byte.
    std::size_t length = 0;
    if (family == AF_INET) {
        length = sizeof(sockaddr_in);
    } else if (family == AF_INET6 && sizeof(Sockaddr) >= sizeof(sockaddr_in6)) {
        length = sizeof(sockaddr_in6);
    }
    if (length == 0) {
        return !e.offender;
    }
    return e.offender && e.offender->size() == length &&
           std::memcmp(e.offender->data(), &offender, length) == 0;
}

void check_error_queue_entry(const nk::control_messages& messages) {
    nk::error_queue_entry entry;
    nk::detail::decode_error_queue_messages(entry, messages);
    bool error_matched = false;
    bool any_error = false;
    bool timestamps_matched = false;
    bool any_timestamps = false;
    bool any_packet_info = false;
    for (const nk::control_message m : messages) {
        if (m.is<nk::cmsg::ip_extended_error>() &&
            m.data().size() == sizeof(nk::detail::ip_error_wire)) {
            any_error = true;
            const auto w = read_wire<nk::detail::ip_error_wire>(m);
            error_matched =
                error_matched || (entry.error && decoded_from(*entry.error, w.ee, w.offender));
        } else if (m.is<nk::cmsg::ipv6_extended_error>() &&
                   m.data().size() == sizeof(nk::detail::ipv6_error_wire)) {
            any_error = true;
            const auto w = read_wire<nk::detail::ipv6_error_wire>(m);
            error_matched =
                error_matched || (entry.error && decoded_from(*entry.error, w.ee, w.offender));
        } else if (m.is<nk::cmsg::timestamping>() && m.data().size() == sizeof(scm_timestamping)) {
            any_timestamps = true;
            const auto w = read_wire<scm_timestamping>(m);
            const auto decoded = m.as<nk::cmsg::timestamping>();
            require(decoded.has_value());
            check_timestamping(*decoded, w);
            timestamps_matched =
                timestamps_matched ||
                (entry.timestamps && same_timestamping(*entry.timestamps, *decoded));
        } else if (m.is<nk::cmsg::ip_packet_info>() && m.data().size() == sizeof(in_pktinfo)) {
            any_packet_info = true;
        }
    }
    // Present exactly when a message of the exact size held it, and then decoded from one.
    require(entry.error.has_value() == any_error && error_matched == any_error);
    require(entry.timestamps.has_value() == any_timestamps && timestamps_matched == any_timestamps);
    require(entry.packet_info.has_value() == any_packet_info);
    if (entry.error) {
        require(entry.error->copied() == (entry.error->origin == nk::error_origin::zerocopy &&
                                          (entry.error->code & SO_EE_CODE_ZEROCOPY_COPIED) != 0));
    }
}

// The receive timestamps of every message: exact, or absent only when they cannot be.
void check_receive_timestamps(const nk::control_messages& messages) {
    for (const nk::control_message m : messages) {
        const auto ns = m.as<nk::cmsg::timestamp_ns>();
        if (m.is<nk::cmsg::timestamp_ns>() && m.data().size() == sizeof(timespec)) {
            const auto w = read_wire<timespec>(m);
            check_time<std::chrono::nanoseconds>(ns ? std::optional(ns->time) : std::nullopt,
                                                 w.tv_sec, w.tv_nsec, false);
        } else {
            require(!ns);
        }
        const auto us = m.as<nk::cmsg::timestamp>();
        if (m.is<nk::cmsg::timestamp>() && m.data().size() == sizeof(timeval)) {
            const auto w = read_wire<timeval>(m);
            check_time<std::chrono::microseconds>(us ? std::optional(us->time) : std::nullopt,
                                                  w.tv_sec, w.tv_usec, false);
        } else {
            require(!us);
        }
        if (!(m.is<nk::cmsg::timestamping>() && m.data().size() == sizeof(scm_timestamping))) {
            require(!m.as<nk::cmsg::timestamping>());
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> bytes(size); // its own block: ASan sees overreads
    if (size != 0) {
        std::memcpy(bytes.data(), data, size);
    }
    const auto messages = nk::parse_control(bytes);
    check_error_queue_entry(messages);
    check_receive_timestamps(messages);
    return 0;
}
