// expect: this socket option does not apply to the protocol of this socket
// control: compiles
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#else
    auto sock = netkit::local::stream_socket::open().value();
#endif
    (void)sock.get(netkit::so::peer_credentials);
}
