// expect: a datagram of a coalesced receive may straddle two buffers of a message
// control: compiles
#include <netkit/netkit.hpp>

#include <cstddef>

int main() {
    constexpr std::size_t gro = netkit::control_space<netkit::cmsg::udp_gro>;
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    netkit::udp::batch<8, 2, gro> batch;
#else
    netkit::udp::batch<8, 1, gro> batch;
#endif
    auto datagrams = netkit::udp::datagrams_of(batch, 0);
    return datagrams ? static_cast<int>(datagrams->size()) : 1;
}
