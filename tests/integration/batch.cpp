// Batches: sendmmsg and recvmmsg through message_batch, checked against plain sendto/recvfrom
// peers so that a fault shared by netkit's two ends cannot hide.
#include <netkit/io/batch.hpp>
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"
#include "support/threads.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

// Reads one datagram with the C API (no netkit on this side); empty when none is queued.
std::string c_receive(int fd, int flags = 0) {
    std::array<char, 2048> buf{};
    const ssize_t got = ::recv(fd, buf.data(), buf.size(), flags);
    return got < 0 ? std::string() : std::string(buf.data(), static_cast<std::size_t>(got));
}

std::uint32_t sequence_of(std::span<const std::byte> bytes) {
    std::uint32_t n = 0;
    std::memcpy(&n, bytes.data(), sizeof n);
    return n;
}

} // namespace

TEST_CASE("send_batch: one sendmmsg sends every message, gathered, to its own destination") {
    auto [a, b] = nk::test::udp_sockets();
    auto c = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
    c.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();

    const std::array<std::string, 4> bodies{"zero", "one", "two", "three"};
    const std::string head = "#";
    nk::udp::batch<8, 2> batch;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        // Each message is gathered from two buffers; even ones go to b, odd ones to c.
        const auto to = (i % 2 == 0 ? b : c).local_endpoint().value();
        REQUIRE(batch.add(nk::gather(head, bodies[i]), to).has_value());
    }
    REQUIRE(batch.size() == 4);
    REQUIRE(nk::send_batch(a, batch).value() == 4);
    REQUIRE(batch.completed() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        REQUIRE(batch.header(i).transferred() == 1 + bodies[i].size());
    }
    REQUIRE(c_receive(b.native_handle()) == "#zero");
    REQUIRE(c_receive(b.native_handle()) == "#two");
    REQUIRE(c_receive(c.native_handle()) == "#one");
    REQUIRE(c_receive(c.native_handle()) == "#three");

    // Nothing is pending: no system call, nothing sent twice.
    REQUIRE(nk::send_batch(a, batch).value() == 0);
    REQUIRE(c_receive(b.native_handle(), MSG_DONTWAIT).empty());
    REQUIRE(c_receive(c.native_handle(), MSG_DONTWAIT).empty());
}

TEST_CASE("receive_batch takes every queued datagram in one recvmmsg, with sizes and senders") {
    auto [a, b] = nk::test::udp_sockets();
    const auto b_at = b.local_endpoint().value();
    const auto a_at = a.local_endpoint().value();
    sockaddr_in to{};
    std::memcpy(&to, b_at.data(), sizeof to);
    // The sender is the C API: 10 datagrams of growing size, the last larger than a slot.
    for (int i = 0; i < 10; ++i) {
        const std::string body(i == 9 ? 100 : static_cast<std::size_t>(i + 1), char('a' + i));
        REQUIRE(::sendto(a.native_handle(), body.data(), body.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to),
                         sizeof to) == static_cast<ssize_t>(body.size()));
    }
    std::array<std::byte, 16 * 64> area{};
    nk::udp::batch<16> batch;
    // Ten slots: receive_batch_all waits for all ten, however the kernel hands them over.
    REQUIRE(batch.add_receive_slots(std::span(area).first(10 * 64), 64).value() == 10);
    REQUIRE(nk::receive_batch_all(b, batch, {}, 10s).value() == 10);
    REQUIRE(batch.completed() == 10);
    for (std::size_t i = 0; i < 9; ++i) {
        const auto info = batch.info(i);
        REQUIRE(info.size == i + 1);
        REQUIRE_FALSE(info.truncated());
        REQUIRE(info.sender == a_at);
        const auto bytes = batch.bytes(i);
        REQUIRE(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()) ==
                std::string(i + 1, char('a' + i)));
    }
    // The datagram larger than its slot is reported truncated, with its real size.
    const auto last = batch.info(9);
    REQUIRE(last.truncated());
    REQUIRE(last.size == 64);
    REQUIRE(last.message_size == 100);
    REQUIRE(batch.truncated(9));
    REQUIRE_FALSE(batch.truncated(8));
    REQUIRE(batch.bytes(9).size() == 64);

    // The same batch is received into again: the old results are gone.
    REQUIRE(a.send_to("again"sv, b_at).value() == 5);
    REQUIRE(nk::receive_batch(b, batch).value() == 1);
    REQUIRE(batch.info(0).size == 5);
    REQUIRE(batch.info(0).sender == a_at);

    // Without senders' names (a connected socket knows its peer): the data, and no sender.
    batch.receive_senders(false);
    REQUIRE(a.send_to("nameless"sv, b_at).value() == 8);
    REQUIRE(nk::receive_batch(b, batch).value() == 1);
    REQUIRE(batch.info(0).size == 8);
    REQUIRE_FALSE(batch.info(0).sender.has_value());
}

