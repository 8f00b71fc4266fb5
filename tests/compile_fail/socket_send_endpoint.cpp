// expect: cannot send this type
// control: compiles
#include <netkit/netkit.hpp>

int main() {
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
    const auto peer = netkit::ip::endpoint(netkit::ip::address_v4::loopback(), 9);
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.send_to(peer, peer); // an endpoint is an address, not bytes to send
#else
    (void)sock.send_to(std::span(peer.data(), 1), peer);
#endif
}
