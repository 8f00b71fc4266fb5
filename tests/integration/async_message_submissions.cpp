// Single messages on the loop where the io_uring engine submits them (IORING_OP_SENDMSG and
// IORING_OP_RECVMSG) and must give what the readiness path gives; every case runs on both
// engines. A GSO send (UDP_SEGMENT) received by a plain POSIX socket, a GRO receive of a plain
// POSIX segmented send, MSG_TRUNC and MSG_CTRUNC from receives that waited, the sender's address,
// buffer sequences, a short stream send, and a deadline, a stop and a close ending a waiting
// receive with nothing taken. A forked child that may not call sendmsg or recvmsg (seccomp)
// proves that on io_uring the calls are submissions: its messages still go.
#include <netkit/async/message_operations.hpp>

#include "support/catch.hpp"
#include "support/seccomp.hpp"
#include "support/sockets.hpp"
#include "support/udp_segment.hpp"

#include <netkit/async/loop.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/task.hpp>
#include <netkit/netkit.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

using udp_info = nk::receive_info<nk::ip::endpoint>;
using gro_buffer = nk::control_buffer<nk::control_space<nk::cmsg::udp_gro>>;
using segment_buffer = nk::control_buffer<nk::control_space<nk::cmsg::udp_segment>>;

// Byte i of the test's payloads: a datagram cut, shifted or reordered does not compare equal.
std::vector<std::byte> pattern(std::size_t size) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<std::byte>((i * 7 + i / 251) & 0xff);
    }
    return bytes;
}

// The independent peer: a UDP socket on 127.0.0.1 made and used with plain system calls, so
// that what it sees is what the kernel sent, not what netkit's receive path makes of it.
class posix_udp {
public:
    posix_udp() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in self{};
        self.sin_family = AF_INET;
        self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&self), sizeof self) == 0);
        const timeval patience{10, 0};
        REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience) == 0);
    }
    posix_udp(const posix_udp&) = delete;
    posix_udp& operator=(const posix_udp&) = delete;
    ~posix_udp() { ::close(fd_); }

    [[nodiscard]] nk::ip::endpoint endpoint() const {
        sockaddr_storage name{};
        socklen_t length = sizeof name;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&name), &length) == 0);
        return nk::ip::endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&name), length)
            .value();
    }
    // One datagram, waiting up to 10 s.
    [[nodiscard]] std::vector<std::byte> receive() const {
        std::vector<std::byte> bytes(65536);
        const ssize_t got = ::recv(fd_, bytes.data(), bytes.size(), 0);
        REQUIRE(got >= 0);
        bytes.resize(static_cast<std::size_t>(got));
        return bytes;
    }
    // One sendmsg to `to`, segmented into datagrams of `segment` bytes when it is not 0.
    void send(std::span<const std::byte> bytes, const nk::ip::endpoint& to,
              std::uint16_t segment = 0) const {
        REQUIRE(nk::test::c_sendmsg_segmented(fd_, bytes.data(), bytes.size(), segment, 0,
                                              static_cast<const sockaddr*>(to.data()),
                                              static_cast<socklen_t>(to.size())) ==
                static_cast<ssize_t>(bytes.size()));
    }

private:
    int fd_;
};

nk::udp::socket bound_udp(bool coalescing = false) {
    auto sock = nk::udp::socket::open(nk::ip::v4, nk::io_mode::non_blocking).value();
    if (coalescing) {
        sock.set(nk::udp::gro, true).value();
    }
    sock.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).value();
    return sock;
}

template <class Data>
nka::task<nk::result<std::size_t>> send_to_with(nk::udp::socket& sock, const Data& data,
                                                nk::ip::endpoint peer,
                                                const nk::control_storage& control) {
    co_return co_await nka::send_message_to(sock, data, peer, control, nk::deadline::after(10s));
}

template <class Socket, class Data>
nka::task<nk::result<std::size_t>> send_with(Socket& sock, const Data& data,
                                             const nk::control_storage& control) {
    co_return co_await nka::send_message(sock, data, control, nk::deadline::after(10s));
}

