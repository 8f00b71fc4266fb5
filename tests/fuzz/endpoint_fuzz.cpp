// libFuzzer target: every address and endpoint parser, and sockaddr decoding, on arbitrary bytes.
// Whatever the input: no crash, no read out of bounds, and anything accepted round-trips.
#include <netkit/addr/address.hpp>
#include <netkit/addr/endpoint.hpp>
#include <netkit/addr/local_endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

namespace nk = netkit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto e = nk::ip::endpoint::parse(text)) {
        // Scope names are resolved to numbers, so compare after one normalising round trip.
        auto again = nk::ip::endpoint::parse(e->to_string());
        if (!again || *again != *e) {
            std::abort();
        }
    }
    if (auto a = nk::ip::address::parse(text)) {
        if (auto again = nk::ip::address::parse(a->to_string()); !again || *again != *a) {
            std::abort();
        }
    }
    if (auto l = nk::local::endpoint::parse(text)) {
        if (l->name().size() > nk::local::endpoint::max_name_length) {
            std::abort();
        }
        (void)l->to_string();
    }

    // The same bytes as a socket address the kernel might hand back, at every claimed length.
    std::vector<std::uint8_t> exact(data, data + size); // its own block: ASan sees overreads
    const auto* address = reinterpret_cast<const sockaddr*>(exact.data());
    const auto length = static_cast<socklen_t>(size);
    if (auto e = nk::ip::endpoint::from_sockaddr(size ? address : nullptr, length)) {
        (void)e->to_string();
    }
    if (auto l = nk::local::endpoint::from_sockaddr(size ? address : nullptr, length)) {
        (void)l->to_string();
        (void)l->name();
    }
    return 0;
}
