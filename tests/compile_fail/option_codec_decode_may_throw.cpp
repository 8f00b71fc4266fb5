// expect: the codec of this socket option has a decode that may throw
// control: compiles
#include <netkit/netkit.hpp>

#include <netinet/tcp.h>

// A user codec whose decode is not noexcept: get() is, so it would terminate on a throw.
struct throwing_codec {
    using kernel_type = int;
    static netkit::result<socklen_t> encode(int value, int& out, const char*) noexcept {
        out = value;
        return socklen_t{sizeof(int)};
    }
#ifndef NETKIT_COMPILE_FAIL_CONTROL
    static netkit::result<int> decode(const int& in, socklen_t, const char*) { return in; }
#else
    static netkit::result<int> decode(const int& in, socklen_t, const char*) noexcept { return in; }
#endif
};

inline constexpr netkit::socket_option<"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, int,
                                       netkit::option_access::get_set,
                                       netkit::option_scope::tcp_only, throwing_codec>
    keep_count{};

int main() {
    auto sock = netkit::tcp::socket::open(netkit::ip::v4).value();
    (void)sock.get(keep_count);
}
