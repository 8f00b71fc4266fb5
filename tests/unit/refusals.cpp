// Every call netkit refuses is refused in the immediate context: the requires-expression that
// asks for it is false, so generic code can test for it, and the matching accepted call is true.
// (That the first error line names the mistake is what tests/compile_fail checks.) The helpers
// are variable templates, so that each requires-expression is dependent: outside a template a
// refused call would be a hard error, not false.
#include <netkit/netkit.hpp>

#include "support/catch.hpp"

#include <array>
#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <netinet/tcp.h>

namespace nk = netkit;
using namespace std::chrono_literals;

namespace {

template <class S>
constexpr bool can_call_pair = requires {
    S::pair();
};
template <class S>
constexpr bool can_call_open = requires {
    S::open();
};
template <class S>
constexpr bool can_call_open_family = requires {
    S::open(nk::ip::v4);
};

template <class S, class Option>
constexpr bool can_get = requires(const S& s, const Option& option) {
    s.get(option);
};
template <class S, class Option, class Value>
constexpr bool can_set = requires(S& s, const Option& option, const Value& value) {
    s.set(option, value);
};

template <class S, class Data>
constexpr bool can_send = requires(S& s, const Data& data) {
    s.send(data);
};
template <class S, class Data>
constexpr bool can_send_all = requires(S& s, const Data& data) {
    s.send_all(data);
};
template <class S, class Data>
constexpr bool can_send_to_peer = requires(S& s, const Data& data,
                                           const typename S::endpoint_type& peer) {
    s.send_to(data, peer);
};
template <class S, class Data>
constexpr bool can_send_message_to = requires(S& s, const Data& data,
                                              const typename S::endpoint_type& peer) {
    s.send_message_to(data, peer);
};
template <class S, class Data>
constexpr bool can_send_message = requires(S& s, const Data& data,
                                           const nk::control_storage& control) {
    s.send_message(data, control);
};
template <class S, class Data>
constexpr bool can_receive = requires(S& s, Data&& data) {
    s.receive(std::forward<Data>(data));
};
template <class S, class Data>
constexpr bool can_receive_exact = requires(S& s, Data&& data) {
    s.receive_exact(std::forward<Data>(data));
};
template <class S, class Data>
constexpr bool can_receive_from = requires(S& s, Data&& data) {
    s.receive_from(std::forward<Data>(data));
};
template <class S, class Data>
constexpr bool can_receive_message = requires(S& s, Data&& data) {
    s.receive_message(std::forward<Data>(data));
};
template <class Batch>
constexpr bool can_split_datagrams = requires(const Batch& batch) {
    nk::udp::datagrams_of(batch, 0);
};

using tcp_socket = nk::tcp::socket;
using udp_socket = nk::udp::socket;
using stream_socket = nk::local::stream_socket;
using datagram_socket = nk::local::datagram_socket;
using seqpacket_socket = nk::local::seqpacket_socket;

using no_delay = decltype(nk::tcp::no_delay);
using keep_idle = decltype(nk::tcp::keep_idle);
using ip_ttl = decltype(nk::ip::ttl);
using peer_credentials = decltype(nk::so::peer_credentials);
using udp_segment = decltype(nk::udp::segment_size);
using socket_error = decltype(nk::so::error);
using multicast_join = decltype(nk::ip::multicast_join);
using congestion = decltype(nk::tcp::congestion);

// A user codec whose decode may throw (get() is noexcept).
struct throwing_decode_codec {
    using kernel_type = int;
    static nk::result<socklen_t> encode(int value, int& out, const char* /*operation*/) noexcept {
        out = value;
        return socklen_t{sizeof(int)};
    }
    static nk::result<int> decode(const int& in, socklen_t /*length*/, const char* /*operation*/) {
        return in;
    }
};
using throwing_keep_count =
    nk::socket_option<"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, int, nk::option_access::get_set,
                      nk::option_scope::tcp_only, throwing_decode_codec>;

// Converts to std::string only, by a conversion that may throw.
struct algorithm_name {
    operator std::string() const { return "cubic"; } // NOLINT(google-explicit-constructor)
};

} // namespace

