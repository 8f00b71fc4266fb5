// Scatter-gather on real sockets: one system call per message, partial transfers resumed from
// the exact byte, sequences longer than IOV_MAX, and nothing truncated in silence.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <future>
#include <list>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace nk = netkit;
using namespace std::string_view_literals;

TEST_CASE("gather three heterogeneous buffers in one send, scatter into three in order") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    const std::array<std::uint8_t, 4> header{1, 2, 3, 4};
    const std::string body = "the body";
    const std::vector<std::uint16_t> trailer{0xabcd, 0x1234};
    REQUIRE(client.send_all(nk::gather(header, body, trailer)).value() == 4 + 8 + 4);

    std::array<std::uint8_t, 4> h{};
    std::string b(8, '\0');
    std::array<std::uint16_t, 2> t{};
    REQUIRE(server.receive_exact(nk::scatter(h, b, t)).value() == 16);
    REQUIRE(h == header);
    REQUIRE(b == body);
    REQUIRE(t[0] == 0xabcd);
    REQUIRE(t[1] == 0x1234);
}

TEST_CASE("a gather send is ONE datagram holding the concatenation (UDP and Unix datagram)") {
    const std::string a = "alpha-", b = "beta-", c = "gamma";
    auto check = [&](auto& sender, auto& receiver, auto send) {
        REQUIRE(send(nk::gather(a, b, c)) == 16);
        std::array<char, 64> buf{};
        auto got = receiver.receive(buf).value();
        REQUIRE(got.size == 16); // three sends would have made three datagrams of 6, 5 and 5
        REQUIRE(std::string_view(buf.data(), got.size) == "alpha-beta-gamma");
        auto more = receiver.receive(buf, nk::receive_flag::dont_wait);
        REQUIRE(more.error().would_block());
        (void)sender;
    };
    auto u1_and_u2 = nk::test::udp_sockets();
    [[maybe_unused]] auto& u1 = u1_and_u2.first;
    [[maybe_unused]] auto& u2 = u1_and_u2.second;
    const auto to = u2.local_endpoint().value();
    check(u1, u2, [&](const auto& g) { return u1.send_to(g, to).value(); });

    auto d1_and_d2 = nk::test::local_pair<nk::local::datagram_protocol>();

    [[maybe_unused]] auto& d1 = d1_and_d2.first;

    [[maybe_unused]] auto& d2 = d1_and_d2.second;
    check(d1, d2, [&](const auto& g) { return d1.send(g).value(); });
}

TEST_CASE("more than IOV_MAX buffers in one send is an error, never a silent prefix") {
    std::vector<char> bytes(nk::max_buffers_per_call + 1, 'x');
    std::vector<nk::const_buffer> many;
    many.reserve(bytes.size());
    for (char& c : bytes) {
        many.emplace_back(&c, 1);
    }
    auto d1_and_d2 = nk::test::local_pair<nk::local::datagram_protocol>();
    [[maybe_unused]] auto& d1 = d1_and_d2.first;
    [[maybe_unused]] auto& d2 = d1_and_d2.second;
    auto sent = d1.send(many);
    REQUIRE_FALSE(sent);
    REQUIRE(sent.error() == std::errc::message_size);
    REQUIRE(sent.error().code() == nk::errc::too_many_buffers);
    std::array<char, 8> buf{};
    REQUIRE(d2.receive(buf, nk::receive_flag::dont_wait).error().would_block()); // nothing went out
}

TEST_CASE("3000 buffers in one send_all arrive whole and in order") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::vector<std::uint32_t> values(3000);
    std::iota(values.begin(), values.end(), 1U);
    std::vector<nk::const_buffer> buffers;
    buffers.reserve(values.size());
    for (const auto& v : values) {
        buffers.emplace_back(&v, sizeof v);
    }
    std::vector<std::uint32_t> received(values.size());
    // Catch2 assertions are not thread-safe: the reader hands its result back to this thread.
    auto reader = std::async(std::launch::async, [&] { return server.receive_exact(received); });
    REQUIRE(client.send_all(buffers).value() == values.size() * 4);
    REQUIRE(reader.get().value() == received.size() * 4);
    REQUIRE(received == values);
}

TEST_CASE("a non-contiguous range of buffers works too") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    const std::string one = "list-", two = "of-", three = "buffers";
    const std::list<nk::const_buffer> pieces{nk::buffer(one), nk::buffer(two), nk::buffer(three)};
    REQUIRE(client.send_all(pieces).value() == 15);
    std::array<char, 15> buf{};
    REQUIRE(server.receive_exact(buf).value() == 15);
    REQUIRE(std::string_view(buf.data(), 15) == "list-of-buffers");
}

