// expect: send_file() sends a byte stream: it needs a stream socket
// control: compiles
#include <netkit/io/file_transfer.hpp>
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto sock = netkit::udp::socket::open(netkit::ip::v4).value();
#else
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#endif
    auto sent = netkit::send_file(sock, 0, {.offset = 0, .length = 0});
    return sent ? 0 : 1;
}
