// expect: get() takes a socket option descriptor
// control: compiles
#include <netkit/netkit.hpp>

#include <netinet/tcp.h>

int main() {
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.get(TCP_NODELAY);
#else
    (void)sock.get(netkit::tcp::no_delay);
#endif
}
