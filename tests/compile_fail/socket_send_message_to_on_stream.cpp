// expect: send_message_to() addresses a datagram
// control: compiles
#include <netkit/netkit.hpp>

#include <string_view>

int main() {
    auto peer = netkit::ip::endpoint::parse("127.0.0.1:9").value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#else
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
#endif
    (void)sock.send_message_to(std::string_view("x"), peer);
}
