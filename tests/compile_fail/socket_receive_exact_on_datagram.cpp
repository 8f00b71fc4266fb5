// expect: receive_exact() loops over a byte stream
// control: compiles
#include <netkit/netkit.hpp>

#include <array>

int main() {
    std::array<char, 4> storage{};
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto [a, b] = netkit::local::datagram_socket::pair().value();
#else
    auto [a, b] = netkit::local::stream_socket::pair().value();
#endif
    (void)b.receive_exact(storage);
}
