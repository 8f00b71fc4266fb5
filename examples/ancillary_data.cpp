// Ancillary data on UDP: per-datagram TTL and TOS sent as control data, then read back by the
// receiver as typed values, next to a message netkit has no type for, which stays visible raw.
// docs/buffers-and-messages.md quotes this file.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string_view>

#include <netinet/in.h>

namespace nk = netkit;
using namespace std::string_view_literals;

/// IP_RECVORIGDSTADDR, which netkit does not declare: one line gives it netkit's checks.
inline constexpr nk::socket_option<"IP_RECVORIGDSTADDR", IPPROTO_IP, IP_RECVORIGDSTADDR, bool,
                                   nk::option_access::get_set, nk::option_scope::udp_only>
    receive_original_destination{};

int main() try {
    auto a = nk::udp::socket::open(nk::ip::v4).value();
    auto b = nk::udp::socket::open(nk::ip::v4).value();
    b.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    b.set(nk::ip::receive_ttl, true).value();
    b.set(nk::ip::receive_tos, true).value();
    b.set(receive_original_destination, true).value();

    // This datagram only: TTL 5 and TOS 0x10, whatever the socket's own settings.
    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::tos>> out;
    out.add(nk::cmsg::ttl{5}).value();
    out.add(nk::cmsg::tos{0x10}).value();
    a.send_message_to("marked"sv, b.local_endpoint().value(), out).value();

    // Room for the two typed messages and one netkit has no type for (a sockaddr_in).
    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::tos> +
                       nk::cmsg_space(sizeof(sockaddr_in))>
        in;
    std::array<char, 16> data{};
    const auto info = b.receive_message(data, in).value();
    const auto ttl = in.messages().find<nk::cmsg::ttl>(); // std::optional<cmsg::ttl>
    for (const nk::control_message m : in.messages()) {   // every message, typed or not
        if (const auto tos = m.as<nk::cmsg::tos>()) {
            fmt::print("TOS {:#04x}\n", tos->value);
        } else if (!m.is<nk::cmsg::ttl>()) {
            // m.level(), m.type(), m.data(): nothing is hidden
            fmt::print("level {}, type {}: {} bytes\n", m.level(), m.type(), m.data().size());
        }
    }

    const std::string_view text(data.data(), info.size);
    fmt::print("\"{}\" arrived with TTL {}\n", text, ttl ? ttl->value : -1);

    // The raw message is the kernel's bytes: here, the address the datagram was sent to.
    std::optional<sockaddr_in> destination;
    for (const nk::control_message m : in.messages()) {
        if (m.level() == IPPROTO_IP && m.type() == IP_ORIGDSTADDR &&
            m.data().size() == sizeof(sockaddr_in)) {
            destination.emplace();
            std::memcpy(&*destination, m.data().data(), sizeof(sockaddr_in));
        }
    }
    const auto tos_message = in.messages().find<nk::cmsg::tos>();
    const bool ok = text == "marked" && ttl && ttl->value == 5 && tos_message &&
                    tos_message->value == 0x10 && destination &&
                    ntohs(destination->sin_port) == b.local_endpoint().value().port() &&
                    destination->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    return ok ? 0 : 1;
} catch (const std::exception& e) { // value() throws netkit::operation_failed on an error
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
}
