#include <netkit/msg/control.hpp>
#include <netkit/msg/segments.hpp>

#include "support/catch.hpp"

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <random>
#include <ranges>
#include <span>
#include <vector>

#include <sys/time.h>
#include <unistd.h>

namespace nk = netkit;

namespace {
/// The value of the first message of payload type T, or nothing: comparable in a REQUIRE, never
/// dereferenced when absent.
template <class T>
std::optional<typename T::wire> value_of(const nk::control_messages& messages) {
    const std::optional<T> found = messages.find<T>();
    return found ? std::optional<typename T::wire>(found->value) : std::nullopt;
}

/// Whether a payload can be read as an Int.
template <class Int>
concept integer_readable = requires(const nk::control_message& m, Int& out) {
    m.read_integer(out);
};

/// A control buffer holding one raw message of `level`/`type` whose payload is `value`'s bytes.
template <class Value>
void add_raw_value(nk::control_storage& buffer, int level, int type, const Value& value) {
    REQUIRE(buffer.add_raw(level, type, std::as_bytes(std::span(&value, 1))).has_value());
}
} // namespace

TEST_CASE("control space is computed at compile time and matches CMSG_SPACE") {
    STATIC_REQUIRE(nk::control_space<nk::cmsg::rights<3>> == CMSG_SPACE(3 * sizeof(int)));
    STATIC_REQUIRE(nk::control_space<nk::cmsg::rights<1>, nk::cmsg::credentials> ==
                   CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(ucred)));
    STATIC_REQUIRE(nk::control_space<nk::cmsg::timestamp_ns> == CMSG_SPACE(sizeof(timespec)));
}

TEST_CASE("messages written are read back, typed and raw") {
    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::udp_segment>> buffer;
    REQUIRE(buffer.add(nk::cmsg::ttl{64}).has_value());
    REQUIRE(buffer.add(nk::cmsg::udp_segment{1400}).has_value());
    REQUIRE(buffer.add(nk::cmsg::ttl{1}).error() == std::errc::no_buffer_space); // full
    REQUIRE(value_of<nk::cmsg::ttl>(buffer.messages()) == 64);
    REQUIRE(value_of<nk::cmsg::udp_segment>(buffer.messages()) == 1400);
    REQUIRE_FALSE(buffer.messages().find<nk::cmsg::tos>().has_value());
    std::size_t n = 0;
    for (const nk::control_message m : buffer.messages()) {
        REQUIRE(m.level() == (n == 0 ? IPPROTO_IP : IPPROTO_UDP));
        ++n;
    }
    REQUIRE(n == 2);
}

TEST_CASE("control messages are a forward range, and the postfix step returns where it was") {
    STATIC_REQUIRE(std::forward_iterator<nk::control_messages::iterator>);
    STATIC_REQUIRE(std::ranges::forward_range<nk::control_messages>);
    STATIC_REQUIRE(
        std::same_as<std::iter_value_t<nk::control_messages::iterator>, nk::control_message>);
    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::tos>> buffer;
    REQUIRE(buffer.add(nk::cmsg::ttl{64}).has_value());
    REQUIRE(buffer.add(nk::cmsg::tos{8}).has_value());
    const nk::control_messages messages = buffer.messages();
    auto it = messages.begin();
    const auto first = it++;
    REQUIRE(first == messages.begin());
    REQUIRE((*first).is<nk::cmsg::ttl>());
    REQUIRE((*it).is<nk::cmsg::tos>());
    REQUIRE(it++ != messages.end());
    REQUIRE(it == messages.end());
}

