// expect: receive_from() reports the sender of a datagram
// control: compiles
#include <netkit/netkit.hpp>

#include <array>

int main() {
    std::array<char, 4> storage{};
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto [a, b] = netkit::local::seqpacket_socket::pair().value();
#else
    auto [a, b] = netkit::local::datagram_socket::pair().value();
#endif
    (void)b.receive_from(storage);
}
