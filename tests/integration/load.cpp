// Load: many connections at once moving randomly shaped gather messages, and a long run of
// datagrams; every byte is checked for value and order. Workers never use Catch2 assertions
// (they are not thread-safe): each returns an empty string on success or what went wrong.

#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <future>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace nk = netkit;

namespace {

/// The bytes every connection sends, read cyclically from an offset of its own: the receiver
/// knows what each byte must be, so value and order are checked with memcmp.
class pattern {
public:
    static constexpr std::size_t size = std::size_t{1} << 20;

    pattern() : bytes_(size) {
        std::mt19937_64 random(0x6e65746b6974ULL);
        for (auto& b : bytes_) {
            b = static_cast<unsigned char>(random());
        }
    }
    /// Up to `length` bytes at stream position `position` of a connection starting at `origin`,
    /// cut short where the pattern wraps.
    [[nodiscard]] nk::const_buffer at(std::size_t origin, std::size_t position,
                                      std::size_t length) const {
        const std::size_t offset = (origin + position) % size;
        return nk::buffer(bytes_.data() + offset, std::min(length, size - offset));
    }

private:
    std::vector<unsigned char> bytes_;
};

// 8 MiB per connection in every build, sanitized ones included: under ASan and TSan the whole
// 512 MiB still takes about a second on two cores.
constexpr std::size_t bytes_per_connection = std::size_t{8} << 20;

/// Sends `bytes_per_connection` as gather messages of 1 to 64 buffers of 1 B to 64 KiB.
std::string send_random_gathers(nk::tcp::socket& sock, const pattern& data, std::size_t origin,
                                unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_int_distribution<std::size_t> buffer_count(1, 64);
    std::uniform_int_distribution<std::size_t> buffer_size(1, 65536);
    std::vector<nk::const_buffer> message;
    std::size_t sent = 0;
    while (sent < bytes_per_connection) {
        message.clear();
        std::size_t planned = 0;
        const std::size_t count = buffer_count(random);
        for (std::size_t i = 0; i < count && sent + planned < bytes_per_connection; ++i) {
            const std::size_t wanted =
                std::min(buffer_size(random), bytes_per_connection - sent - planned);
            message.push_back(data.at(origin, sent + planned, wanted));
            planned += message.back().size();
        }
        auto out = sock.send_all(message);
        if (!out) {
            return "send_all after " + std::to_string(sent) + " bytes: " + out.error().message();
        }
        if (*out != planned) {
            return "send_all sent " + std::to_string(*out) + " of " + std::to_string(planned);
        }
        sent += planned;
    }
    auto done = sock.shutdown(nk::shutdown::write);
    return done ? std::string{} : done.error().message();
}

/// Receives until end of stream, checking each byte against the pattern and the total.
std::string receive_and_verify(nk::tcp::socket& sock, const pattern& data, std::size_t origin) {
    std::vector<unsigned char> bite(65536);
    std::size_t received = 0;
    for (;;) {
        auto got = sock.receive(bite);
        if (!got) {
            return "receive after " + std::to_string(received) + " bytes: " + got.error().message();
        }
        if (*got == 0) {
            break;
        }
        for (std::size_t checked = 0; checked < *got;) {
            const auto expected = data.at(origin, received + checked, *got - checked);
            if (std::memcmp(bite.data() + checked, expected.data(), expected.size()) != 0) {
                return "corrupt or reordered data near byte " + std::to_string(received + checked);
            }
            checked += expected.size();
        }
        received += *got;
        if (received > bytes_per_connection) {
            return "more bytes than were sent";
        }
    }
    return received == bytes_per_connection ? std::string{}
                                            : "lost data: " + std::to_string(received) + " of " +
                                                  std::to_string(bytes_per_connection);
}

} // namespace

TEST_CASE("64 concurrent connections send random gathers, and every byte arrives in order",
          "[load]") {
    constexpr std::size_t connections = 64;
    const pattern data;
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    const auto where = acceptor.local_endpoint().value();
    std::vector<std::pair<nk::tcp::socket, nk::tcp::socket>> pairs;
    pairs.reserve(connections);
    for (std::size_t i = 0; i < connections; ++i) {
        auto client = nk::test::bounded(nk::tcp::socket::connect(where).value());
        auto server = nk::test::bounded(std::move(acceptor.accept().value().socket));
        pairs.emplace_back(std::move(client), std::move(server));
    }

    std::vector<std::future<std::string>> senders;
    std::vector<std::future<std::string>> receivers;
    for (std::size_t i = 0; i < connections; ++i) {
        const std::size_t origin = i * 7919; // each connection its own byte sequence
        senders.push_back(std::async(std::launch::async, [&, i, origin] {
            return send_random_gathers(pairs[i].first, data, origin, static_cast<unsigned>(i + 1));
        }));
        receivers.push_back(std::async(std::launch::async, [&, i, origin] {
            return receive_and_verify(pairs[i].second, data, origin);
        }));
    }
    for (std::size_t i = 0; i < connections; ++i) {
        INFO("connection " << i);
        CHECK(senders[i].get().empty());
        CHECK(receivers[i].get().empty());
    }
}

TEST_CASE("100000 datagrams over a Unix datagram socketpair: none lost, none reordered", "[load]") {
    constexpr std::uint64_t count = 100000;
    auto pair = nk::test::local_pair<nk::local::datagram_protocol>();
    [[maybe_unused]] auto& sender = pair.first;
    [[maybe_unused]] auto& receiver = pair.second;

    // A Unix datagram socket blocks the sender when the receiver's queue is full instead of
    // dropping, so every datagram must arrive. Each carries its sequence number and a payload
    // derived from it, 8 to 1031 bytes long.
    auto payload_of = [](std::uint64_t sequence, std::array<unsigned char, 1032>& out) {
        std::memcpy(out.data(), &sequence, sizeof sequence);
        const std::size_t length = 8 + sequence % 1024;
        for (std::size_t i = 8; i < length; ++i) {
            out[i] = static_cast<unsigned char>(sequence * 31 + i);
        }
        return length;
    };
    auto sending = std::async(std::launch::async, [&]() -> std::string {
        std::array<unsigned char, 1032> datagram{};
        for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
            const std::size_t length = payload_of(sequence, datagram);
            auto sent = sender.send(nk::buffer(datagram.data(), length));
            if (!sent || *sent != length) {
                return "send of datagram " + std::to_string(sequence) + " failed";
            }
        }
        return {};
    });

    std::array<unsigned char, 1032> expected{};
    std::array<unsigned char, 2048> got{};
    std::uint64_t sequence = 0;
    std::string problem;
    for (; sequence < count && problem.empty(); ++sequence) {
        auto received = receiver.receive(got);
        const std::size_t length = payload_of(sequence, expected);
        if (!received) {
            problem = "receive of datagram " + std::to_string(sequence) + ": " +
                      received.error().message();
        } else if (received->truncated() || received->size != length ||
                   std::memcmp(got.data(), expected.data(), length) != 0) {
            std::uint64_t arrived = 0;
            std::memcpy(&arrived, got.data(), sizeof arrived);
            problem = "expected datagram " + std::to_string(sequence) + ", got " +
                      std::to_string(arrived);
        }
    }
    REQUIRE(sending.get().empty());
    INFO(problem);
    REQUIRE(problem.empty());
    REQUIRE(sequence == count);
}