TEST_CASE("role concepts classify each protocol tag") {
    STATIC_REQUIRE(nk::protocol_tag<nk::tcp::protocol>);
    STATIC_REQUIRE_FALSE(nk::protocol_tag<int>);

    STATIC_REQUIRE(nk::opens_by_family<nk::tcp::protocol>);
    STATIC_REQUIRE(nk::opens_by_family<nk::udp::protocol>);
    STATIC_REQUIRE_FALSE(nk::opens_by_family<nk::local::stream_protocol>);

    STATIC_REQUIRE(nk::can_pair<nk::local::stream_protocol>);
    STATIC_REQUIRE(nk::can_pair<nk::local::datagram_protocol>);
    STATIC_REQUIRE(nk::can_pair<nk::local::seqpacket_protocol>);
    STATIC_REQUIRE_FALSE(nk::can_pair<nk::tcp::protocol>);

    STATIC_REQUIRE(nk::can_stream<nk::tcp::protocol>);
    STATIC_REQUIRE(nk::can_stream<nk::local::stream_protocol>);
    STATIC_REQUIRE_FALSE(nk::can_stream<nk::local::seqpacket_protocol>);
    STATIC_REQUIRE_FALSE(nk::can_stream<nk::udp::protocol>);

    STATIC_REQUIRE(nk::can_send_to<nk::udp::protocol>);
    STATIC_REQUIRE(nk::can_send_to<nk::local::datagram_protocol>);
    STATIC_REQUIRE_FALSE(nk::can_send_to<nk::local::seqpacket_protocol>);

    STATIC_REQUIRE(nk::can_listen<nk::tcp::protocol>);
    STATIC_REQUIRE(nk::can_listen<nk::local::seqpacket_protocol>);
    STATIC_REQUIRE_FALSE(nk::can_listen<nk::udp::protocol>);

    STATIC_REQUIRE(nk::keeps_boundaries<nk::udp::protocol>);
    STATIC_REQUIRE(nk::keeps_boundaries<nk::local::seqpacket_protocol>);
    STATIC_REQUIRE_FALSE(nk::keeps_boundaries<nk::tcp::protocol>);
}

TEST_CASE("opening and pairing: refused on the wrong protocol, accepted on the right one") {
    STATIC_REQUIRE(can_call_pair<stream_socket>);
    STATIC_REQUIRE(can_call_pair<datagram_socket>);
    STATIC_REQUIRE_FALSE(can_call_pair<tcp_socket>);
    STATIC_REQUIRE_FALSE(can_call_pair<udp_socket>);

    STATIC_REQUIRE(can_call_open<stream_socket>);
    STATIC_REQUIRE_FALSE(can_call_open<tcp_socket>);
    STATIC_REQUIRE(can_call_open_family<tcp_socket>);
    STATIC_REQUIRE_FALSE(can_call_open_family<stream_socket>);

    STATIC_REQUIRE(can_call_open<nk::local::stream_acceptor>);
    STATIC_REQUIRE_FALSE(can_call_open<nk::tcp::acceptor>);
    STATIC_REQUIRE(can_call_open_family<nk::tcp::acceptor>);
    STATIC_REQUIRE_FALSE(can_call_open_family<nk::local::seqpacket_acceptor>);
}

TEST_CASE("get(): each refused option is refused, the accepted one accepted") {
    STATIC_REQUIRE(can_get<tcp_socket, no_delay>);
    STATIC_REQUIRE_FALSE(can_get<tcp_socket, int>);                 // not a descriptor
    STATIC_REQUIRE_FALSE(can_get<udp_socket, multicast_join>);      // write-only
    STATIC_REQUIRE(can_get<udp_socket, ip_ttl>);                    // ...what is readable
    STATIC_REQUIRE_FALSE(can_get<udp_socket, no_delay>);            // TCP option on UDP
    STATIC_REQUIRE_FALSE(can_get<stream_socket, no_delay>);         // TCP option on local
    STATIC_REQUIRE_FALSE(can_get<tcp_socket, peer_credentials>);    // local option on TCP
    STATIC_REQUIRE(can_get<stream_socket, peer_credentials>);       // ...where it applies
    STATIC_REQUIRE_FALSE(can_get<tcp_socket, udp_segment>);         // UDP option on TCP
    STATIC_REQUIRE_FALSE(can_get<tcp_socket, throwing_keep_count>); // decode may throw
}

TEST_CASE("set(): each refused option or value is refused, the accepted one accepted") {
    STATIC_REQUIRE(can_set<tcp_socket, no_delay, bool>);
    STATIC_REQUIRE_FALSE(can_set<tcp_socket, int, bool>);             // not a descriptor
    STATIC_REQUIRE_FALSE(can_set<tcp_socket, socket_error, int>);     // read-only
    STATIC_REQUIRE_FALSE(can_set<udp_socket, no_delay, bool>);        // TCP option on UDP
    STATIC_REQUIRE_FALSE(can_set<stream_socket, no_delay, bool>);     // TCP option on local
    STATIC_REQUIRE_FALSE(can_set<tcp_socket, udp_segment, int>);      // UDP option on TCP
    STATIC_REQUIRE(can_set<udp_socket, udp_segment, int>);            // ...where it applies
    STATIC_REQUIRE_FALSE(can_set<udp_socket, ip_ttl, double>);        // floating value
    STATIC_REQUIRE(can_set<udp_socket, ip_ttl, int>);                 // ...a whole one
    STATIC_REQUIRE_FALSE(can_set<tcp_socket, no_delay, const char*>); // wrong type
    STATIC_REQUIRE_FALSE(can_set<tcp_socket, keep_idle, std::chrono::milliseconds>); // lossy
    STATIC_REQUIRE(can_set<tcp_socket, keep_idle, std::chrono::seconds>);
    STATIC_REQUIRE_FALSE(can_set<tcp_socket, congestion, algorithm_name>); // may throw
    STATIC_REQUIRE(can_set<tcp_socket, congestion, std::string_view>);
}

