// expect: cannot receive into a read-only range
// control: compiles
#include <netkit/netkit.hpp>

#include <span>
#include <vector>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
    std::vector<char> storage(16);
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    std::span<const char> target(storage);
#else
    std::span<char> target(storage);
#endif
    (void)b.receive(target);
}
