// Scatter-gather: a header and a body leave in one system call, arrive in one recvmsg
// split into the caller's buffers; a cursor resumes a partial send at the exact byte; on UDP one
// gather is one datagram; truncation is reported. docs/buffers-and-messages.md quotes this file.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <span>
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

    const std::string body = "body bytes";
    const header head{7, static_cast<std::uint32_t>(body.size())};
    // Three heterogeneous pieces in one system call; the list lives on the stack. Pieces this
    // small are copied into one stack buffer (cheaper than three iovecs); large ones never are.
    left.send_all(nk::gather(std::span(&head, 1), body, "|end"sv)).value();

    header got_head{};
    std::array<char, 14> got_body{};
    // One recvmsg fills got_head, then got_body, in order.
    right.receive_exact(nk::scatter(std::span(&got_head, 1), got_body)).value();

    const std::string_view got_text(got_body.data(), got_body.size());
    fmt::print("scattered: type {}, length {}, body \"{}\"\n", got_head.type, got_head.length,
               got_text);

    std::vector<nk::const_buffer> pieces;
    for (const auto word : {"one "sv, "two "sv, "three"sv}) {
        pieces.push_back(nk::buffer(word));
    }
    const std::size_t total = nk::buffer_size(pieces); // 13: the total of a sequence

    nk::buffer_cursor cursor(nk::as_iovecs(pieces));
    while (!cursor.done()) {
        // At most IOV_MAX iovecs, the first starting at the current byte.
        const auto sent = left.send(cursor.next());
        if (!sent) {
            fmt::print(stderr, "{}\n", sent.error().message());
            return 1;
        }
        cursor.consume(*sent);
    }

    std::array<char, 13> words{};
    right.receive_exact(words).value();
    const std::string_view words_text(words.data(), words.size());
    fmt::print("{} buffers, {} bytes, sent with a cursor: \"{}\"\n", pieces.size(), total,
               words_text);

    // UDP: one gather is ONE datagram; a receive buffer too small reports the real size.
    auto a = nk::udp::socket::open(nk::ip::v4).value();
    auto b = nk::udp::socket::open(nk::ip::v4).value();
    b.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    a.send_to(pieces, b.local_endpoint().value()).value();

    std::array<char, 8> small{};
    const auto message = b.receive_message(small).value();
    // message.size == 8, message.message_size == 13, message.truncated() == true

    const std::string_view small_text(small.data(), message.size);
    fmt::print("datagram of {} bytes from {}: got \"{}\", truncated: {}\n", message.message_size,
               message.sender->to_string(), small_text, message.truncated());

    const bool ok = got_head.type == 7 && got_head.length == body.size() &&
                    got_text == "body bytes|end" && total == 13 && words_text == "one two three" &&
                    message.size == 8 && message.message_size == 13 && message.truncated() &&
                    small_text == "one two ";
    return ok ? 0 : 1;
} catch (const std::exception& e) { // value() throws netkit::operation_failed on an error
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
}
