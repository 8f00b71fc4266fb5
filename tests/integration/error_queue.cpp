// The error queue: ICMP errors queued with IP_RECVERR / IPV6_RECVERR, read typed by
// read_error_queue, and checked against the same entry read with plain recvmsg(2).
#include <netkit/io/error_queue.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view probe = "is anyone there?";

// A loopback port nobody listens on: bound by a plain socket, then closed.
nk::ip::endpoint closed_port(nk::ip::family family) {
    const auto loopback = family == nk::ip::v4
                              ? nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)
                              : nk::ip::endpoint(nk::ip::address_v6::loopback(), 0);
    auto holder = nk::udp::socket::open(family).value();
    holder.bind(loopback).value();
    return holder.local_endpoint().value();
}

// A UDP socket on loopback that asks for its errors to be queued.
nk::udp::socket reporting_socket(nk::ip::family family, nk::io_mode mode = nk::io_mode::blocking) {
    auto sock = nk::test::bounded(nk::udp::socket::open(family, mode).value());
    if (family == nk::ip::v4) {
        sock.set(nk::ip::receive_errors, true).value();
        REQUIRE(sock.get(nk::ip::receive_errors).value());
    } else {
        sock.set(nk::ipv6::receive_errors, true).value();
        REQUIRE(sock.get(nk::ipv6::receive_errors).value());
    }
    return sock;
}

bool has_ipv6_loopback() {
    auto sock = nk::udp::socket::open(nk::ip::v6);
    return sock && sock->bind(nk::ip::endpoint(nk::ip::address_v6::loopback(), 0)).has_value();
}

void check_port_unreachable_v4(const nk::error_queue_entry& entry) {
    REQUIRE(entry.flags.from_error_queue());
    REQUIRE(entry.error.has_value());
    REQUIRE(entry.error->origin == nk::error_origin::icmp);
    REQUIRE(entry.error->error == std::errc::connection_refused);
    REQUIRE(entry.error->type == 3); // destination unreachable
    REQUIRE(entry.error->code == 3); // port unreachable
    REQUIRE(entry.error->offender.has_value());
    REQUIRE(entry.error->offender->address() == nk::ip::address(nk::ip::address_v4::loopback()));
    REQUIRE_FALSE(entry.timestamps.has_value());
}

} // namespace

TEST_CASE("error queue: a send to a closed IPv4 port queues ICMP port unreachable, typed") {
    auto sock = reporting_socket(nk::ip::v4);
    const auto nobody = closed_port(nk::ip::v4);
    REQUIRE(sock.send_to(probe, nobody).value() == probe.size());

    std::array<std::byte, 64> payload{};
    const auto entry = nk::read_error_queue(sock, payload, 5s).value();
    check_port_unreachable_v4(entry);
    // The entry carries the datagram that drew the error, whole.
    REQUIRE(entry.size == probe.size());
    REQUIRE_FALSE(entry.truncated());
    REQUIRE(std::memcmp(payload.data(), probe.data(), probe.size()) == 0);

    // Read once: the queue is empty now, and says so at once, though the socket blocks.
    const auto empty = nk::read_error_queue(sock);
    REQUIRE_FALSE(empty);
    REQUIRE(empty.error().would_block());
}

TEST_CASE("error queue: the typed entry matches the one plain recvmsg reads") {
    // The same scenario twice: a plain C socket read with recvmsg(MSG_ERRQUEUE) and CMSG_*, and
    // netkit's; every field must agree.
    const auto nobody = closed_port(nk::ip::v4);
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const int on = 1;
    REQUIRE(::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0);
    REQUIRE(::sendto(fd, probe.data(), probe.size(), 0, nobody.data(), nobody.size()) ==
            static_cast<ssize_t>(probe.size()));
    pollfd wait{fd, 0, 0};
    REQUIRE(::poll(&wait, 1, 5000) == 1);
    REQUIRE((wait.revents & POLLERR) != 0);
    std::array<char, 64> data{};
    alignas(cmsghdr) std::array<char, 256> control{};
    iovec iov{data.data(), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t got = ::recvmsg(fd, &msg, MSG_ERRQUEUE);
    ::close(fd);
    REQUIRE(got == static_cast<ssize_t>(probe.size()));
    const sock_extended_err* raw = nullptr;
    const sockaddr_in* offender = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) {
            raw = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
            offender = reinterpret_cast<const sockaddr_in*>(SO_EE_OFFENDER(raw));
        }
    }
    REQUIRE(raw != nullptr);

    auto sock = reporting_socket(nk::ip::v4);
    REQUIRE(sock.send_to(probe, nobody).value() == probe.size());
    const auto entry = nk::read_error_queue(sock, {}, 5s).value();
    REQUIRE(entry.error.has_value());
    REQUIRE(static_cast<int>(entry.error->origin) == raw->ee_origin);
    REQUIRE(entry.error->error.value() == static_cast<int>(raw->ee_errno));
    REQUIRE(entry.error->type == raw->ee_type);
    REQUIRE(entry.error->code == raw->ee_code);
    REQUIRE(entry.error->info == raw->ee_info);
    REQUIRE(entry.error->data == raw->ee_data);
    REQUIRE(offender->sin_family == AF_INET);
    REQUIRE(entry.error->offender->address().v4().to_in_addr().s_addr == offender->sin_addr.s_addr);
    // No buffer: the datagram is not taken, and the entry says it was there.
    REQUIRE(entry.size == 0);
    REQUIRE(entry.truncated());
}

