// Datagrams on a loop: send_to and receive_from at once and after a wait, truncation, deadlines,
// the cancellation cases, a refused port, a peer in a python3 process, and the UDP segmenter.
#include <netkit/async/datagram_operations.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/io/udp_offload.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

using info = nk::receive_info<nk::ip::endpoint>;

std::pair<nk::udp::socket, nk::udp::socket> udp_pair() {
    auto [a, b] = nk::test::udp_sockets();
    REQUIRE(a.set_non_blocking(true));
    REQUIRE(b.set_non_blocking(true));
    return {std::move(a), std::move(b)};
}

nka::task<nk::result<std::size_t>> send_to_task(nk::udp::socket& sock, std::string bytes,
                                                nk::ip::endpoint peer, nk::deadline until,
                                                nka::stop_token stop) {
    co_return co_await nka::send_to(sock, bytes, peer, until, stop);
}

struct received {
    bool done = false;
    nk::result<info> value = nk::failure{nk::error()};
    std::array<char, 64> bytes{};
    [[nodiscard]] std::string_view text() const { return {bytes.data(), value->size}; }
};

nka::task<> receive_into(nk::udp::socket& sock, nk::deadline until, nka::stop_token stop,
                         received& out) {
    out.value = co_await nka::receive_from(sock, out.bytes, until, stop);
    out.done = true;
}

nka::task<> yield_once() { co_await nka::yield(); }

// A loopback port nobody listens on: bound by a plain socket, then closed.
nk::ip::endpoint closed_port() {
    auto holder = nk::udp::socket::open(nk::ip::v4).value();
    holder.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    return holder.local_endpoint().value();
}

} // namespace

TEST_CASE("send_to and receive_from complete at once when they can") {
    auto [a, b] = udp_pair();
    nka::loop loop;
    const auto to_b = b.local_endpoint().value();
    auto sent = loop.run(send_to_task(a, "datagram", to_b, nk::deadline::after(10s), {}));
    REQUIRE(sent);
    CHECK(*sent == 8);
    received got;
    loop.run(receive_into(b, nk::deadline::after(10s), {}, got));
    REQUIRE(got.value);
    CHECK(got.text() == "datagram");
    CHECK_FALSE(got.value->truncated());
    REQUIRE(got.value->sender);
    CHECK(*got.value->sender == a.local_endpoint().value());
}

TEST_CASE("receive_from waits for a datagram, and reports one that did not fit") {
    auto [a, b] = udp_pair();
    nka::loop loop;
    received got;
    loop.spawn(receive_into(b, nk::deadline::after(10s), {}, got));
    loop.run(yield_once());
    REQUIRE_FALSE(got.done);
    CHECK(loop.waiting() == 1);
    const std::string large(100, 'x'); // the buffer holds 64
    REQUIRE(loop.run(send_to_task(a, large, b.local_endpoint().value(), {}, {})));
    while (!got.done && loop.waiting() > 0) {
        loop.run(yield_once());
    }
    REQUIRE(got.done);
    REQUIRE(got.value);
    CHECK(got.value->size == 64);
    CHECK(got.value->message_size == 100);
    CHECK(got.value->truncated());
}

TEST_CASE("receive_from: deadline, stop before the start and while waiting") {
    auto [a, b] = udp_pair();
    nka::loop loop;
    SECTION("a deadline") {
        received got;
        const auto until = nk::deadline::after(20ms);
        loop.run(receive_into(b, until, {}, got));
        REQUIRE_FALSE(got.value);
        CHECK(got.value.error() == nk::errc::deadline_passed);
        CHECK(got.value.error().message() == "receive_from: deadline passed");
        CHECK(nk::deadline::clock::now() >= until.at());
    }
    SECTION("a stop before the start: the datagram stays queued") {
        REQUIRE(a.send_to("kept"sv, b.local_endpoint().value()));
        nka::stop_source stop;
        stop.request_stop();
        received got;
        loop.run(receive_into(b, {}, stop.token(), got));
        CHECK(got.value.error() == std::errc::operation_canceled);
        received after;
        loop.run(receive_into(b, nk::deadline::after(10s), {}, after));
        REQUIRE(after.value);
        CHECK(after.text() == "kept");
    }
    SECTION("a stop while waiting") {
        nka::stop_source stop;
        received got;
        loop.spawn(receive_into(b, {}, stop.token(), got));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        stop.request_stop();
        loop.run(yield_once());
        REQUIRE(got.done);
        CHECK(got.value.error() == std::errc::operation_canceled);
        CHECK(loop.waiting() == 0);
    }
}