TEST_CASE("3000 buffers in a non-contiguous sequence: send_all and receive_exact go by windows") {
    // A std::deque has no iovec array to hand over: netkit copies the descriptors a window of
    // IOV_MAX at a time. 3000 buffers are three windows, the last one partial.
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::deque<std::uint32_t> values(3000);
    std::iota(values.begin(), values.end(), 1U);
    std::deque<nk::const_buffer> out;
    for (const auto& v : values) {
        out.emplace_back(&v, sizeof v);
    }
    std::deque<std::uint32_t> received(values.size());
    std::deque<nk::mutable_buffer> in;
    for (auto& v : received) {
        in.emplace_back(&v, sizeof v);
    }
    auto reader = std::async(std::launch::async, [&] { return server.receive_exact(in); });
    REQUIRE(client.send_all(out).value() == values.size() * 4);
    REQUIRE(reader.get().value() == received.size() * 4);
    REQUIRE(received == values);
}

TEST_CASE("a windowed receive_exact that meets end of stream counts every window's bytes") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    std::vector<char> sent(1500, 'x'); // more than one window of one-byte buffers
    REQUIRE(client.send_all(sent).value() == 1500);
    REQUIRE(client.shutdown(nk::shutdown::write).has_value());
    std::vector<char> storage(2000);
    std::deque<nk::mutable_buffer> in;
    for (auto& byte : storage) {
        in.emplace_back(&byte, 1);
    }
    auto got = server.receive_exact(in);
    REQUIRE_FALSE(got);
    REQUIRE(got.error().code() == nk::errc::end_of_stream);
    REQUIRE(got.error().bytes_transferred() == 1500);
}

TEST_CASE("partial sends: send_all on a non-blocking socket delivers 64 MiB in order") {
    auto client_and_server = nk::test::tcp_pair();
    [[maybe_unused]] auto& client = client_and_server.first;
    [[maybe_unused]] auto& server = client_and_server.second;
    // A non-blocking sender with a small send buffer, faster than its reader: short writes and
    // EAGAIN are the rule (strace -c of this test shows hundreds), and send_all must resume each
    // from the exact byte. (A send buffer of a few KiB makes loopback TCP crawl on timers, and
    // shrinking the receive buffer under an established window makes the kernel drop segments.)
    REQUIRE(client.set(nk::so::send_buffer_size, 65536).has_value());
    // Without this, Nagle waits on delayed ACKs at every short write.
    REQUIRE(client.set(nk::tcp::no_delay, true).has_value());
    REQUIRE(client.set_non_blocking(true).has_value());

    const std::size_t total = std::size_t{64} << 20;
    std::vector<std::uint8_t> source(1 << 20);
    std::mt19937 random(12345);
    for (auto& b : source) {
        b = static_cast<std::uint8_t>(random());
    }
    auto checksum = [](std::uint64_t sum, std::uint8_t byte, std::uint64_t position) {
        return sum * 1099511628211ULL + byte + position;
    };

    std::uint64_t received_sum = 0;
    std::size_t received = 0;
    // The reader reports its first failure back to this thread (Catch2 assertions are not
    // thread-safe); an empty string means it drained everything.
    auto reader = std::async(std::launch::async, [&]() -> std::string {
        std::vector<std::uint8_t> bite(65521);
        while (received < total) {
            auto got = server.receive(bite);
            if (!got) {
                return got.error().message();
            }
            if (*got == 0) {
                return "end of stream after " + std::to_string(received) + " bytes";
            }
            for (std::size_t i = 0; i < *got; ++i) {
                received_sum = checksum(received_sum, bite[i], received + i);
            }
            received += *got;
        }
        return {};
    });

    std::uint64_t sent_sum = 0;
    std::size_t sent = 0;
    std::size_t round = 0;
    while (sent < total) {
        // Varied gathers: 1 to 7 buffers of varied sizes cut from the source.
        std::array<nk::const_buffer, 7> pieces{};
        const std::size_t count = 1 + round % 7;
        std::size_t message = 0;
        for (std::size_t i = 0; i < count && sent + message < total; ++i) {
            const std::size_t offset = (sent + message) % source.size();
            const std::size_t length =
                std::min({std::size_t{1} + (round * 7919 + i * 104729) % 65536,
                          source.size() - offset, total - sent - message});
            pieces[i] = nk::buffer(source.data() + offset, length);
            for (std::size_t j = 0; j < length; ++j) {
                sent_sum = checksum(sent_sum, source[offset + j], sent + message + j);
            }
            message += length;
        }
        auto out = client.send_all(std::span(pieces.data(), count));
        REQUIRE(out.has_value());
        REQUIRE(*out == message);
        sent += message;
        ++round;
    }
    REQUIRE(reader.get().empty());
    REQUIRE(received == total);
    REQUIRE(received_sum == sent_sum);
}