template <class Info>
struct message_in {
    bool done = false;
    nk::result<Info> value = nk::failure{nk::error()};
};

template <class Socket, class Data, class Info>
nka::task<> receive_into(Socket& sock, Data& data, nk::control_storage& control, nk::deadline until,
                         nka::stop_token stop, message_in<Info>& in) {
    in.value = co_await nka::receive_message(sock, data, control, until, stop);
    in.done = true;
}

nka::task<> yield_once() { co_await nka::yield(); }

// Turns the loop until `in` is done (or nothing waits any more).
template <class Info>
void turn_until_done(nka::loop& loop, const message_in<Info>& in) {
    while (!in.done && loop.waiting() > 0) {
        loop.run(yield_once());
    }
    REQUIRE(in.done);
}

} // namespace

TEST_CASE("send_message with UDP_SEGMENT: a plain POSIX peer gets every segment") {
    posix_udp peer;
    auto sock = bound_udp();
    const std::vector<std::byte> payload = pattern(4 * 1200 + 700);
    segment_buffer control;
    REQUIRE(control.add(nk::cmsg::udp_segment{1200}));
    nka::loop loop;
    SECTION("send_message_to") {
        auto sent = loop.run(send_to_with(sock, payload, peer.endpoint(), control));
        REQUIRE(sent);
        CHECK(*sent == payload.size());
    }
    SECTION("send_message on a connected socket") {
        REQUIRE(sock.connect_to(peer.endpoint()));
        auto sent = loop.run(send_with(sock, payload, control));
        REQUIRE(sent);
        CHECK(*sent == payload.size());
    }
    for (std::size_t k = 0; k < 5; ++k) {
        const std::vector<std::byte> got = peer.receive();
        const std::size_t expected = k < 4 ? 1200 : 700;
        REQUIRE(got.size() == expected);
        CHECK(std::memcmp(got.data(), payload.data() + k * 1200, expected) == 0);
    }
}

TEST_CASE("send_message_to of a gathered message: one datagram, to the right peer") {
    posix_udp peer;
    auto sock = bound_udp();
    const std::string head = "head:";
    const std::string body = "body";
    segment_buffer none; // no control message: msg_controllen 0
    nka::loop loop;
    auto sent = loop.run(send_to_with(sock, nk::gather(head, body), peer.endpoint(), none));
    REQUIRE(sent);
    CHECK(*sent == 9);
    const std::vector<std::byte> got = peer.receive();
    CHECK(std::string_view(reinterpret_cast<const char*>(got.data()), got.size()) == "head:body");
}

TEST_CASE("receive_message with UDP_GRO: one coalesced receive, its segment size, its sender") {
    posix_udp peer;
    auto sock = bound_udp(true);
    const std::vector<std::byte> payload = pattern(4 * 1200 + 700);
    std::vector<std::byte> buffer(65536);
    gro_buffer control;
    message_in<udp_info> in;
    nka::loop loop;
    SECTION("already queued") {
        peer.send(payload, sock.local_endpoint().value(), 1200);
        loop.run(receive_into(sock, buffer, control, nk::deadline::after(10s), {}, in));
    }
    SECTION("sent while the receive waits") {
        loop.spawn(receive_into(sock, buffer, control, nk::deadline::after(10s), {}, in));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        peer.send(payload, sock.local_endpoint().value(), 1200);
        turn_until_done(loop, in);
    }
    REQUIRE(in.value);
    CHECK(in.value->size == payload.size());
    CHECK(in.value->message_size == payload.size());
    CHECK_FALSE(in.value->truncated());
    CHECK_FALSE(in.value->control_truncated());
    REQUIRE(in.value->sender.has_value());
    CHECK(*in.value->sender == peer.endpoint());
    CHECK(nk::udp::coalesced_segment_size(control.messages()) == std::optional<std::size_t>(1200));
    CHECK(std::memcmp(buffer.data(), payload.data(), payload.size()) == 0);
}

