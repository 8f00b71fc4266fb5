// expect: cannot send this type
// control: compiles
// The first line names netkit's mistake, not the std::ranges concepts that an int fails.
#include <netkit/netkit.hpp>

#include <string_view>

int main() {
    auto [a, b] = netkit::local::stream_socket::pair().value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)a.send(42);
#else
    (void)a.send(std::string_view("42"));
#endif
}
