// Ancillary data on real sockets, both ways: descriptors, credentials, packet info, TTL, TOS,
// traffic class, GSO and GRO segment sizes, drop counts, timestamps, and messages netkit has no
// type for, which stay visible raw. Loopback and Unix sockets only; every receive is bounded.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/time.h>
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

/// Options netkit does not declare, declared as a user would (docs/options.md).
constexpr nk::socket_option<"IP_RECVORIGDSTADDR", IPPROTO_IP, IP_RECVORIGDSTADDR, bool,
                            nk::option_access::get_set, nk::option_scope::udp_only>
    receive_original_destination{};
constexpr nk::socket_option<"IPV6_RECVHOPLIMIT", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, bool,
                            nk::option_access::get_set, nk::option_scope::udp_only>
    receive_hop_limit{};

/// The value of the first message of payload type T, or nothing: comparable in a REQUIRE, never
/// dereferenced when absent.
template <class T>
std::optional<typename T::wire> value_of(const nk::control_messages& messages) {
    const std::optional<T> found = messages.find<T>();
    return found ? std::optional<typename T::wire>(found->value) : std::nullopt;
}

/// The bytes a receive put in `buf`.
template <std::size_t N>
std::string_view text_of(const std::array<char, N>& buf, std::size_t size) {
    return {buf.data(), size};
}

/// The index of the loopback interface, "lo".
unsigned loopback_index() {
    const unsigned index = ::if_nametoindex("lo");
    REQUIRE(index != 0);
    return index;
}

/// A bounded UDP socket bound to `where` ("[::1]:0"), or nothing, with a warning, on a machine
/// without IPv6 loopback.
std::optional<nk::udp::socket> udp_v6_bound_to(std::string_view where) {
    auto sock = nk::udp::socket::open(nk::ip::v6);
    if (!sock || !sock->bind(nk::ip::endpoint::parse(where).value())) {
        WARN("skipped: no IPv6 loopback here");
        return std::nullopt;
    }
    return nk::test::bounded(std::move(*sock));
}

/// `count` segments of `size` bytes, segment i made of the letter 'a' + i, then a last one of
/// `last` bytes (none when 0): what one GSO send carries.
std::string segments(std::size_t count, std::size_t size, std::size_t last = 0) {
    std::string all;
    for (std::size_t i = 0; i < count; ++i) {
        all.append(size, static_cast<char>('a' + i));
    }
    all.append(last, static_cast<char>('a' + count));
    return all;
}

/// Whether this kernel segments a UDP send on loopback (udp(7): EIO, EINVAL or ENOPROTOOPT when
/// it cannot: a reason to skip, not to fail). Probed with the socket option UDP_SEGMENT, sending
/// to a scratch socket, so that a mistake in the control message under test cannot pass for a
/// missing kernel feature.
bool kernel_segments(nk::udp::socket& sender, const std::string& payload,
                     std::uint16_t segment_size) {
    auto scratch = nk::udp::socket::open(nk::ip::v4).value();
    REQUIRE(scratch.bind(nk::ip::endpoint(nk::ip::address_v4::loopback(), 0)).has_value());
    REQUIRE(sender.set(nk::udp::segment_size, segment_size).has_value());
    const auto sent = sender.send_to(payload, scratch.local_endpoint().value());
    REQUIRE(sender.set(nk::udp::segment_size, 0).has_value());
    if (!sent &&
        (sent.error() == std::errc::io_error || sent.error() == std::errc::invalid_argument ||
         sent.error() == std::errc::no_protocol_option)) {
        WARN("skipped: this kernel refuses UDP GSO on loopback: " << sent.error().message());
        return false;
    }
    REQUIRE(sent.value() == payload.size());
    return true;
}

