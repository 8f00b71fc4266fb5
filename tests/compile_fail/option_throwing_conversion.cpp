// expect: this value cannot reach the codec of this socket option without a call that may throw
// control: compiles
#include <netkit/netkit.hpp>

#include <string>
#include <string_view>

// Converts to std::string only, by a conversion that allocates (and so may throw).
struct algorithm_name {
    operator std::string() const { return "cubic"; } // NOLINT(google-explicit-constructor)
};

int main() {
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    (void)sock.set(netkit::tcp::congestion, algorithm_name{});
#else
    (void)sock.set(netkit::tcp::congestion, std::string_view("cubic"));
#endif
}
