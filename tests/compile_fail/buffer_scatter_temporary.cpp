// expect: a temporary container would be destroyed before its data is read
// control: compiles
#include <netkit/netkit.hpp>

#include <array>
#include <span>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
    std::array<char, 4> head{};
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)b.receive(netkit::scatter(head, std::array<char, 8>{}));
#else
    std::array<char, 8> body{};
    (void)b.receive(netkit::scatter(head, std::span(body)));
#endif
}
