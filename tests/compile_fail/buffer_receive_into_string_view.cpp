// expect: cannot receive into a read-only range
// control: compiles
#include <netkit/netkit.hpp>

#include <string>
#include <string_view>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
    std::string storage(16, '\0');
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    std::string_view target(storage);
#else
    std::string& target = storage;
#endif
    (void)b.receive(target);
}
