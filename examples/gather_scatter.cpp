// Scatter-gather: a header and a body leave in one sendmsg with no copy, arrive in one recvmsg
// split into the caller's buffers; on UDP one gather is one datagram; truncation is reported.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace nk = netkit;
using namespace std::string_view_literals;

struct header {
    std::uint32_t type;
    std::uint32_t length;
};

int main() try {
    auto [left, right] = nk::local::stream_socket::pair().value();

    // Heterogeneous pieces: a struct, a std::string, a string_view. gather() builds iovecs on
    // the stack; send_all resumes from the exact byte if the kernel takes only part.
    const std::string body = "body bytes";
    const header head{7, static_cast<std::uint32_t>(body.size())};
    const auto sent = left.send_all(nk::gather(std::span(&head, 1), body, "|end"sv)).value();

    // Scatter straight into a header struct and a byte array: one recvmsg, filled in order.
    header got_head{};
    std::array<char, 14> got_body{};
    const auto received =
        right.receive_exact(nk::scatter(std::span(&got_head, 1), got_body)).value();
    fmt::print("sent {} bytes, received {}: type {}, body \"{}\"\n", sent, received, got_head.type,
               std::string_view(got_body.data(), got_body.size()));

    // A runtime number of buffers works too: any range of const_buffer.
    std::vector<nk::const_buffer> pieces;
    for (const auto word : {"one "sv, "two "sv, "three"sv}) {
        pieces.push_back(nk::buffer(word));
    }
    fmt::print("{} buffers, {} bytes in one call\n", pieces.size(), nk::buffer_size(pieces));

    // UDP: one gather is ONE datagram; a receive buffer too small reports the real size.
    auto a = nk::udp::socket::open(nk::ip::v4).value();
    auto b = nk::udp::socket::open(nk::ip::v4).value();
    b.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    a.send_to(pieces, b.local_endpoint().value()).value();
    std::array<char, 8> small{};
    const auto message = b.receive_message(small).value();
    fmt::print("datagram of {} bytes from {}: got {}, truncated: {}\n", message.message_size,
               message.sender->to_string(), message.size, message.truncated());

    const bool ok = received == sent && got_head.length == body.size() && message.truncated() &&
                    message.message_size == 13;
    return ok ? 0 : 1;
} catch (const std::exception& e) { // value() throws netkit::operation_failed on an error
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
}