/// `payload` sent as one datagram with the control message UDP_SEGMENT = `segment_size`; nothing
/// (with a warning) if this kernel cannot segment it.
std::optional<std::size_t> send_segmented(nk::udp::socket& sender, const nk::ip::endpoint& to,
                                          const std::string& payload, std::uint16_t segment_size) {
    if (!kernel_segments(sender, payload, segment_size)) {
        return std::nullopt;
    }
    nk::control_buffer<nk::control_space<nk::cmsg::udp_segment>> out;
    REQUIRE(out.add(nk::cmsg::udp_segment{segment_size}).has_value());
    return sender.send_message_to(payload, to, out).value();
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
    REQUIRE(text_of(buf, got.size) == "fd");
    REQUIRE_FALSE(got.control_truncated());
    REQUIRE(in.descriptor_count() == 1);
    nk::file_descriptor received = in.take_descriptor(0).value();
    REQUIRE(received.is_open());
    // Each descriptor has one owner: a second take, or an index past those received, is an
    // error, never a silent empty descriptor.
    const auto again = in.take_descriptor(0);
    REQUIRE(again.error() == std::errc::bad_file_descriptor);
    REQUIRE(again.error().message().rfind("take_descriptor (already taken): ", 0) == 0);
    REQUIRE(in.take_descriptor(1).error() == std::errc::invalid_argument);
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
    REQUIRE(text_of(buf, got.size) == "three");
    REQUIRE_FALSE(got.control_truncated());
    REQUIRE(in.descriptor_count() == 3);
    std::size_t seen = 0;
    for (const nk::control_message m : in.messages()) {
        seen += m.descriptor_count();
    }
    REQUIRE(seen == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        nk::file_descriptor copy = in.take_descriptor(i).value();
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
        REQUIRE(text_of(buf, b.receive_message(buf, in).value().size) == "x");
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
    REQUIRE(text_of(buf, got.size) == "three"); // the data is whole, only control data is cut
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
    REQUIRE(text_of(buf, b.receive_message(buf, in).value().size) == "who");
    auto creds = in.messages().find<nk::cmsg::credentials>();
    REQUIRE(creds.has_value());
    REQUIRE(creds->pid == ::getpid());
    REQUIRE(creds->uid == ::getuid());

    // Sending credentials explicitly works too (our own are always allowed).
    nk::control_buffer<nk::control_space<nk::cmsg::credentials>> out;
    REQUIRE(out.add(nk::cmsg::credentials{::getpid(), ::getuid(), ::getgid()}).has_value());
    REQUIRE(a.send_message("me"sv, out).value() == 2);
    REQUIRE(text_of(buf, b.receive_message(buf, in).value().size) == "me");
    const auto sent_creds = in.messages().find<nk::cmsg::credentials>();
    REQUIRE(sent_creds.has_value());
    REQUIRE(sent_creds->pid == ::getpid());
    REQUIRE(sent_creds->uid == ::getuid());
    REQUIRE(sent_creds->gid == ::getgid());
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
    REQUIRE(text_of(buf, got.size) == "where");
    auto info = in.messages().find<nk::cmsg::ip_packet_info>();
    REQUIRE(info.has_value());
    REQUIRE(info->destination == nk::ip::address_v4::loopback());
    REQUIRE(info->interface_index == loopback_index());
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
    REQUIRE(text_of(buf, got.size) == "from .2");
    REQUIRE(got.sender->address() == nk::ip::address(source));
    REQUIRE(got.sender->port() == sender.local_endpoint().value().port());
}

TEST_CASE("SO_TIMESTAMPNS gives the receive time") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::so::timestamp_ns, true).has_value());
    REQUIRE(a.send_to("tick"sv, b.local_endpoint().value()).value() == 4);
    nk::control_buffer<nk::control_space<nk::cmsg::timestamp_ns>> in;
    std::array<char, 8> buf{};
    REQUIRE(text_of(buf, b.receive_message(buf, in).value().size) == "tick");
    auto stamp = in.messages().find<nk::cmsg::timestamp_ns>();
    REQUIRE(stamp.has_value());
    // A sanity bound on the value (the clock it came from), not a timing assertion.
    const auto skew = std::chrono::abs(std::chrono::system_clock::now() - stamp->time);
    REQUIRE(skew < std::chrono::seconds(1));
}

