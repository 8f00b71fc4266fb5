// expect: splice_all() relays a byte stream: both sockets must be stream sockets
// control: compiles
#include <netkit/io/splice.hpp>
#include <netkit/netkit.hpp>

int main() {
    auto through = netkit::pipe::open().value();
    auto [a, b] = netkit::local::stream_socket::pair().value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto to = netkit::local::datagram_socket::pair().value();
    auto moved = netkit::splice_all(a, to.first, through);
#else
    auto moved = netkit::splice_all(a, b, through);
#endif
    return moved ? 0 : 1;
}
