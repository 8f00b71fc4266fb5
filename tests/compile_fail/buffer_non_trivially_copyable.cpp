// expect: buffer elements must be trivially copyable
// control: compiles
#include <netkit/netkit.hpp>

#include <string>
#include <vector>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    std::vector<std::string> words{"owning", "memory"};
#else
    std::vector<char> words{'o', 'k'};
#endif
    (void)a.send(netkit::gather(words));
}