TEST_CASE("send functions: wrong protocol or wrong data refused, right ones accepted") {
    STATIC_REQUIRE(can_send<tcp_socket, std::string>);
    STATIC_REQUIRE(can_send<tcp_socket, nk::const_buffer>);
    STATIC_REQUIRE(can_send<tcp_socket, nk::buffer_list<nk::const_buffer, 2>>);
    STATIC_REQUIRE_FALSE(can_send<tcp_socket, int>);
    STATIC_REQUIRE_FALSE(can_send<tcp_socket, std::vector<std::string>>);

    STATIC_REQUIRE(can_send_all<tcp_socket, std::string>);
    STATIC_REQUIRE(can_send_all<stream_socket, std::vector<char>>);
    STATIC_REQUIRE_FALSE(can_send_all<udp_socket, std::string>);
    STATIC_REQUIRE_FALSE(can_send_all<seqpacket_socket, std::string>);
    STATIC_REQUIRE_FALSE(can_send_all<tcp_socket, int>);

    STATIC_REQUIRE(can_send_to_peer<udp_socket, std::string>);
    STATIC_REQUIRE(can_send_to_peer<datagram_socket, std::string>);
    STATIC_REQUIRE_FALSE(can_send_to_peer<tcp_socket, std::string>);
    STATIC_REQUIRE_FALSE(can_send_to_peer<seqpacket_socket, std::string>);
    STATIC_REQUIRE_FALSE(can_send_to_peer<udp_socket, int>);

    STATIC_REQUIRE(can_send_message_to<udp_socket, std::string>);
    STATIC_REQUIRE_FALSE(can_send_message_to<tcp_socket, std::string>);
    STATIC_REQUIRE(can_send_message<stream_socket, std::string>);
    STATIC_REQUIRE_FALSE(can_send_message<stream_socket, double>);
}

TEST_CASE("receive functions: wrong protocol or read-only target refused, right ones accepted") {
    STATIC_REQUIRE(can_receive<tcp_socket, std::string&>);
    STATIC_REQUIRE(can_receive<tcp_socket, std::span<char>>);
    STATIC_REQUIRE(can_receive<tcp_socket, nk::mutable_buffer>);
    STATIC_REQUIRE(can_receive<tcp_socket, nk::buffer_list<nk::mutable_buffer, 2>>);
    STATIC_REQUIRE_FALSE(can_receive<tcp_socket, const std::string&>);
    STATIC_REQUIRE_FALSE(can_receive<tcp_socket, std::string_view&>);
    STATIC_REQUIRE_FALSE(can_receive<tcp_socket, std::span<const char>>);
    STATIC_REQUIRE_FALSE(can_receive<tcp_socket, nk::const_buffer>);
    STATIC_REQUIRE_FALSE(can_receive<tcp_socket, nk::buffer_list<nk::const_buffer, 2>>);
    STATIC_REQUIRE_FALSE(can_receive<tcp_socket, int&>);
    STATIC_REQUIRE_FALSE(can_receive<tcp_socket, std::vector<std::string>&>);

    STATIC_REQUIRE(can_receive_exact<tcp_socket, std::array<char, 4>&>);
    STATIC_REQUIRE_FALSE(can_receive_exact<udp_socket, std::array<char, 4>&>);
    STATIC_REQUIRE_FALSE(can_receive_exact<tcp_socket, const std::array<char, 4>&>);

    STATIC_REQUIRE(can_receive_from<udp_socket, std::array<char, 4>&>);
    STATIC_REQUIRE_FALSE(can_receive_from<tcp_socket, std::array<char, 4>&>);
    STATIC_REQUIRE_FALSE(can_receive_from<seqpacket_socket, std::array<char, 4>&>);
    STATIC_REQUIRE_FALSE(can_receive_from<udp_socket, std::string_view&>);

    STATIC_REQUIRE(can_receive_message<datagram_socket, std::string&>);
    STATIC_REQUIRE_FALSE(can_receive_message<datagram_socket, const std::string&>);
}

TEST_CASE("datagrams_of: a batch of one buffer per message accepted, of several refused") {
    constexpr std::size_t gro = nk::control_space<nk::cmsg::udp_gro>;
    STATIC_REQUIRE(can_split_datagrams<nk::udp::batch<4, 1, gro>>);
    STATIC_REQUIRE_FALSE(can_split_datagrams<nk::udp::batch<4, 2, gro>>);
    STATIC_REQUIRE_FALSE(can_split_datagrams<nk::udp::batch<4, 16, gro>>);
}
