// expect: a batch points at its data until the batch is sent
// control: compiles
#include <netkit/netkit.hpp>

#include <string>

int main() {
    netkit::udp::batch<4> batch;
    const auto peer = netkit::ip::endpoint(netkit::ip::address_v4::loopback(), 9);
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)batch.add(std::string(100, 'x'), peer);
#else
    const std::string reply(100, 'x');
    (void)batch.add(reply, peer);
#endif
    return static_cast<int>(batch.size());
}
