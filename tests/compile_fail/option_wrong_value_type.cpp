// expect: wrong value type for this socket option
// control: compiles
#include <netkit/netkit.hpp>

int main() {
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.set(netkit::tcp::no_delay, "yes"); // a string for a bool
#else
    (void)sock.set(netkit::tcp::no_delay, true);
#endif
}
