// expect: the function given to and_then must return a netkit::result
// control: compiles
#include <netkit/core/result.hpp>

int main() {
    const netkit::result<int> one = 1;
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto two = one.and_then([](int n) { return n + 1; });
#else
    auto two = one.and_then([](int n) { return netkit::result<int>(n + 1); });
#endif
    return *two == 2 ? 0 : 1;
}
