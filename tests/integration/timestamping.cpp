// SO_TIMESTAMPING: software transmit timestamps read from the error queue, numbered with
// OPT_ID, and software receive timestamps as SCM_TIMESTAMPING control messages.
#include <netkit/io/error_queue.hpp>
#include <netkit/msg/extended_error.hpp>
#include <netkit/netkit.hpp>

#include "support/catch.hpp"
#include "support/sockets.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <optional>
#include <string_view>

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <sys/socket.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

// CLOCK_REALTIME read directly: the clock software timestamps are taken in.
std::chrono::system_clock::time_point realtime_now() {
    timespec t{};
    ::clock_gettime(CLOCK_REALTIME, &t);
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
}

} // namespace

TEST_CASE("timestamping: three sends give three transmit timestamps, numbered 0, 1, 2") {
    auto [sender, receiver] = nk::test::udp_sockets();
    namespace tf = nk::timestamping_flag;
    const auto flags = tf::tx_software | tf::software | tf::opt_id | tf::opt_tsonly;
    sender.set(nk::so::timestamping, flags).value();
    // Read back with plain getsockopt: the kernel holds exactly these bits.
    int raw = 0;
    socklen_t length = sizeof raw;
    REQUIRE(::getsockopt(sender.native_handle(), SOL_SOCKET, SO_TIMESTAMPING, &raw, &length) == 0);
    REQUIRE(static_cast<unsigned>(raw) ==
            (SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
             SOF_TIMESTAMPING_OPT_TSONLY));
    REQUIRE(sender.get(nk::so::timestamping).value() == flags);

    const auto peer = receiver.local_endpoint().value();
    constexpr std::string_view message = "tick";
    std::array<std::chrono::system_clock::time_point, 3> before{};
    for (std::size_t i = 0; i < before.size(); ++i) {
        before[i] = realtime_now();
        REQUIRE(sender.send_to(message, peer).value() == message.size());
    }
    for (std::size_t i = 0; i < before.size(); ++i) {
        INFO("send " << i);
        const auto entry = nk::read_error_queue(sender, {}, 5s).value();
        REQUIRE(entry.error.has_value());
        REQUIRE(entry.error->origin == nk::error_origin::timestamping);
        REQUIRE(entry.error->error == std::errc::no_message);
        REQUIRE(entry.error->info == SCM_TSTAMP_SND);
        REQUIRE(entry.error->data == i); // OPT_ID: the send it belongs to, in order
        REQUIRE(entry.size == 0);        // OPT_TSONLY: no copy of the packet
        REQUIRE(entry.timestamps.has_value());
        REQUIRE(entry.timestamps->software.has_value());
        REQUIRE(*entry.timestamps->software >= before[i]);
        REQUIRE_FALSE(entry.timestamps->hardware.has_value());
    }
    REQUIRE(nk::read_error_queue(sender).error().would_block());
}

TEST_CASE("timestamping: a received datagram carries its software receive timestamp") {
    auto [sender, receiver] = nk::test::udp_sockets();
    namespace tf = nk::timestamping_flag;
    receiver.set(nk::so::timestamping, tf::rx_software | tf::software).value();

    // The kernel turns receive stamping on lazily (a deferred static key), so the first
    // datagrams after the option may arrive unstamped: send until one is stamped, each checked.
    constexpr std::string_view message = "tock";
    const nk::deadline until(5s);
    std::optional<nk::cmsg::timestamping> stamp;
    std::chrono::system_clock::time_point before;
    while (!stamp && !until.expired()) {
        before = realtime_now();
        REQUIRE(sender.send_to(message, receiver.local_endpoint().value()).value() ==
                message.size());
        std::array<char, 16> buf{};
        nk::control_buffer<nk::control_space<nk::cmsg::timestamping>> control;
        const auto got = receiver.receive_message(buf, control).value();
        REQUIRE(got.size == message.size());
        REQUIRE_FALSE(got.control_truncated());
        stamp = control.messages().find<nk::cmsg::timestamping>();
    }
    REQUIRE(stamp.has_value());
    REQUIRE(stamp->software.has_value());
    REQUIRE(*stamp->software >= before);
    REQUIRE(*stamp->software <= realtime_now());
}

TEST_CASE("timestamping: hostile SCM_TIMESTAMPING bytes decode to absent times, never misread") {
    scm_timestamping wire{};
    wire.ts[0] = {1'700'000'000, 5};
    wire.ts[1] = {0, 0};
    wire.ts[2] = {1, 2'000'000'000}; // an impossible fraction
    const auto t = nk::cmsg::timestamping::from_wire(wire);
    REQUIRE(t.software.has_value());
    // To the nanosecond with every standard library (libc++'s system_clock counts microseconds).
    REQUIRE(t.software->time_since_epoch() ==
            std::chrono::seconds(1'700'000'000) + std::chrono::nanoseconds(5));
    REQUIRE_FALSE(t.legacy.has_value());
    REQUIRE_FALSE(t.hardware.has_value());
}
