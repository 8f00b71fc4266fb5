// A consumer's program: includes the umbrella header, links netkit::netkit, and makes one
// loopback exchange. Returns 0 only if the bytes arrived intact.
#include <netkit/netkit.hpp>

#include <array>
#include <cstdio>
#include <string_view>

int main() {
    namespace nk = netkit;
    auto acceptor =
        nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value()).value();
    auto client = nk::tcp::socket::connect(acceptor.local_endpoint().value()).value();
    auto [server, peer] = acceptor.accept().value();
    constexpr std::string_view ping = "ping";
    client.send_all(ping).value();
    std::array<char, ping.size()> received{};
    server.receive_exact(received).value();
    const bool intact = std::string_view(received.data(), received.size()) == ping;
    std::printf("consumer exchange with %s: %s\n", peer.to_string().c_str(),
                intact ? "ok" : "corrupt");
    return intact ? 0 : 1;
}
