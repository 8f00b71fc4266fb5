// expect: cannot receive into a sequence of const_buffer
// control: compiles
#include <netkit/netkit.hpp>

#include <array>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
    std::array<char, 4> head{};
    std::array<char, 4> tail{};
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)b.receive_exact(netkit::gather(head, tail));
#else
    (void)b.receive_exact(netkit::scatter(head, tail));
#endif
}