TEST_CASE("error queue: a send to a closed IPv6 port queues ICMPv6 port unreachable, typed") {
    if (!has_ipv6_loopback()) {
        WARN("skipped: no IPv6 loopback on this machine");
        return;
    }
    auto sock = reporting_socket(nk::ip::v6);
    const auto nobody = closed_port(nk::ip::v6);
    REQUIRE(sock.send_to(probe, nobody).value() == probe.size());

    std::array<std::byte, 64> payload{};
    const auto entry = nk::read_error_queue(sock, payload, 5s).value();
    REQUIRE(entry.error.has_value());
    REQUIRE(entry.error->origin == nk::error_origin::icmp6);
    REQUIRE(entry.error->error == std::errc::connection_refused);
    REQUIRE(entry.error->type == 1); // ICMPv6 destination unreachable
    REQUIRE(entry.error->code == 4); // port unreachable
    REQUIRE(entry.error->offender.has_value());
    REQUIRE(entry.error->offender->address() == nk::ip::address(nk::ip::address_v6::loopback()));
    REQUIRE(entry.size == probe.size());
    REQUIRE(std::memcmp(payload.data(), probe.data(), probe.size()) == 0);
}

TEST_CASE("error queue: a non-blocking socket reads the entry once POLLERR says it is there") {
    auto sock = reporting_socket(nk::ip::v4, nk::io_mode::non_blocking);
    const auto empty = nk::read_error_queue(sock);
    REQUIRE_FALSE(empty);
    REQUIRE(empty.error().would_block());

    REQUIRE(sock.send_to(probe, closed_port(nk::ip::v4)).value() == probe.size());
    pollfd wait{sock.native_handle(), POLLIN, 0};
    REQUIRE(::poll(&wait, 1, 5000) == 1);
    REQUIRE((wait.revents & POLLERR) != 0);
    REQUIRE((wait.revents & POLLIN) == 0); // nothing to receive: the error queue is apart
    check_port_unreachable_v4(nk::read_error_queue(sock).value());
    pollfd after{sock.native_handle(), 0, 0};
    REQUIRE(::poll(&after, 1, 0) == 0); // read: POLLERR is gone
}

TEST_CASE("error queue: a poller reports the entry as an error event, whatever the interest") {
    auto sock = reporting_socket(nk::ip::v4, nk::io_mode::non_blocking);
    auto poller = nk::poller::open().value();
    poller.add(sock, nk::interest::readable, 7).value();
    std::array<nk::poller::event, 4> events{};
    REQUIRE(poller.wait(events, nk::deadline(0s)).value() == 0);

    REQUIRE(sock.send_to(probe, closed_port(nk::ip::v4)).value() == probe.size());
    REQUIRE(poller.wait(events, 5s).value() == 1);
    REQUIRE(events[0].token() == 7);
    REQUIRE(events[0].error());
    REQUIRE_FALSE(events[0].readable());
    check_port_unreachable_v4(nk::read_error_queue(sock).value());
    REQUIRE(poller.wait(events, nk::deadline(0s)).value() == 0);
}

TEST_CASE("error queue: without IP_RECVERR nothing is queued, and a pending error is returned") {
    auto sock = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
    REQUIRE_FALSE(sock.get(nk::ip::receive_errors).value());
    const auto empty = nk::read_error_queue(sock, {}, nk::deadline(0s));
    REQUIRE_FALSE(empty);
    REQUIRE(empty.error() == std::errc::timed_out);
    REQUIRE(empty.error().message() == "read_error_queue: deadline passed");

    // Connected, the refusal is only SO_ERROR, which keeps POLLERR up: the wait must not spin on
    // it until the deadline, but hand it over.
    sock.connect_to(closed_port(nk::ip::v4)).value();
    REQUIRE(sock.send(probe).value() == probe.size());
    const auto refused = nk::read_error_queue(sock, {}, 5s);
    REQUIRE_FALSE(refused);
    REQUIRE(refused.error() == std::errc::connection_refused);
    REQUIRE(sock.get(nk::so::error).value() == 0); // handed over once, not twice
}
