// expect-regex: conver.* from .*int.* to .*netkit::result<std::vector<int
// control: compiles
// Like std::expected, result<T> converts a value implicitly only where T does: the size
// constructor of std::vector is explicit, so `return 5;` must not build a vector of five.
#include <netkit/core/result.hpp>

#include <vector>

netkit::result<std::vector<int>> five() {
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    return 5;
#else
    return std::vector<int>(5);
#endif
}

int main() { return five()->size() == 5 ? 0 : 1; }
