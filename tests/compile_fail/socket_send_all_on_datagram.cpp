// expect: send_all() loops over a byte stream
// control: compiles
#include <netkit/netkit.hpp>

#include <string_view>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
#else
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#endif
    (void)sock.send_all(std::string_view("x"));
}