TEST_CASE("every typed payload reads back what was written") {
    nk::control_buffer<nk::control_space<
        nk::cmsg::credentials, nk::cmsg::ip_packet_info, nk::cmsg::ipv6_packet_info, nk::cmsg::tos,
        nk::cmsg::traffic_class, nk::cmsg::udp_gro, nk::cmsg::dropped>>
        buffer;
    const auto v4_destination = nk::ip::address_v4::parse("10.1.2.3").value();
    const auto v4_local = nk::ip::address_v4::parse("127.0.0.2").value();
    const auto v6 = nk::ip::address_v6::parse("2001:db8::7").value();
    REQUIRE(buffer.add(nk::cmsg::credentials{::getpid(), ::getuid(), ::getgid()}).has_value());
    REQUIRE(buffer.add(nk::cmsg::ip_packet_info{v4_destination, v4_local, 3}).has_value());
    REQUIRE(buffer.add(nk::cmsg::ipv6_packet_info{v6, 4}).has_value());
    REQUIRE(buffer.add(nk::cmsg::tos{0xb8}).has_value());
    REQUIRE(buffer.add(nk::cmsg::traffic_class{0x28}).has_value());
    REQUIRE(buffer.add(nk::cmsg::udp_gro{1200}).has_value());
    REQUIRE(buffer.add(nk::cmsg::dropped{4000000000U}).has_value());

    const auto messages = buffer.messages();
    const auto creds = messages.find<nk::cmsg::credentials>();
    REQUIRE(creds.has_value());
    REQUIRE(creds->pid == ::getpid());
    REQUIRE(creds->uid == ::getuid());
    REQUIRE(creds->gid == ::getgid());
    const auto v4_info = messages.find<nk::cmsg::ip_packet_info>();
    REQUIRE(v4_info.has_value());
    REQUIRE(v4_info->destination == v4_destination);
    REQUIRE(v4_info->local == v4_local);
    REQUIRE(v4_info->interface_index == 3);
    const auto v6_info = messages.find<nk::cmsg::ipv6_packet_info>();
    REQUIRE(v6_info.has_value());
    REQUIRE(v6_info->address == v6);
    REQUIRE(v6_info->interface_index == 4);
    REQUIRE(value_of<nk::cmsg::tos>(messages) == 0xb8);
    REQUIRE(value_of<nk::cmsg::traffic_class>(messages) == 0x28);
    REQUIRE(value_of<nk::cmsg::udp_gro>(messages) == 1200);
    REQUIRE(value_of<nk::cmsg::dropped>(messages) == 4000000000U);

    // On the wire: the kernel's own structs and sizes (IP_TOS is one byte, as the kernel sends it).
    std::size_t n = 0;
    for (const nk::control_message m : messages) {
        ++n;
        if (m.is<nk::cmsg::tos>()) {
            REQUIRE(m.data().size() == 1);
            REQUIRE(m.data()[0] == std::byte{0xb8});
        }
        if (m.is<nk::cmsg::ipv6_packet_info>()) {
            REQUIRE(m.data().size() == sizeof(in6_pktinfo));
            in6_pktinfo raw{};
            std::memcpy(&raw, m.data().data(), sizeof raw);
            REQUIRE(raw.ipi6_ifindex == 4);
            REQUIRE(raw.ipi6_addr.s6_addr[0] == 0x20);
            REQUIRE(raw.ipi6_addr.s6_addr[15] == 0x07);
        }
    }
    REQUIRE(n == 7);
}

TEST_CASE("a narrow integer payload sent as an int is read only when its value fits") {
    nk::control_buffer<4 * nk::cmsg_space(sizeof(int))> buffer;
    SECTION("IP_TOS as an int") {
        add_raw_value(buffer, IPPROTO_IP, IP_TOS, 0x28);
        REQUIRE(value_of<nk::cmsg::tos>(buffer.messages()) == 0x28);
    }
    SECTION("IP_TOS as an int too large for a byte is not truncated") {
        add_raw_value(buffer, IPPROTO_IP, IP_TOS, 0x128);
        REQUIRE_FALSE(buffer.messages().find<nk::cmsg::tos>().has_value());
        add_raw_value(buffer, IPPROTO_IP, IP_TOS, -1);
        REQUIRE_FALSE(buffer.messages().find<nk::cmsg::tos>().has_value());
    }
    SECTION("UDP_SEGMENT as an int") {
        add_raw_value(buffer, IPPROTO_UDP, UDP_SEGMENT, 1400);
        REQUIRE(value_of<nk::cmsg::udp_segment>(buffer.messages()) == 1400);
        nk::control_buffer<nk::cmsg_space(sizeof(int))> too_large;
        add_raw_value(too_large, IPPROTO_UDP, UDP_SEGMENT, 70000);
        REQUIRE_FALSE(too_large.messages().find<nk::cmsg::udp_segment>().has_value());
        REQUIRE(too_large.messages().begin() != too_large.messages().end()); // still there, raw
    }
    SECTION("an int payload of another size is not read") {
        add_raw_value(buffer, IPPROTO_IP, IP_TTL, std::int64_t{64});
        add_raw_value(buffer, IPPROTO_IP, IP_TTL, std::int16_t{64});
        REQUIRE_FALSE(buffer.messages().find<nk::cmsg::ttl>().has_value());
    }
}

