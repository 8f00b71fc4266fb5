// Typed ancillary data on real sockets: descriptors, credentials, packet info, timestamps.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <chrono>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace nk = netkit;
using namespace std::string_view_literals;

namespace {
struct pipe_pair {
    nk::file_descriptor read_end;
    nk::file_descriptor write_end;
};
pipe_pair make_pipe() {
    int fds[2] = {-1, -1};
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    return {nk::file_descriptor(fds[0]), nk::file_descriptor(fds[1])};
}

/// Three pipes; their write ends go out in one SCM_RIGHTS message with the 5 bytes "three".
std::array<pipe_pair, 3> send_three_write_ends(nk::local::datagram_socket& sender) {
    std::array<pipe_pair, 3> pipes{make_pipe(), make_pipe(), make_pipe()};
    const std::array<int, 3> fds{pipes[0].write_end.get(), pipes[1].write_end.get(),
                                 pipes[2].write_end.get()};
    nk::control_buffer<nk::control_space<nk::cmsg::rights<3>>> out;
    REQUIRE(out.add_descriptors(fds).has_value());
    REQUIRE(sender.send_message("three"sv, out).value() == 5);
    return pipes;
}
} // namespace

TEST_CASE("pass a pipe's descriptor over a Unix socket and write through the received copy") {
    auto a_and_b = nk::test::local_pair<nk::local::stream_protocol>();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    auto pipe = make_pipe();
    nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> out;
    const int to_send = pipe.write_end.get();
    REQUIRE(out.add_descriptors(std::span(&to_send, 1)).has_value());
    REQUIRE(a.send_message("fd"sv, out).value() == 2);
    REQUIRE(pipe.write_end.close().has_value()); // only the received copy remains

    nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> in;
    std::array<char, 2> buf{};
    auto got = b.receive_message(buf, in).value();
    REQUIRE(got.size == 2);
    REQUIRE_FALSE(got.control_truncated());
    REQUIRE(in.descriptor_count() == 1);
    nk::file_descriptor received = in.take_descriptor(0);
    REQUIRE(received.is_open());
    REQUIRE((::fcntl(received.get(), F_GETFD) & FD_CLOEXEC) != 0); // MSG_CMSG_CLOEXEC

    REQUIRE(::write(received.get(), "through", 7) == 7);
    std::array<char, 7> text{};
    REQUIRE(::read(pipe.read_end.get(), text.data(), text.size()) == 7);
    REQUIRE(std::string_view(text.data(), 7) == "through");
}

TEST_CASE("pass three descriptors at once") {
    auto a_and_b = nk::test::local_pair<nk::local::datagram_protocol>();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    const auto pipes = send_three_write_ends(a);

    nk::control_buffer<nk::control_space<nk::cmsg::rights<3>>> in;
    std::array<char, 8> buf{};
    auto got = b.receive_message(buf, in).value();
    REQUIRE_FALSE(got.control_truncated());
    REQUIRE(in.descriptor_count() == 3);
    std::size_t seen = 0;
    for (const nk::control_message m : in.messages()) {
        seen += m.descriptor_count();
    }
    REQUIRE(seen == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        nk::file_descriptor copy = in.take_descriptor(i);
        const char tag = static_cast<char>('a' + i);
        REQUIRE(::write(copy.get(), &tag, 1) == 1);
        char back = 0;
        REQUIRE(::read(pipes[i].read_end.get(), &back, 1) == 1);
        REQUIRE(back == tag);
    }
}

TEST_CASE("descriptors that are never taken are closed, not leaked") {
    auto a_and_b = nk::test::local_pair<nk::local::stream_protocol>();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    auto pipe = make_pipe();
    nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> out;
    const int fd = pipe.write_end.get();
    REQUIRE(out.add_descriptors(std::span(&fd, 1)).has_value());
    REQUIRE(a.send_message("x"sv, out).value() == 1);
    {
        nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> in;
        std::array<char, 1> buf{};
        REQUIRE(b.receive_message(buf, in).value().size == 1);
        REQUIRE(in.descriptor_count() == 1);
    } // the per-test descriptor check fails this test if the received copy outlives `in`
}

TEST_CASE("a too-small control buffer reports MSG_CTRUNC and closes what did arrive") {
    auto a_and_b = nk::test::local_pair<nk::local::datagram_protocol>();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    const auto pipes = send_three_write_ends(a);

    nk::control_buffer<nk::control_space<nk::cmsg::rights<1>>> small;
    std::array<char, 8> buf{};
    auto got = b.receive_message(buf, small).value();
    REQUIRE(got.control_truncated());
    REQUIRE(got.flags.control_truncated());
    // CMSG_SPACE(sizeof(int)) has padding, so the kernel fits two of the three; it closed the
    // third. The two that arrived are owned by `small`.
    REQUIRE(small.descriptor_count() >= 1);
    REQUIRE(small.descriptor_count() < 3);
    // Leaving scope closes what arrived; the descriptor check proves it.
}