TEST_CASE("receive_message: MSG_TRUNC from a buffer too small, into a scattered buffer") {
    posix_udp peer;
    auto sock = bound_udp();
    const std::vector<std::byte> payload = pattern(200);
    std::array<std::byte, 24> first{};
    std::array<std::byte, 40> second{};
    auto both = nk::scatter(first, second); // 64 bytes in two buffers: two iovecs
    gro_buffer control;
    message_in<udp_info> in;
    nka::loop loop;
    loop.spawn(receive_into(sock, both, control, nk::deadline::after(10s), {}, in));
    loop.run(yield_once());
    REQUIRE(loop.waiting() == 1);
    peer.send(payload, sock.local_endpoint().value());
    turn_until_done(loop, in);
    REQUIRE(in.value);
    CHECK(in.value->size == 64);
    CHECK(in.value->message_size == 200); // the real length: MSG_TRUNC was asked for
    CHECK(in.value->truncated());
    CHECK(in.value->flags.truncated()); // msg_flags written back by the kernel
    CHECK_FALSE(in.value->control_truncated());
    REQUIRE(in.value->sender.has_value());
    CHECK(*in.value->sender == peer.endpoint());
    CHECK(std::memcmp(first.data(), payload.data(), first.size()) == 0);
    CHECK(std::memcmp(second.data(), payload.data() + first.size(), second.size()) == 0);
}

TEST_CASE(
    "receive_message: MSG_CTRUNC after a wait, the descriptors that fit owned, close-on-exec") {
    auto [a, b] = nk::local::datagram_socket::pair(nk::io_mode::non_blocking).value();
    std::array<int, 2> pipe_ends{};
    REQUIRE(::pipe2(pipe_ends.data(), O_CLOEXEC) == 0);
    const nk::file_descriptor read_end(pipe_ends[0]);
    const nk::file_descriptor write_end(pipe_ends[1]);
    nk::control_buffer<nk::control_space<nk::cmsg::rights<3>>> out;
    const std::array<int, 3> fds{write_end.get(), write_end.get(), write_end.get()};
    REQUIRE(out.add_descriptors(std::span(fds)));
    std::array<char, 16> bytes{};
    nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> control;
    message_in<nk::receive_info<nk::local::endpoint>> in;
    nka::loop loop;
    loop.spawn(receive_into(b, bytes, control, nk::deadline::after(10s), {}, in));
    loop.run(yield_once());
    REQUIRE(loop.waiting() == 1);
    REQUIRE(a.send_message(std::string(40, 'm'), out));
    turn_until_done(loop, in);
    REQUIRE(in.value);
    CHECK(in.value->size == 16);
    CHECK(in.value->message_size == 40);
    CHECK(in.value->flags.truncated());
    CHECK(in.value->control_truncated());
    REQUIRE(control.descriptor_count() >= 1);
    CHECK(control.descriptor_count() < 3);
    nk::file_descriptor copy = control.take_descriptor(0).value();
    CHECK((::fcntl(copy.get(), F_GETFD) & FD_CLOEXEC) != 0);
    REQUIRE(::write(copy.get(), "!", 1) == 1);
    char back = 0;
    REQUIRE(::read(read_end.get(), &back, 1) == 1);
    CHECK(back == '!');
}

TEST_CASE("receive_message on UDP: a deadline, a stop and a close end the wait, taking nothing") {
    posix_udp peer;
    auto sock = bound_udp();
    std::array<std::byte, 64> buffer{};
    gro_buffer control;
    message_in<udp_info> in;
    nka::loop loop;
    SECTION("a deadline") {
        loop.run(receive_into(sock, buffer, control, nk::deadline::after(20ms), {}, in));
        REQUIRE_FALSE(in.value);
        CHECK(in.value.error() == nk::errc::deadline_passed);
        CHECK(in.value.error().message() == "receive_message: deadline passed");
    }
    SECTION("a stop while waiting") {
        nka::stop_source stop;
        loop.spawn(receive_into(sock, buffer, control, {}, stop.token(), in));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        stop.request_stop();
        loop.run(yield_once());
        REQUIRE(in.done);
        REQUIRE_FALSE(in.value);
        CHECK(in.value.error() == std::errc::operation_canceled);
    }
    SECTION("the socket closed through the loop") {
        loop.spawn(receive_into(sock, buffer, control, {}, {}, in));
        loop.run(yield_once());
        REQUIRE(loop.waiting() == 1);
        REQUIRE(loop.close(sock));
        loop.run(yield_once());
        REQUIRE(in.done);
        REQUIRE_FALSE(in.value);
        CHECK(in.value.error() == std::errc::bad_file_descriptor);
        CHECK(loop.waiting() == 0);
        return; // nothing left to receive with
    }
    CHECK(loop.waiting() == 0);
    // The ended receive took nothing: the next datagram is the next receive's, whole.
    const std::vector<std::byte> payload = pattern(48);
    peer.send(payload, sock.local_endpoint().value());
    message_in<udp_info> next;
    loop.run(receive_into(sock, buffer, control, nk::deadline::after(10s), {}, next));
    REQUIRE(next.value);
    CHECK(next.value->size == payload.size());
    CHECK(std::memcmp(buffer.data(), payload.data(), payload.size()) == 0);
}

