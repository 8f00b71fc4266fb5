// expect: a message batch is for message protocols
// control: compiles
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    netkit::message_batch<netkit::tcp::protocol, 8> batch;
#else
    netkit::message_batch<netkit::local::seqpacket_protocol, 8> batch;
#endif
    return static_cast<int>(batch.size());
}
