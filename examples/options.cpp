// Socket options as typed descriptors: real C++ values in and out, misuse rejected at compile
// time, and a one-line descriptor for an option netkit does not define.
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>

#include <netinet/tcp.h>

namespace nk = netkit;
using namespace std::chrono_literals;

// An option netkit lacks, declared in one line; it gets the same compile-time checks.
inline constexpr nk::socket_option<"TCP_THIN_LINEAR_TIMEOUTS", IPPROTO_TCP,
                                   TCP_THIN_LINEAR_TIMEOUTS, bool, nk::option_access::get_set,
                                   nk::option_scope::tcp_only>
    thin_linear_timeouts{};

int main() try {
    auto sock = nk::tcp::socket::open(nk::ip::v4).value();

    sock.set(nk::tcp::no_delay, true).value(); // bool, not int
    sock.set(nk::so::keep_alive, true).value();
    sock.set(nk::tcp::keep_idle, std::chrono::minutes(2))
        .value();                                      // a duration, not "seconds as int"
    sock.set(nk::so::receive_timeout, 1500ms).value(); // timeval, converted exactly
    sock.set(nk::so::linger, std::optional(std::chrono::seconds(0))).value(); // close sends RST
    sock.set(thin_linear_timeouts, true).value();

    const auto idle = sock.get(nk::tcp::keep_idle).value();
    const auto timeout = sock.get(nk::so::receive_timeout).value();
    const auto linger = sock.get(nk::so::linger).value();
    fmt::print("TCP_KEEPIDLE {}s, SO_RCVTIMEO {}us, SO_LINGER {}\n", idle.count(),
               std::chrono::duration_cast<std::chrono::microseconds>(timeout).count(),
               linger ? fmt::format("{}s", linger->count()) : "off");

    // An out-of-range value is an error value, never a wrap-around.
    const auto negative = sock.set(nk::tcp::keep_idle, std::chrono::seconds(-1));
    fmt::print("negative keep-idle: {}\n", negative ? "accepted?!" : negative.error().message());

    // None of these compiles, each with a message naming the mistake (tests/compile_fail/):
    //   sock.set(nk::so::error, 0);                   // SO_ERROR is read-only
    //   udp_socket.set(nk::tcp::no_delay, true);      // a TCP option on a UDP socket
    //   sock.get(nk::ip::multicast_join);             // write-only
    return idle == std::chrono::minutes(2) && timeout == 1500ms &&
                   linger == std::chrono::seconds(0) && !negative
               ? 0
               : 1;
} catch (const std::exception& e) { // value() throws netkit::operation_failed on an error
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
    return 1;
}
