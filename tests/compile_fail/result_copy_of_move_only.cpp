// expect-regex: deleted.*netkit::result<std::unique_ptr<int
// control: compiles
// result<T> is copyable exactly when T is, as std::expected: copying a result of a move-only
// value must fail where it is written, not deep inside the library.
#include <netkit/core/result.hpp>

#include <memory>
#include <utility>

int main() {
    netkit::result<std::unique_ptr<int>> owner = std::make_unique<int>(1);
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    auto copy = owner;
#else
    auto copy = std::move(owner);
#endif
    return **copy == 1 ? 0 : 1;
}
