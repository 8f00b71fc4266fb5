// expect: cannot receive into a const object
// control: compiles
#include <netkit/netkit.hpp>

#include <vector>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
    std::vector<char> storage(16);
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    const std::vector<char>& target = storage;
#else
    std::vector<char>& target = storage;
#endif
    (void)b.receive(target);
}
