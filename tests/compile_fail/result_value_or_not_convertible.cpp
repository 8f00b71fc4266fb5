// expect: value_or needs a fallback that converts to the value type implicitly
// control: compiles
// As std::expected::value_or: 3 is no std::vector<int>, so it must not become three elements.
#include <netkit/core/result.hpp>

#include <vector>

int main() {
    const netkit::result<std::vector<int>> values = std::vector<int>{1, 2};
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    return static_cast<int>(values.value_or(3).size());
#else
    return static_cast<int>(values.value_or(std::vector<int>(3)).size());
#endif
}