TEST_CASE("TTL and TOS arrive as typed values, and anything else stays visible raw") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::ip::receive_ttl, true).has_value());
    REQUIRE(b.set(nk::ip::receive_tos, true).has_value());
    REQUIRE(b.set(receive_original_destination, true).has_value()); // IP_ORIGDSTADDR: untyped
    REQUIRE(a.set(nk::ip::ttl, 33).has_value());
    REQUIRE(a.set(nk::ip::tos, 0x20).has_value());
    const auto destination = b.local_endpoint().value();
    REQUIRE(a.send_to("marked"sv, destination).value() == 6);
    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::tos> +
                       nk::cmsg_space(sizeof(sockaddr_in))>
        in;
    std::array<char, 8> buf{};
    const auto got = b.receive_message(buf, in).value();
    REQUIRE(text_of(buf, got.size) == "marked");
    REQUIRE_FALSE(got.control_truncated());
    REQUIRE(value_of<nk::cmsg::ttl>(in.messages()) == 33);
    REQUIRE(value_of<nk::cmsg::tos>(in.messages()) == 0x20);

    std::size_t typed = 0;
    std::size_t raw = 0;
    for (const nk::control_message m : in.messages()) {
        REQUIRE(m.level() == IPPROTO_IP);
        if (m.as<nk::cmsg::ttl>() || m.as<nk::cmsg::tos>()) {
            ++typed;
            continue;
        }
        // Not a type netkit knows: level, type and the kernel's bytes, as they came.
        ++raw;
        REQUIRE(m.type() == IP_ORIGDSTADDR);
        REQUIRE(m.data().size() == sizeof(sockaddr_in));
        sockaddr_in original{};
        std::memcpy(&original, m.data().data(), sizeof original);
        REQUIRE(original.sin_family == AF_INET);
        REQUIRE(ntohs(original.sin_port) == destination.port());
        REQUIRE(original.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    }
    REQUIRE(typed == 2);
    REQUIRE(raw == 1);
}

// ---- sending control data ---------------------------------------------------------------------

TEST_CASE("IP_TOS and IP_TTL sent as control data mark one datagram, as the receiver sees") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::ip::receive_ttl, true).has_value());
    REQUIRE(b.set(nk::ip::receive_tos, true).has_value());
    REQUIRE(a.set(nk::ip::ttl, 33).has_value()); // the socket's own; the control data overrides
    const auto to = b.local_endpoint().value();

    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::tos>> out;
    REQUIRE(out.add(nk::cmsg::ttl{7}).has_value());
    REQUIRE(out.add(nk::cmsg::tos{0x28}).has_value());
    REQUIRE(a.send_message_to("first"sv, to, out).value() == 5);
    REQUIRE(a.send_to("second"sv, to).value() == 6); // no control data: the socket's settings

    nk::control_buffer<nk::control_space<nk::cmsg::ttl, nk::cmsg::tos>> in;
    std::array<char, 8> buf{};
    auto got = b.receive_message(buf, in).value();
    REQUIRE(text_of(buf, got.size) == "first");
    REQUIRE(got.sender == a.local_endpoint().value());
    REQUIRE(value_of<nk::cmsg::ttl>(in.messages()) == 7);
    REQUIRE(value_of<nk::cmsg::tos>(in.messages()) == 0x28);

    got = b.receive_message(buf, in).value();
    REQUIRE(text_of(buf, got.size) == "second");
    REQUIRE(value_of<nk::cmsg::ttl>(in.messages()) == 33);
    REQUIRE(value_of<nk::cmsg::tos>(in.messages()) == 0);
}

