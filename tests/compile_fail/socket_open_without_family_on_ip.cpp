// expect: open() without a family is for Unix-domain protocols
// control: compiles
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto sock = netkit::udp::socket::open();
#else
    auto sock = netkit::udp::socket::open(netkit::ip::v6);
#endif
    return sock.has_value() ? 0 : 1;
}