TEST_CASE("receive_batch: deadlines and non-blocking calls end with an error value") {
    auto [a, b] = nk::test::udp_sockets();
    std::array<std::byte, 4 * 32> area{};
    nk::udp::batch<4> batch;
    REQUIRE(batch.add_receive_slots(area, 32).value() == 4);

    auto nothing = nk::receive_batch(b, batch, {}, 20ms);
    REQUIRE_FALSE(nothing);
    REQUIRE(nothing.error() == std::errc::timed_out);
    REQUIRE(nothing.error().message() == "recvmmsg: deadline passed");
    auto not_now = nk::receive_batch(b, batch, nk::receive_flag::dont_wait);
    REQUIRE_FALSE(not_now);
    REQUIRE(not_now.error().would_block());
    // A non-blocking socket: one call, no wait, as every one-call operation.
    b.set_non_blocking(true).value();
    auto empty = nk::receive_batch(b, batch);
    REQUIRE_FALSE(empty);
    REQUIRE(empty.error().would_block());
    b.set_non_blocking(false).value();

    // receive_batch_all wants all four: two arrive, the deadline ends it, both are readable.
    const auto b_at = b.local_endpoint().value();
    REQUIRE(a.send_to("x"sv, b_at).value() == 1);
    REQUIRE(a.send_to("yy"sv, b_at).value() == 2);
    auto partial = nk::receive_batch_all(b, batch, {}, 20ms);
    REQUIRE_FALSE(partial);
    REQUIRE(partial.error() == std::errc::timed_out);
    REQUIRE(batch.completed() == 2);
    REQUIRE(batch.info(0).size == 1);
    REQUIRE(batch.info(1).size == 2);

    // With all four queued it returns them.
    for (int i = 0; i < 4; ++i) {
        REQUIRE(a.send_to("z"sv, b_at).value() == 1);
    }
    REQUIRE(nk::receive_batch_all(b, batch, {}, 10s).value() == 4);
}

TEST_CASE("send_batch_all resumes after a partial batch and sends no datagram twice") {
    // A Unix datagram pair applies backpressure (the peer's queue is bounded), so a
    // non-blocking sendmmsg really stops part way; UDP would drop instead.
    auto ends = nk::test::local_pair<nk::local::datagram_protocol>();
    auto& tx = ends.first;
    auto& rx = ends.second; // not a structured binding: clang 14 cannot capture those
    tx.set_non_blocking(true).value();
    // A socketpair's sender is held back by its own send buffer: the smallest one the kernel
    // allows holds a few datagrams, so a batch of 256 must stop part way.
    tx.set(nk::so::send_buffer_size, 1).value();
    constexpr std::uint32_t total = 4000;
    std::vector<std::uint32_t> numbers(total);
    for (std::uint32_t i = 0; i < total; ++i) {
        numbers[i] = i;
    }

    std::vector<std::uint32_t> seen;
    netkit_test::joining_thread reader([&] {
        std::array<std::byte, 64 * 8> area{};
        nk::message_batch<nk::local::datagram_protocol, 64> in;
        (void)in.add_receive_slots(area, 8);
        while (seen.size() < total) {
            auto got = nk::receive_batch(rx, in, {}, 10s);
            if (!got) {
                return; // the assertion below reports the shortfall
            }
            for (std::size_t i = 0; i < *got; ++i) {
                seen.push_back(sequence_of(in.bytes(i)));
            }
        }
    });

    nk::message_batch<nk::local::datagram_protocol, 256> out;
    std::size_t partial_batches = 0;
    for (std::uint32_t next = 0; next < total;) {
        out.clear();
        while (!out.full() && next < total) {
            out.add(std::span(&numbers[next], 1)).value();
            ++next;
        }
        // First one plain sendmmsg: it may stop part way on the full queue.
        auto first = nk::send_batch(tx, out);
        if (!first || out.completed() < out.size()) {
            ++partial_batches;
        }
        const std::size_t before = out.completed();
        REQUIRE(nk::send_batch_all(tx, out, {}, 10s).value() == out.size() - before);
        REQUIRE(out.completed() == out.size());
    }
    reader.join();
    REQUIRE(seen.size() == total);
    for (std::uint32_t i = 0; i < total; ++i) {
        REQUIRE(seen[i] == i);
    }
    // The send buffer holds far fewer than 256 datagrams, so batches must have stopped part way:
    // without this the test would not have exercised the resume.
    REQUIRE(partial_batches > 0);
}

