// expect: local_protocol
// control: compiles
// first-error: any (a requires-clause: both compilers first say "no matching function")
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto both = netkit::tcp::socket::pair();
#else
    auto both = netkit::local::stream_socket::pair();
#endif
    return both.has_value() ? 0 : 1;
}
