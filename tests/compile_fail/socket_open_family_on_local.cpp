// expect: a Unix-domain socket has one family
// control: compiles
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto sock = netkit::local::stream_socket::open(netkit::ip::v4);
#else
    auto sock = netkit::local::stream_socket::open();
#endif
    return sock.has_value() ? 0 : 1;
}
