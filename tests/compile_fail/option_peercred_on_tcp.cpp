// expect: this socket option does not apply to this socket's protocol
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