TEST_CASE("send_message on a stream is one call: a short send returns its count") {
    auto [a, b] = nk::local::stream_socket::pair(nk::io_mode::non_blocking).value();
    const std::vector<std::byte> payload = pattern(std::size_t{8} << 20U); // more than fits
    segment_buffer none;
    nka::loop loop;
    auto sent = loop.run(send_with(a, payload, none));
    REQUIRE(sent);
    CHECK(*sent > 0);
    CHECK(*sent < payload.size());
    std::vector<std::byte> landed(payload.size());
    std::size_t total = 0;
    for (;;) {
        auto got = b.receive(std::span(landed).subspan(total), nk::receive_flag::dont_wait);
        if (!got) {
            REQUIRE(got.error().would_block());
            break;
        }
        total += *got;
    }
    CHECK(total == *sent); // what it reported went, and nothing more was sent after
    CHECK(std::memcmp(landed.data(), payload.data(), total) == 0);
}

namespace {
// In a child that may not call sendmsg(2) or recvmsg(2) (both fail with ENOTRECOVERABLE): a
// descriptor and a segmented datagram sent and received on a loop. 0 when they went (io_uring:
// submissions make no system call of their own), 3 when each failed with the filter's error
// (epoll: the calls are the process's own), anything else a failure.
int messages_without_the_system_calls() {
    if (!nk::test::refuse_system_call(__NR_sendmsg, ENOTRECOVERABLE) ||
        !nk::test::refuse_system_call(__NR_recvmsg, ENOTRECOVERABLE)) {
        return nk::test::child_cannot_filter;
    }
    auto pair = nk::local::datagram_socket::pair(nk::io_mode::non_blocking);
    if (!pair) {
        return 10;
    }
    nka::loop loop;
    const bool ring = loop.engine_name() == "io_uring";
    nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> out;
    const int fd = pair->first.native_handle();
    if (!out.add_descriptors(std::span(&fd, 1))) {
        return 11;
    }
    auto sent = loop.run(send_with(pair->first, "ring"sv, out));
    std::array<char, 8> bytes{};
    nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> control;
    message_in<nk::receive_info<nk::local::endpoint>> in;
    loop.run(receive_into(pair->second, bytes, control, nk::deadline::after(10s), {}, in));
    if (!ring) {
        const bool refused = !sent && sent.error() == std::errc::state_not_recoverable &&
                             !in.value && in.value.error() == std::errc::state_not_recoverable;
        return refused ? 3 : 12;
    }
    if (!sent || *sent != 4 || !in.value || in.value->size != 4 ||
        control.descriptor_count() != 1) {
        return 13;
    }
    return std::string_view(bytes.data(), 4) == "ring" ? 0 : 14;
}
} // namespace

TEST_CASE("on io_uring, send_message and receive_message make no sendmsg or recvmsg call") {
    const int status = nk::test::run_in_child(messages_without_the_system_calls);
    if (status == nk::test::child_cannot_filter) {
        WARN("skipped: this process may not install a seccomp filter");
        return;
    }
    nka::loop loop; // the engine the child had, as the environment chooses it
    CHECK(status == (loop.engine_name() == "io_uring" ? 0 : 3));
}