TEST_CASE("IPV6_TCLASS and IPV6_PKTINFO sent as control data: traffic class, source ::1 on lo") {
    auto receiver = udp_v6_bound_to("[::1]:0");
    if (!receiver) {
        return;
    }
    auto sender = udp_v6_bound_to("[::]:0"); // the source address is chosen per datagram
    REQUIRE(sender.has_value());
    REQUIRE(receiver->set(nk::ipv6::receive_traffic_class, true).has_value());
    REQUIRE(receiver->set(nk::ipv6::receive_packet_info, true).has_value());
    const auto to = receiver->local_endpoint().value();
    const auto loopback = nk::ip::address_v6::loopback();

    nk::control_buffer<nk::control_space<nk::cmsg::traffic_class, nk::cmsg::ipv6_packet_info>> out;
    REQUIRE(out.add(nk::cmsg::traffic_class{0x28}).has_value());
    REQUIRE(out.add(nk::cmsg::ipv6_packet_info{loopback, loopback_index()}).has_value());
    REQUIRE(sender->send_message_to("classy"sv, to, out).value() == 6);

    nk::control_buffer<nk::control_space<nk::cmsg::traffic_class, nk::cmsg::ipv6_packet_info>> in;
    std::array<char, 8> buf{};
    auto got = receiver->receive_message(buf, in).value();
    REQUIRE(text_of(buf, got.size) == "classy");
    REQUIRE(got.sender->address() == nk::ip::address(loopback));
    REQUIRE(got.sender->port() == sender->local_endpoint().value().port());
    REQUIRE(value_of<nk::cmsg::traffic_class>(in.messages()) == 0x28);
    const auto arrived = in.messages().find<nk::cmsg::ipv6_packet_info>();
    REQUIRE(arrived.has_value());
    REQUIRE(arrived->address == loopback);
    REQUIRE(arrived->interface_index == loopback_index());

    // Without control data: the socket's default class (0).
    REQUIRE(sender->send_to("plain"sv, to).value() == 5);
    got = receiver->receive_message(buf, in).value();
    REQUIRE(text_of(buf, got.size) == "plain");
    REQUIRE(value_of<nk::cmsg::traffic_class>(in.messages()) == 0);

    // The kernel reads the source address from the message: one that is not ours is refused.
    nk::control_buffer<nk::control_space<nk::cmsg::ipv6_packet_info>> foreign;
    const auto documentation = nk::ip::address_v6::parse("2001:db8::1").value();
    REQUIRE(foreign.add(nk::cmsg::ipv6_packet_info{documentation, 0}).has_value());
    const auto refused = sender->send_message_to("nope"sv, to, foreign);
    REQUIRE_FALSE(refused.has_value());
    REQUIRE(refused.error() == std::errc::invalid_argument);
}

TEST_CASE("UDP_SEGMENT: one send of N segments arrives as N datagrams of the segment size") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    constexpr std::size_t count = 5;
    constexpr std::uint16_t size = 100;
    const std::string payload = segments(count, size, 37); // the last segment may be shorter
    const auto sent = send_segmented(a, b.local_endpoint().value(), payload, size);
    if (!sent) {
        return;
    }
    REQUIRE(*sent == payload.size());

    std::array<char, 256> buf{};
    for (std::size_t i = 0; i <= count; ++i) {
        const auto got = b.receive_from(buf).value();
        INFO("segment " << i);
        REQUIRE_FALSE(got.truncated());
        REQUIRE(got.sender == a.local_endpoint().value());
        const std::size_t expected = i < count ? size : 37;
        REQUIRE(text_of(buf, got.size) == std::string(expected, static_cast<char>('a' + i)));
    }
    // Exactly those: nothing more is queued.
    REQUIRE(b.receive_from(buf, nk::receive_flag::dont_wait).error() ==
            std::errc::operation_would_block);
}