TEST_CASE("a batch carries control data per message, and owns the descriptors it receives") {
    auto [a, b] = nk::test::local_pair<nk::local::datagram_protocol>();
    const int first = ::eventfd(0, EFD_CLOEXEC);
    const int second = ::eventfd(0, EFD_CLOEXEC);
    REQUIRE(first >= 0);
    REQUIRE(second >= 0);
    constexpr std::size_t room = nk::control_space<nk::cmsg::rights<1>>;
    {
        nk::message_batch<nk::local::datagram_protocol, 2, 1, room> out;
        nk::control_buffer<room> control;
        control.add_descriptors(std::span(&first, 1)).value();
        out.add("one"sv, control).value();
        control.clear();
        control.add_descriptors(std::span(&second, 1)).value();
        out.add("two"sv, control).value();
        REQUIRE(nk::send_batch(a, out).value() == 2);
    }
    ::close(first);
    ::close(second);

    std::array<std::byte, 2 * 16> area{};
    nk::message_batch<nk::local::datagram_protocol, 2, 1, room> in;
    REQUIRE(in.add_receive_slots(area, 16).value() == 2);
    REQUIRE(nk::receive_batch_all(b, in, {}, 10s).value() == 2);
    REQUIRE(in.control(0).descriptor_count() == 1);
    REQUIRE(in.control(1).descriptor_count() == 1);
    auto taken = in.control(0).take_descriptor(0).value();
    REQUIRE(::fcntl(taken.get(), F_GETFD) == FD_CLOEXEC);
    const int untaken = in.control(1).messages().begin().operator*().descriptor(0);
    REQUIRE(::fcntl(untaken, F_GETFD) >= 0);
    in.clear(); // closes the descriptor nobody took
    REQUIRE(::fcntl(untaken, F_GETFD) == -1);
    REQUIRE(::fcntl(taken.get(), F_GETFD) == FD_CLOEXEC);
}

TEST_CASE("a batch refuses what it cannot hold, and stays as it was") {
    nk::udp::batch<2, 1, nk::control_space<nk::cmsg::udp_segment>> batch;
    const auto peer = nk::ip::endpoint(nk::ip::address_v4::loopback(), 9);
    REQUIRE(batch.add("a"sv, peer).has_value());

    const std::string x = "x";
    auto too_many = batch.add(nk::gather(x, x), peer);
    REQUIRE(too_many.error() == nk::errc::too_many_buffers);
    REQUIRE(batch.size() == 1);

    nk::control_buffer<nk::control_space<nk::cmsg::udp_segment, nk::cmsg::udp_segment>> big;
    big.add(nk::cmsg::udp_segment{100}).value();
    big.add(nk::cmsg::udp_segment{100}).value();
    auto no_room = batch.add("b"sv, peer, big);
    REQUIRE(no_room.error() == std::errc::no_buffer_space);
    REQUIRE(batch.size() == 1);

    REQUIRE(batch.add("c"sv, peer).has_value());
    auto full = batch.add("d"sv, peer);
    REQUIRE(full.error() == std::errc::no_buffer_space);

    std::array<std::byte, 8> area{};
    nk::udp::batch<2> in;
    REQUIRE(in.add_receive_slots(area, 0).error() == std::errc::invalid_argument);
    REQUIRE(in.add_receive_slots(area, 100).value() == 0);
}

TEST_CASE("a batch received into again is reset: names and control areas of every size") {
    // What one receive wrote (a name of 0 bytes, no control data) must not shrink the room the
    // next one has: a named sender, and a descriptor, must come through whole.
    const auto where =
        nk::local::endpoint::abstract("netkit-batch-reset-" + std::to_string(::getpid())).value();
    auto named = nk::test::bounded(nk::local::datagram_socket::open().value());
    named.bind(where).value();
    auto receiver = nk::test::bounded(nk::local::datagram_socket::open().value());
    const auto receiver_at =
        nk::local::endpoint::abstract("netkit-batch-rx-" + std::to_string(::getpid())).value();
    receiver.bind(receiver_at).value();

    constexpr std::size_t room = nk::control_space<nk::cmsg::rights<1>>;
    std::array<std::byte, 64> area{};
    nk::message_batch<nk::local::datagram_protocol, 1, 1, room> in;
    REQUIRE(in.add_receive_slots(area, 64).value() == 1);

    auto unnamed = nk::local::datagram_socket::open().value();
    REQUIRE(unnamed.send_to("first"sv, receiver_at).value() == 5);
    REQUIRE(nk::receive_batch(receiver, in, {}, 10s).value() == 1);
    REQUIRE(in.info(0).sender == nk::local::endpoint{});
    REQUIRE(in.control(0).descriptor_count() == 0);

    const int fd = ::eventfd(0, EFD_CLOEXEC);
    REQUIRE(fd >= 0);
    nk::control_buffer<room> control;
    control.add_descriptors(std::span(&fd, 1)).value();
    REQUIRE(named.send_message_to("second"sv, receiver_at, control).value() == 6);
    ::close(fd);
    REQUIRE(nk::receive_batch(receiver, in, {}, 10s).value() == 1);
    REQUIRE(in.info(0).sender == where);
    REQUIRE_FALSE(in.info(0).control_truncated());
    REQUIRE(in.control(0).descriptor_count() == 1);
}