TEST_CASE("SCM_CREDENTIALS carries this process's pid") {
    auto a_and_b = nk::test::local_pair<nk::local::datagram_protocol>();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::so::pass_credentials, true).has_value());
    REQUIRE(a.send("who"sv).value() == 3);
    nk::control_buffer<nk::control_space<nk::cmsg::credentials>> in;
    std::array<char, 4> buf{};
    REQUIRE(b.receive_message(buf, in).value().size == 3);
    auto creds = in.messages().find<nk::cmsg::credentials>();
    REQUIRE(creds.has_value());
    REQUIRE(creds->pid == ::getpid());
    REQUIRE(creds->uid == ::getuid());

    // Sending credentials explicitly works too (our own are always allowed).
    nk::control_buffer<nk::control_space<nk::cmsg::credentials>> out;
    REQUIRE(out.add(nk::cmsg::credentials{::getpid(), ::getuid(), ::getgid()}).has_value());
    REQUIRE(a.send_message("me"sv, out).value() == 2);
    REQUIRE(b.receive_message(buf, in).value().size == 2);
    REQUIRE(in.messages().find<nk::cmsg::credentials>()->pid == ::getpid());
}

TEST_CASE("IP_PKTINFO on a socket bound to 0.0.0.0 reports 127.0.0.1 as the destination") {
    auto receiver = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
    REQUIRE(receiver.bind(nk::ip::endpoint(nk::ip::address_v4::any(), 0)).has_value());
    REQUIRE(receiver.set(nk::ip::packet_info, true).has_value());
    const auto port = receiver.local_endpoint().value().port();
    auto sender = nk::udp::socket::open(nk::ip::v4).value();
    REQUIRE(
        sender.send_to("where"sv, nk::ip::endpoint(nk::ip::address_v4::loopback(), port)).value() ==
        5);

    nk::control_buffer<nk::control_space<nk::cmsg::ip_packet_info>> in;
    std::array<char, 8> buf{};
    auto got = receiver.receive_message(buf, in).value();
    REQUIRE(got.size == 5);
    auto info = in.messages().find<nk::cmsg::ip_packet_info>();
    REQUIRE(info.has_value());
    REQUIRE(info->destination == nk::ip::address_v4::loopback());
    REQUIRE(info->interface_index != 0);
}

TEST_CASE("IP_PKTINFO chooses the source address of a datagram") {
    auto receiver = nk::test::bounded(nk::udp::socket::open(nk::ip::v4).value());
    REQUIRE(receiver.bind(nk::ip::endpoint::parse("127.0.0.1:0").value()).has_value());
    auto sender = nk::udp::socket::open(nk::ip::v4).value();
    REQUIRE(sender.bind(nk::ip::endpoint(nk::ip::address_v4::any(), 0)).has_value());

    const auto source = nk::ip::address_v4::parse("127.0.0.2").value();
    nk::control_buffer<nk::control_space<nk::cmsg::ip_packet_info>> out;
    REQUIRE(out.add(nk::cmsg::ip_packet_info{nk::ip::address_v4::any(), source, 0}).has_value());
    REQUIRE(sender.send_message_to("from .2"sv, receiver.local_endpoint().value(), out).value() ==
            7);

    std::array<char, 8> buf{};
    auto got = receiver.receive_from(buf).value();
    REQUIRE(got.sender.address() == nk::ip::address(source));
    REQUIRE(got.sender.port() == sender.local_endpoint().value().port());
}

TEST_CASE("SO_TIMESTAMPNS gives the receive time") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::so::timestamp_ns, true).has_value());
    REQUIRE(a.send_to("tick"sv, b.local_endpoint().value()).value() == 4);
    nk::control_buffer<nk::control_space<nk::cmsg::timestamp_ns>> in;
    std::array<char, 8> buf{};
    REQUIRE(b.receive_message(buf, in).value().size == 4);
    auto stamp = in.messages().find<nk::cmsg::timestamp_ns>();
    REQUIRE(stamp.has_value());
    // A sanity bound on the value (the clock it came from), not a timing assertion.
    const auto skew = std::chrono::abs(std::chrono::system_clock::now() - stamp->time);
    REQUIRE(skew < std::chrono::seconds(1));
}

TEST_CASE("TTL and TOS arrive as typed values; anything else stays visible raw") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::ip::receive_ttl, true).has_value());
    REQUIRE(b.set(nk::ip::receive_tos, true).has_value());
    REQUIRE(a.set(nk::ip::ttl, 33).has_value());
    REQUIRE(a.set(nk::ip::tos, 0x20).has_value());
    REQUIRE(a.send_to("marked"sv, b.local_endpoint().value()).value() == 6);
    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::tos>> in;
    std::array<char, 8> buf{};
    REQUIRE(b.receive_message(buf, in).value().size == 6);
    REQUIRE(in.messages().find<nk::cmsg::ttl>()->value == 33);
    REQUIRE(in.messages().find<nk::cmsg::tos>()->value == 0x20);
    std::size_t count = 0;
    for (const nk::control_message m : in.messages()) {
        REQUIRE(m.level() == IPPROTO_IP);
        REQUIRE_FALSE(m.data().empty());
        ++count;
    }
    REQUIRE(count == 2);
}
