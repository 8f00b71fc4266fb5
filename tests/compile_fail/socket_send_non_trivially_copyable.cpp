// expect: buffer elements must be trivially copyable
// control: compiles
#include <netkit/netkit.hpp>

#include <string>
#include <vector>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    const std::vector<std::string> words{"owning", "memory"};
#else
    const std::vector<char> words{'o', 'k'};
#endif
    (void)a.send_all(words);
}
