// expect: wrong value type for this socket option
// control: compiles
#include <netkit/netkit.hpp>

#include <chrono>

int main() {
    using namespace std::chrono_literals;
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.set(netkit::tcp::keep_idle, 1500ms); // TCP_KEEPIDLE counts whole seconds
#else
    (void)sock.set(netkit::tcp::keep_idle, 2s);
#endif
}
