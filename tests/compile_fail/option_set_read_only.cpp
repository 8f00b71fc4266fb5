// expect: this socket option is read-only: it cannot be set with set()
// control: compiles
#include <netkit/netkit.hpp>

int main() {
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.set(netkit::so::error, 0);
#else
    (void)sock.get(netkit::so::error);
#endif
}
