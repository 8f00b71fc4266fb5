// expect: only connection-oriented protocols (stream, seqpacket) can listen and accept
// control: compiles
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    netkit::basic_acceptor<netkit::udp::protocol> acceptor;
#else
    netkit::basic_acceptor<netkit::tcp::protocol> acceptor;
#endif
    return acceptor.is_open() ? 1 : 0;
}
