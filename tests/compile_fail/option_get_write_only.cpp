// expect: this socket option is write-only: it cannot be read with get()
// control: compiles
#include <netkit/netkit.hpp>

int main() {
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.get(netkit::ip::multicast_join);
#else
    (void)sock.set(netkit::ip::multicast_join, netkit::ip::multicast_membership{});
#endif
}
