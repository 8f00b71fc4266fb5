// expect: the function given to transform_error must return a netkit::error
// control: compiles
#include <netkit/core/result.hpp>

#include <system_error>

int main() {
    const netkit::result<int> one = 1;
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto same = one.transform_error([](const netkit::error& e) { return e.code(); });
#else
    auto same = one.transform_error([](const netkit::error& e) { return e; });
#endif
    return *same == 1 ? 0 : 1;
}
