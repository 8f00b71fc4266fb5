// expect: this socket option does not apply to the protocol of this socket
// control: compiles
#include <netkit/netkit.hpp>

int main() {
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.set(netkit::tcp::no_delay, true);
#else
    (void)sock.set(netkit::so::broadcast, true);
#endif
}
