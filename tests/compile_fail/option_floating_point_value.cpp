// expect: a floating-point value cannot set an integer or duration socket option
// control: compiles
#include <netkit/netkit.hpp>

int main() {
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.set(netkit::ip::ttl, 3.7); // would be truncated to 3
#else
    (void)sock.set(netkit::ip::ttl, 4);
#endif
}