TEST_CASE("read_integer takes a payload of the integer's size, or an int whose value fits") {
    // A standard integer type only: std::in_range takes no other.
    STATIC_REQUIRE(integer_readable<std::uint16_t>);
    STATIC_REQUIRE_FALSE(integer_readable<bool>);
    STATIC_REQUIRE_FALSE(integer_readable<char>);
    nk::control_buffer<4 * nk::cmsg_space(sizeof(std::int64_t))> buffer;
    add_raw_value(buffer, IPPROTO_IP, IP_TOS, std::uint8_t{0x28});
    add_raw_value(buffer, IPPROTO_IP, IP_TOS, 0x30);
    add_raw_value(buffer, IPPROTO_IP, IP_TOS, 0x130);
    add_raw_value(buffer, IPPROTO_IP, IP_TOS, std::int64_t{0x40});
    std::vector<std::optional<std::uint8_t>> read;
    for (const nk::control_message m : buffer.messages()) {
        std::uint8_t value = 0xee;
        read.push_back(m.read_integer(value) ? std::optional<std::uint8_t>(value) : std::nullopt);
        if (!read.back()) {
            REQUIRE(value == 0xee); // untouched when refused
        }
    }
    REQUIRE(read ==
            std::vector<std::optional<std::uint8_t>>{0x28, 0x30, std::nullopt, std::nullopt});
}

TEST_CASE("the segment size of a coalesced receive is read from UDP_GRO, and only from it") {
    nk::control_buffer<3 * nk::cmsg_space(sizeof(int))> buffer;
    SECTION("none without the message") {
        add_raw_value(buffer, IPPROTO_IP, IP_TTL, 1400);
        REQUIRE_FALSE(nk::udp::coalesced_segment_size(buffer.messages()).has_value());
    }
    SECTION("the first UDP_GRO, after other messages") {
        add_raw_value(buffer, IPPROTO_IP, IP_TTL, 64);
        add_raw_value(buffer, IPPROTO_UDP, UDP_GRO, 1200);
        add_raw_value(buffer, IPPROTO_UDP, UDP_GRO, 900);
        REQUIRE(nk::udp::coalesced_segment_size(buffer.messages()) == std::size_t{1200});
    }
    SECTION("none for a size of zero, a negative one or a payload of another size") {
        add_raw_value(buffer, IPPROTO_UDP, UDP_GRO, 0);
        REQUIRE_FALSE(nk::udp::coalesced_segment_size(buffer.messages()).has_value());
        buffer.clear();
        add_raw_value(buffer, IPPROTO_UDP, UDP_GRO, -5);
        REQUIRE_FALSE(nk::udp::coalesced_segment_size(buffer.messages()).has_value());
        buffer.clear();
        add_raw_value(buffer, IPPROTO_UDP, UDP_GRO, std::int16_t{1200});
        REQUIRE_FALSE(nk::udp::coalesced_segment_size(buffer.messages()).has_value());
    }
}