TEST_CASE("send_to and receive_from on a connected socket whose peer's port is closed") {
    auto [a, b] = udp_pair();
    const auto nobody = closed_port();
    REQUIRE(a.connect_to(nobody));
    nka::loop loop;
    // The datagram goes; the port unreachable that comes back is the socket's pending error,
    // which the next receive returns.
    REQUIRE(loop.run(send_to_task(a, "anyone?", nobody, nk::deadline::after(10s), {})));
    received got;
    loop.run(receive_into(a, nk::deadline::after(10s), {}, got));
    REQUIRE_FALSE(got.value);
    CHECK(got.value.error() == std::errc::connection_refused);
}

namespace {
nka::task<nk::result<std::size_t>> local_send_to(nk::local::datagram_socket& sock,
                                                 std::string bytes, nk::local::endpoint peer,
                                                 nk::deadline until, nka::stop_token stop) {
    co_return co_await nka::send_to(sock, bytes, peer, until, stop);
}

struct local_sent {
    bool done = false;
    nk::result<std::size_t> value = nk::failure{nk::error()};
};

nka::task<> local_send_into(nk::local::datagram_socket& sock, nk::local::endpoint peer,
                            nk::deadline until, nka::stop_token stop, local_sent& out) {
    out.value = co_await local_send_to(sock, "last", peer, until, stop);
    out.done = true;
}

// A Unix datagram receiver under an abstract name, and a sender connected to it (so that its
// writability follows the receiver's queue) whose datagrams fill that queue.
struct full_queue {
    nk::local::endpoint name =
        nk::local::endpoint::abstract("netkit-async-datagrams-" + std::to_string(::getpid()))
            .value();
    nk::local::datagram_socket receiver = nk::local::datagram_socket::open().value();
    nk::local::datagram_socket sender =
        nk::local::datagram_socket::open(nk::io_mode::non_blocking).value();
    int queued = 0;
    full_queue() {
        REQUIRE(receiver.bind(name));
        REQUIRE(sender.connect_to(name));
        for (;;) {
            auto sent = sender.send_to("fill"sv, name, nk::send_flag::dont_wait);
            if (!sent) {
                REQUIRE(sent.error().would_block());
                break;
            }
            ++queued;
            REQUIRE(queued < 100000);
        }
    }
};
} // namespace

TEST_CASE("send_to waits while the receiver's queue is full, and ends at its deadline") {
    full_queue q;
    nka::loop loop;
    SECTION("completes once the receiver takes one") {
        local_sent out;
        loop.spawn(local_send_into(q.sender, q.name, nk::deadline::after(10s), {}, out));
        loop.run(yield_once());
        REQUIRE_FALSE(out.done);
        REQUIRE(loop.waiting() == 1);
        std::array<char, 8> one{};
        REQUIRE(q.receiver.receive(one));
        while (!out.done && loop.waiting() > 0) {
            loop.run(yield_once());
        }
        REQUIRE(out.value);
        CHECK(*out.value == 4);
        std::string last;
        for (int i = 0; i < q.queued; ++i) { // the queue, then the datagram that waited
            auto got = q.receiver.receive(one, nk::receive_flag::dont_wait);
            REQUIRE(got);
            last.assign(one.data(), got->size);
        }
        CHECK(last == "last");
    }
    SECTION("a deadline") {
        auto sent =
            loop.run(local_send_to(q.sender, "late", q.name, nk::deadline::after(20ms), {}));
        REQUIRE_FALSE(sent);
        CHECK(sent.error() == nk::errc::deadline_passed);
        CHECK(sent.error().message() == "send_to: deadline passed");
    }
    SECTION("a stop before the start sends nothing, a stop while waiting ends the wait") {
        nka::stop_source before;
        before.request_stop();
        auto sent = loop.run(local_send_to(q.sender, "no", q.name, {}, before.token()));
        CHECK(sent.error() == std::errc::operation_canceled);
        nka::stop_source during;
        local_sent out;
        loop.spawn(local_send_into(q.sender, q.name, {}, during.token(), out));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        during.request_stop();
        loop.run(yield_once());
        REQUIRE(out.done);
        CHECK(out.value.error() == std::errc::operation_canceled);
        std::array<char, 8> one{};
        int left = 0;
        while (q.receiver.receive(one, nk::receive_flag::dont_wait)) {
            ++left;
        }
        CHECK(left == q.queued); // neither cancelled datagram went
    }
}

namespace {
nka::task<std::string> answer_python(nk::udp::socket& sock) {
    std::array<char, 128> bytes{};
    auto got = co_await nka::receive_from(sock, bytes, nk::deadline::after(10s));
    if (!got || !got->sender) {
        co_return "no datagram";
    }
    std::string text(bytes.data(), got->size);
    auto sent =
        co_await nka::send_to(sock, "pong: " + text, *got->sender, nk::deadline::after(10s));
    if (!sent) {
        co_return sent.error().message();
    }
    co_return text;
}
} // namespace

