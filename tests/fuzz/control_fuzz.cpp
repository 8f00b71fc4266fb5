// libFuzzer target: control-message parsing on arbitrary bytes, as a hostile peer or a confused
// kernel might leave them. Every payload seen must lie inside the input.
#include <netkit/msg/control.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace nk = netkit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> bytes(size); // its own block: ASan sees overreads
    if (size != 0) {
        std::memcpy(bytes.data(), data, size);
    }
    const std::byte* begin = bytes.data();
    const std::byte* end = begin + bytes.size();
    for (const nk::control_message m : nk::parse_control(bytes)) {
        if (m.data().data() < begin || m.data().data() + m.data().size() > end) {
            std::abort();
        }
        (void)m.as<nk::cmsg::credentials>();
        (void)m.as<nk::cmsg::ip_packet_info>();
        (void)m.as<nk::cmsg::ipv6_packet_info>();
        (void)m.as<nk::cmsg::timestamp_ns>();
        (void)m.as<nk::cmsg::timestamp>();
        (void)m.as<nk::cmsg::tos>();
        (void)m.as<nk::cmsg::ttl>();
        (void)m.as<nk::cmsg::udp_gro>();
        (void)m.as<nk::cmsg::dropped>();
        for (std::size_t i = 0; i < m.descriptor_count(); ++i) {
            (void)m.descriptor(i); // numbers only: the parser never closes or owns
        }
    }
    return 0;
}
