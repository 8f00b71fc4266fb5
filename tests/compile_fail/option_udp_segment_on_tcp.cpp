// expect: this socket option does not apply to the protocol of this socket
// control: compiles
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#else
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
#endif
    (void)sock.set(netkit::udp::segment_size, 1200);
}