TEST_CASE("recvmsg reports truncation with MSG_TRUNC and the real length") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    const std::string big(300, 'q');
    REQUIRE(a.send_to(big, b.local_endpoint().value()).value() == 300);
    std::array<char, 100> first{};
    std::array<char, 50> second{};
    auto got = b.receive_message(nk::scatter(first, second)).value();
    REQUIRE(got.truncated());
    REQUIRE(got.flags.truncated());
    REQUIRE(got.size == 150);
    REQUIRE(got.message_size == 300);
    REQUIRE(got.sender == a.local_endpoint().value());
}

TEST_CASE("send_message_to and receive_message carry names and flags") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    nk::control_buffer<nk::control_space<nk::cmsg::ttl>> none;
    REQUIRE(a.send_message_to("named"sv, b.local_endpoint().value(), none).value() == 5);
    std::array<char, 16> buf{};
    auto got = b.receive_message(buf).value();
    REQUIRE(got.size == 5);
    REQUIRE_FALSE(got.truncated());
    REQUIRE(got.sender == a.local_endpoint().value());
    REQUIRE(got.flags == nk::message_flags{});
}

TEST_CASE("a message_header built by hand goes out as one sendmsg, read by plain recvfrom") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    const auto to = b.local_endpoint().value();
    const std::string head = "head:";
    const std::string body = "body";
    const auto pieces = nk::gather(head, body);
    nk::message_header message(nk::as_iovecs(pieces));
    message.destination(to);
    REQUIRE(message.capacity() == 9);
    REQUIRE(a.send_message(message).value() == 9);
    REQUIRE(a.send_message(message).value() == 9); // the header is reusable as it is

    for (int i = 0; i < 2; ++i) {
        std::array<char, 32> raw{};
        sockaddr_storage from{};
        socklen_t from_length = sizeof from;
        const ssize_t got = ::recvfrom(b.native_handle(), raw.data(), raw.size(), 0,
                                       reinterpret_cast<sockaddr*>(&from), &from_length);
        REQUIRE(got == 9);
        REQUIRE(std::string_view(raw.data(), 9) == "head:body");
        const auto sender =
            nk::ip::endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from), from_length);
        REQUIRE(sender.value() == a.local_endpoint().value());
    }
}

TEST_CASE("an array of message_header is an array of mmsghdr: sendmmsg and recvmmsg take it") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    const auto to = b.local_endpoint().value();
    const std::array<std::string_view, 3> texts{"one"sv, "three"sv, "seven77"sv};
    std::array<iovec, 3> out_iov{};
    std::array<nk::message_header, 3> out{};
    for (std::size_t i = 0; i < 3; ++i) {
        out_iov[i] = {const_cast<char*>(texts[i].data()), texts[i].size()};
        out[i].buffers(std::span(&out_iov[i], 1)).destination(to);
    }
    const int sent = ::sendmmsg(a.native_handle(), &out[0].native_entry(), 3, MSG_NOSIGNAL);
    REQUIRE(sent == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(out[i].transferred() == texts[i].size());
    }

    std::array<std::array<char, 4>, 3> space{}; // "seven77" does not fit: truncated
    std::array<iovec, 3> in_iov{};
    std::array<sockaddr_storage, 3> names{};
    std::array<nk::message_header, 3> in{};
    for (std::size_t i = 0; i < 3; ++i) {
        in_iov[i] = {space[i].data(), space[i].size()};
        in[i].buffers(std::span(&in_iov[i], 1)).sender_storage(names[i]);
    }
    const int received = ::recvmmsg(b.native_handle(), &in[0].native_entry(), 3,
                                    MSG_TRUNC | MSG_WAITFORONE, nullptr);
    REQUIRE(received >= 1);
    const int total =
        received == 3
            ? 3
            : received + ::recvmmsg(b.native_handle(),
                                    &in[static_cast<std::size_t>(received)].native_entry(),
                                    static_cast<unsigned>(3 - received), MSG_TRUNC, nullptr);
    REQUIRE(total == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto info = in[i].received<nk::udp::protocol>(in[i].transferred());
        REQUIRE(info.message_size == texts[i].size());
        REQUIRE(info.size == std::min<std::size_t>(texts[i].size(), 4));
        REQUIRE(info.truncated() == (texts[i].size() > 4));
        REQUIRE(info.sender == a.local_endpoint().value());
        REQUIRE(std::string_view(space[i].data(), info.size) == texts[i].substr(0, info.size));
    }
}
