// expect: pair() is socketpair(2), which only Unix-domain protocols have
// control: compiles
#include <netkit/netkit.hpp>

int main() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto both = netkit::tcp::socket::pair();
#else
    auto both = netkit::local::stream_socket::pair();
#endif
    return both.has_value() ? 0 : 1;
}