TEST_CASE("receive_from and send_to with a peer in a python3 process") {
    auto [sock, unused] = udp_pair();
    const auto port = sock.local_endpoint().value().port();
    const std::string script = "import socket\n"
                               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                               "s.settimeout(10)\n"
                               "s.sendto(b'ping from python', ('127.0.0.1', " +
                               std::to_string(port) +
                               "))\n"
                               "data, peer = s.recvfrom(256)\n"
                               "print(data.decode(), peer[1] == " +
                               std::to_string(port) + ")\n";
    const std::string command = "python3 -c \"" + script + "\"";
    FILE* peer = ::popen(command.c_str(), "r");
    REQUIRE(peer != nullptr);
    nka::loop loop;
    const std::string heard = loop.run(answer_python(sock));
    std::array<char, 256> out{};
    const std::size_t n = std::fread(out.data(), 1, out.size(), peer);
    const int status = ::pclose(peer);
    CHECK(heard == "ping from python");
    CHECK(std::string(out.data(), n) == "pong: ping from python True\n");
    CHECK(status == 0);
}

namespace {
nka::task<nk::result<std::size_t>> segmented(nk::udp::socket& sock, nk::udp::segmenter& seg,
                                             std::string bytes, std::size_t size,
                                             nka::stop_token stop) {
    co_return co_await nka::send_segmented(sock, seg, bytes, size, nk::deadline::after(10s), stop);
}
nka::task<nk::result<std::size_t>> segmented_to(nk::udp::socket& sock, nk::udp::segmenter& seg,
                                                std::string bytes, std::size_t size,
                                                nk::ip::endpoint to) {
    co_return co_await nka::send_segmented_to(sock, seg, bytes, size, to, nk::deadline::after(10s));
}
std::string numbered(std::size_t count) {
    std::string bytes(count, '\0');
    for (std::size_t i = 0; i < count; ++i) {
        bytes[i] = static_cast<char>('a' + i % 26);
    }
    return bytes;
}
} // namespace

// A UDP socket on loopback is never full (the datagram leaves its buffer within the send), so
// the segmenter's wait for room is the one every operation shares; its resume point is the
// segmenter's count of whole datagrams, checked by the io/ tier's own tests.
TEST_CASE("send_segmented: every datagram cut at the size, a stop, a refused port") {
    auto [a, b] = udp_pair();
    nk::udp::segmenter seg;
    nka::loop loop;
    const std::string bytes = numbered(1050);
    SECTION("connected, at once") {
        REQUIRE(a.connect_to(b.local_endpoint().value()));
        auto sent = loop.run(segmented(a, seg, bytes, 100, {}));
        REQUIRE(sent);
        CHECK(*sent == bytes.size());
        std::string joined;
        for (std::size_t i = 0; i < 11; ++i) {
            std::array<char, 200> one{};
            auto got = b.receive(one, nk::receive_flag::dont_wait);
            REQUIRE(got);
            CHECK(got->size == (i < 10 ? 100U : 50U));
            joined.append(one.data(), got->size);
        }
        CHECK(joined == bytes);
    }
    SECTION("to a destination") {
        auto sent = loop.run(segmented_to(a, seg, bytes, 500, b.local_endpoint().value()));
        REQUIRE(sent);
        CHECK(*sent == bytes.size());
        std::array<char, 600> one{};
        CHECK(b.receive(one, nk::receive_flag::dont_wait).value().size == 500);
    }
    SECTION("a stop before the start sends nothing") {
        REQUIRE(a.connect_to(b.local_endpoint().value()));
        nka::stop_source stop;
        stop.request_stop();
        auto sent = loop.run(segmented(a, seg, bytes, 100, stop.token()));
        CHECK(sent.error() == std::errc::operation_canceled);
        std::array<char, 200> one{};
        CHECK(b.receive(one, nk::receive_flag::dont_wait).error().would_block());
    }
    SECTION("a refused port: the next send fails, none of it counted") {
        REQUIRE(a.connect_to(closed_port()));
        REQUIRE(loop.run(segmented(a, seg, bytes, 100, {})));
        pollfd refused{a.native_handle(), 0, 0}; // the port unreachable is back: POLLERR
        REQUIRE(::poll(&refused, 1, 10000) == 1);
        auto again = loop.run(segmented(a, seg, bytes, 100, {}));
        REQUIRE_FALSE(again);
        CHECK(again.error() == std::errc::connection_refused);
        CHECK(again.error().bytes_transferred() == 0);
    }
}
