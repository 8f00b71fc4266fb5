// expect: a temporary container would be destroyed before it is sent
// control: compiles
#include <netkit/netkit.hpp>

#include <array>
#include <vector>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
    std::array<char, 4> head{};
    std::array<char, 8> body{};
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)a.send_all(netkit::exact_gather(
        std::vector<netkit::const_buffer>{netkit::buffer(head), netkit::buffer(body)}));
#else
    (void)a.send_all(netkit::exact_gather(netkit::gather(head, body)));
#endif
}