TEST_CASE("timestamps decode from the kernel's structs, and impossible ones do not decode") {
    nk::control_buffer<nk::control_space<nk::cmsg::timestamp, nk::cmsg::timestamp_ns>> buffer;
    add_raw_value(buffer, SOL_SOCKET, SCM_TIMESTAMP, timeval{1700000000, 250000});
    add_raw_value(buffer, SOL_SOCKET, SCM_TIMESTAMPNS, timespec{1700000000, 123456789});
    const auto micro = buffer.messages().find<nk::cmsg::timestamp>();
    REQUIRE(micro.has_value());
    REQUIRE(micro->time.time_since_epoch() ==
            std::chrono::seconds(1700000000) + std::chrono::microseconds(250000));
    const auto nano = buffer.messages().find<nk::cmsg::timestamp_ns>();
    REQUIRE(nano.has_value());
    REQUIRE(std::chrono::duration_cast<std::chrono::nanoseconds>(nano->time.time_since_epoch()) ==
            std::chrono::seconds(1700000000) + std::chrono::nanoseconds(123456789));

    nk::control_buffer<nk::control_space<nk::cmsg::timestamp, nk::cmsg::timestamp_ns>> bad;
    add_raw_value(bad, SOL_SOCKET, SCM_TIMESTAMP, timeval{1, 1000000}); // usec out of range
    add_raw_value(bad, SOL_SOCKET, SCM_TIMESTAMPNS, timespec{1, -1});   // nsec negative
    REQUIRE_FALSE(bad.messages().find<nk::cmsg::timestamp>().has_value());
    REQUIRE_FALSE(bad.messages().find<nk::cmsg::timestamp_ns>().has_value());
    nk::control_buffer<nk::control_space<nk::cmsg::timestamp, nk::cmsg::timestamp_ns>> edge;
    add_raw_value(edge, SOL_SOCKET, SCM_TIMESTAMP, timeval{1, 999999});       // the last usec
    add_raw_value(edge, SOL_SOCKET, SCM_TIMESTAMPNS, timespec{1, 999999999}); // the last nsec
    REQUIRE(edge.messages().find<nk::cmsg::timestamp>().has_value());
    REQUIRE(edge.messages().find<nk::cmsg::timestamp_ns>().has_value());
    nk::control_buffer<nk::control_space<nk::cmsg::timestamp_ns>> over;
    add_raw_value(over, SOL_SOCKET, SCM_TIMESTAMPNS, timespec{1, 1000000000}); // a whole second
    REQUIRE_FALSE(over.messages().find<nk::cmsg::timestamp_ns>().has_value());
    nk::control_buffer<nk::control_space<nk::cmsg::timestamp>> far;
    add_raw_value(far, SOL_SOCKET, SCM_TIMESTAMP, timeval{INT64_MAX, 0}); // beyond the clock
    REQUIRE_FALSE(far.messages().find<nk::cmsg::timestamp>().has_value());
}

TEST_CASE("a payload of the wrong size is not misread") {
    nk::control_buffer<64> buffer;
    const std::array<std::byte, 3> odd{};
    REQUIRE(buffer.add_raw(IPPROTO_IP, IP_TTL, odd).has_value());
    REQUIRE_FALSE(buffer.messages().find<nk::cmsg::ttl>().has_value());
    const nk::control_message raw = *buffer.messages().begin(); // still visible raw
    REQUIRE(raw.level() == IPPROTO_IP);
    REQUIRE(raw.type() == IP_TTL);
    REQUIRE(raw.data().size() == 3);
}

TEST_CASE("headers that lie about their length end the walk inside the buffer") {
    alignas(cmsghdr) std::array<std::byte, 64> bytes{};
    cmsghdr h{};
    h.cmsg_len = 1000; // longer than the buffer
    h.cmsg_level = SOL_SOCKET;
    h.cmsg_type = SCM_RIGHTS;
    std::memcpy(bytes.data(), &h, sizeof h);
    REQUIRE(nk::parse_control(bytes).empty());
    h.cmsg_len = 4; // shorter than a header
    std::memcpy(bytes.data(), &h, sizeof h);
    REQUIRE(nk::parse_control(bytes).empty());
    REQUIRE(nk::parse_control(std::span(bytes).first(sizeof(cmsghdr) - 1)).empty());
    REQUIRE(nk::parse_control({}).empty());
}

TEST_CASE("arbitrary bytes never make the parser read outside them") {
    std::mt19937 random(7);
    for (int round = 0; round < 20000; ++round) {
        // A fresh heap block of exactly the size: ASan catches any read past it.
        std::vector<std::byte> bytes(random() % 200);
        for (auto& b : bytes) {
            b = static_cast<std::byte>(random());
        }
        if (bytes.size() >= sizeof(cmsghdr) && random() % 2 == 0) {
            cmsghdr h{};
            h.cmsg_len = random() % (bytes.size() + 8);
            h.cmsg_level = SOL_SOCKET;
            h.cmsg_type = static_cast<int>(random() % 4) == 0 ? SCM_RIGHTS : SCM_CREDENTIALS;
            std::memcpy(bytes.data(), &h, sizeof h);
        }
        std::size_t payload = 0;
        for (const nk::control_message m : nk::parse_control(bytes)) {
            REQUIRE(m.data().data() >= bytes.data());
            REQUIRE(m.data().data() + m.data().size() <= bytes.data() + bytes.size());
            payload += m.data().size();
            (void)m.as<nk::cmsg::credentials>();
            (void)m.as<nk::cmsg::timestamp_ns>();
            for (std::size_t i = 0; i < m.descriptor_count(); ++i) {
                (void)m.descriptor(i);
            }
        }
        REQUIRE(payload <= bytes.size());
    }
}