TEST_CASE("raw control data both ways: IPV6_HOPLIMIT sent with add_raw, received untyped") {
    auto receiver = udp_v6_bound_to("[::1]:0");
    if (!receiver) {
        return;
    }
    auto sender = udp_v6_bound_to("[::1]:0");
    REQUIRE(sender.has_value());
    REQUIRE(receiver->set(receive_hop_limit, true).has_value());
    REQUIRE(sender->set(nk::ipv6::unicast_hops, 20).has_value());
    const auto to = receiver->local_endpoint().value();

    nk::control_buffer<nk::cmsg_space(sizeof(int))> out;
    const int hop_limit = 7;
    REQUIRE(out.add_raw(IPPROTO_IPV6, IPV6_HOPLIMIT, std::as_bytes(std::span(&hop_limit, 1)))
                .has_value());
    REQUIRE(sender->send_message_to("hop"sv, to, out).value() == 3);
    REQUIRE(sender->send_to("skip"sv, to).value() == 4);

    nk::control_buffer<nk::cmsg_space(sizeof(int))> in;
    std::array<char, 8> buf{};
    for (const auto& [text, expected] : {std::pair{"hop"sv, 7}, std::pair{"skip"sv, 20}}) {
        const auto got = receiver->receive_message(buf, in).value();
        REQUIRE(text_of(buf, got.size) == text);
        const nk::control_message m = *in.messages().begin();
        REQUIRE(m.level() == IPPROTO_IPV6);
        REQUIRE(m.type() == IPV6_HOPLIMIT);
        REQUIRE(m.data().size() == sizeof(int));
        int arrived = 0;
        std::memcpy(&arrived, m.data().data(), sizeof arrived);
        REQUIRE(arrived == expected);
        // No typed payload claims it.
        REQUIRE_FALSE(m.as<nk::cmsg::traffic_class>().has_value());
        REQUIRE_FALSE(m.as<nk::cmsg::ttl>().has_value());
    }
}

// ---- receiving control data -------------------------------------------------------------------

TEST_CASE("IPV6_PKTINFO on a socket bound to :: reports ::1 and lo as destination") {
    auto receiver = udp_v6_bound_to("[::]:0");
    if (!receiver) {
        return;
    }
    REQUIRE(receiver->set(nk::ipv6::receive_packet_info, true).has_value());
    auto sender = udp_v6_bound_to("[::1]:0");
    REQUIRE(sender.has_value());
    const auto port = receiver->local_endpoint().value().port();
    REQUIRE(sender->send_to("where6"sv, nk::ip::endpoint(nk::ip::address_v6::loopback(), port))
                .value() == 6);

    nk::control_buffer<nk::control_space<nk::cmsg::ipv6_packet_info>> in;
    std::array<char, 8> buf{};
    const auto got = receiver->receive_message(buf, in).value();
    REQUIRE(text_of(buf, got.size) == "where6");
    REQUIRE_FALSE(got.control_truncated());
    const auto info = in.messages().find<nk::cmsg::ipv6_packet_info>();
    REQUIRE(info.has_value());
    REQUIRE(info->address == nk::ip::address_v6::loopback());
    REQUIRE(info->interface_index == loopback_index());
}

TEST_CASE("UDP_GRO: GSO segments arrive coalesced, with their segment size") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::udp::gro, true).has_value());
    constexpr std::size_t count = 4;
    constexpr std::uint16_t size = 200;
    const std::string payload = segments(count, size);
    const auto sent = send_segmented(a, b.local_endpoint().value(), payload, size);
    if (!sent) {
        return;
    }
    REQUIRE(*sent == payload.size());

    nk::control_buffer<nk::control_space<nk::cmsg::udp_gro>> in;
    std::array<char, 2048> buf{};
    const auto got = b.receive_message(buf, in).value();
    REQUIRE_FALSE(got.truncated());
    REQUIRE(got.sender == a.local_endpoint().value());
    const auto gro = in.messages().find<nk::cmsg::udp_gro>();
    if (got.size != payload.size()) {
        // The kernel segmented before the socket: what arrived is the first segment, alone.
        REQUIRE(text_of(buf, got.size) == payload.substr(0, size));
        REQUIRE_FALSE(gro.has_value());
        WARN("skipped: this kernel does not deliver GSO segments coalesced on loopback");
        return;
    }
    REQUIRE(text_of(buf, got.size) == payload);
    REQUIRE(gro.has_value());
    REQUIRE(gro->value == size);
}

