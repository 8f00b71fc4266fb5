#include <netkit/control.hpp>

#include "support/catch.hpp"

#include <array>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

namespace nk = netkit;

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
    REQUIRE(buffer.messages().find<nk::cmsg::ttl>()->value == 64);
    REQUIRE(buffer.messages().find<nk::cmsg::udp_segment>()->value == 1400);
    REQUIRE_FALSE(buffer.messages().find<nk::cmsg::tos>().has_value());
    std::size_t n = 0;
    for (const nk::control_message m : buffer.messages()) {
        REQUIRE(m.level() == (n == 0 ? IPPROTO_IP : IPPROTO_UDP));
        ++n;
    }
    REQUIRE(n == 2);
}

TEST_CASE("a payload of the wrong size is not misread") {
    nk::control_buffer<64> buffer;
    const std::array<std::byte, 3> odd{};
    REQUIRE(buffer.add_raw(IPPROTO_IP, IP_TTL, odd).has_value());
    REQUIRE_FALSE(buffer.messages().find<nk::cmsg::ttl>().has_value());
    REQUIRE((*buffer.messages().begin()).data().size() == 3); // still visible raw
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