TEST_CASE("SO_RXQ_OVFL: after drops, the next datagram reports how many were dropped") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::so::receive_buffer_size, 1).has_value()); // the kernel's minimum
    REQUIRE(b.set(nk::so::receive_queue_overflow, true).has_value());
    const auto to = b.local_endpoint().value();

    // Far more than the queue holds; loopback delivers (or drops) each before send returns.
    constexpr std::size_t sent = 64;
    for (std::size_t i = 0; i < sent; ++i) {
        std::string datagram = "datagram " + std::to_string(i);
        datagram.resize(1000, '.');
        REQUIRE(a.send_to(datagram, to).value() == 1000);
    }
    nk::control_buffer<nk::control_space<nk::cmsg::dropped>> in;
    std::array<char, 1024> buf{};
    std::size_t queued = 0;
    std::size_t last_number = 0;
    const auto take = [&](nk::receive_flags flags) {
        auto got = b.receive_message(buf, in, flags);
        if (got) {
            // The survivors are the datagrams in the order sent, whole.
            const std::string_view text = text_of(buf, got->size);
            REQUIRE(got->size == 1000);
            REQUIRE(text.starts_with("datagram "));
            const std::size_t number = std::stoul(std::string(text.substr(9, 2)));
            REQUIRE((queued == 0 || number > last_number));
            last_number = number;
            ++queued;
        }
        return got;
    };
    while (take(nk::receive_flag::dont_wait)) {
    }
    REQUIRE(queued > 0);
    REQUIRE(queued < sent); // the queue overflowed

    // The queue is empty now: this one is queued, stamped with the drop count so far.
    REQUIRE(a.send_to("last"sv, to).value() == 4);
    auto last = b.receive_message(buf, in).value();
    while (text_of(buf, last.size) != "last") { // one still in flight when the queue was drained
        REQUIRE(take(nk::receive_flag::none).has_value());
        last = b.receive_message(buf, in).value();
    }
    const auto dropped = in.messages().find<nk::cmsg::dropped>();
    REQUIRE(dropped.has_value());
    REQUIRE(dropped->value > 0);
    REQUIRE(dropped->value == sent - queued);
}

TEST_CASE("SO_TIMESTAMP gives the receive time, in microseconds") {
    auto a_and_b = nk::test::udp_sockets();
    [[maybe_unused]] auto& a = a_and_b.first;
    [[maybe_unused]] auto& b = a_and_b.second;
    REQUIRE(b.set(nk::so::timestamp, true).has_value());
    REQUIRE(a.send_to("tock"sv, b.local_endpoint().value()).value() == 4);
    nk::control_buffer<nk::control_space<nk::cmsg::timestamp>> in;
    std::array<char, 8> buf{};
    REQUIRE(text_of(buf, b.receive_message(buf, in).value().size) == "tock");
    const auto stamp = in.messages().find<nk::cmsg::timestamp>();
    REQUIRE(stamp.has_value());
    // A sanity bound on the value (the clock it came from), not a timing assertion.
    const auto skew = std::chrono::abs(std::chrono::system_clock::now() - stamp->time);
    REQUIRE(skew < std::chrono::seconds(1));

    // It is the kernel's struct timeval (SCM_TIMESTAMP), read exactly: whole microseconds.
    const nk::control_message m = *in.messages().begin();
    REQUIRE(m.level() == SOL_SOCKET);
    REQUIRE(m.type() == SCM_TIMESTAMP);
    REQUIRE(m.data().size() == sizeof(timeval));
    timeval tv{};
    std::memcpy(&tv, m.data().data(), sizeof tv);
    REQUIRE(stamp->time.time_since_epoch() ==
            std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    REQUIRE(stamp->time.time_since_epoch() % std::chrono::microseconds(1) ==
            std::chrono::system_clock::duration::zero());
}
