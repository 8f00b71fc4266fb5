// An HTTP/1.0 client on the coroutine layer: resolve, connect to each address in turn (each
// attempt with its own deadline) until one answers, send a GET, read to end of stream under one
// deadline, and write the body to standard output. Any failure (resolution, no address connects, a
// deadline, a status other than 2xx, a body shorter than its Content-Length) ends it with a message
// on standard error and exit status 1.
//
//   fetch HOST PORT [PATH]
//
// HOST is a name or an address, or several separated by commas whose addresses are tried in
// that order: a primary and a fallback ("10.0.0.7,backup.example"). PATH defaults to "/".
#include <netkit/async.hpp>
#include <netkit/netkit.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::literals;

namespace {

constexpr auto attempt_limit = 5s;  // one connection attempt
constexpr auto overall_limit = 30s; // everything, from the first attempt to end of stream

// Each address in turn until one connects, each attempt within its own deadline. The connect is
// the blocking tier's: the loop has nothing else to run until there is a connection.
std::optional<nk::tcp::socket> connect_first(const std::vector<nk::ip::endpoint>& peers,
                                             nk::deadline until) {
    for (const nk::ip::endpoint& peer : peers) {
        const nk::deadline limit = std::min(nk::deadline(attempt_limit).at(), until.at());
        auto sock = nk::tcp::socket::connect(peer, limit);
        if (!sock) {
            fmt::print(stderr, "fetch: {}\n", sock.error().message()); // and on to the next one
            continue;
        }
        // The coroutine operations try their call at once and wait only on would-block.
        if (auto made = sock->set_non_blocking(true); !made) {
            fmt::print(stderr, "fetch: {}\n", made.error().message());
            continue;
        }
        return std::move(*sock);
    }
    return std::nullopt;
}

// The Content-Length of a response head, if it has one (header names ignore case).
std::optional<std::size_t> content_length(std::string_view head) {
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;
         at = head.find("\r\n", at + 2)) {
        const std::string_view line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
        constexpr std::string_view name = "content-length:";
        if (line.size() > name.size() &&
            std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
                return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
            })) {
            return static_cast<std::size_t>(std::strtoull(line.data() + name.size(), nullptr, 10));
        }
    }
    return std::nullopt;
}

nka::task<int> fetch(std::vector<nk::ip::endpoint> peers, std::string request) {
    const nk::deadline until(overall_limit);
    auto sock = connect_first(peers, until);
    if (!sock) {
        fmt::print(stderr, "fetch: no address could be connected to\n");
        co_return 1;
    }
    auto sent = co_await nka::send_all(*sock, request, until);
    if (!sent) {
        fmt::print(stderr, "fetch: {}\n", sent.error().message());
        co_return 1;
    }
    std::string head; // the status line and the headers, until the blank line after them
    std::optional<std::size_t> expected;
    std::size_t body = 0;
    bool in_body = false;
    std::array<char, 65536> buffer{};
    for (;;) {
        auto got = co_await nka::receive(*sock, buffer, until);
        if (!got) {
            fmt::print(stderr, "fetch: {}\n", got.error().message());
            co_return 1;
        }
        if (*got == 0) {
            break; // HTTP/1.0: the end of the stream is the end of the body
        }
        std::string_view data(buffer.data(), *got);
        if (!in_body) {
            head.append(data);
            const std::size_t end = head.find("\r\n\r\n");
            if (end == std::string::npos) {
                continue;
            }
            if (!head.starts_with("HTTP/1.") || head.size() < 12 || head[9] != '2') {
                fmt::print(stderr, "fetch: {}\n", head.substr(0, head.find("\r\n")));
                co_return 1;
            }
            in_body = true;
            expected = content_length(std::string_view(head).substr(0, end + 2));
            data = std::string_view(head).substr(end + 4);
        }
        body += std::fwrite(data.data(), 1, data.size(), stdout);
    }
    if (!in_body) {
        fmt::print(stderr, "fetch: the response ended in its head\n");
        co_return 1;
    }
    if (expected && body != *expected) {
        fmt::print(stderr, "fetch: the body ended after {} of its {} bytes\n", body, *expected);
        co_return 1;
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
        fmt::print(stderr, "fetch: writing to standard output failed\n");
        co_return 1;
    }
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        fmt::print(stderr, "usage: fetch HOST[,HOST...] PORT [PATH]\n");
        return 2;
    }
    const std::string_view hosts = argv[1];
    const std::string_view port = argv[2];
    std::vector<nk::ip::endpoint> peers;
    for (std::size_t start = 0; start <= hosts.size();) {
        const std::size_t comma = std::min(hosts.find(',', start), hosts.size());
        auto found = nk::resolve(hosts.substr(start, comma - start), port);
        if (!found) {
            fmt::print(stderr, "fetch: {}\n", found.error().message());
            return 1;
        }
        peers.insert(peers.end(), found->begin(), found->end());
        start = comma + 1;
    }
    // The Host header names the first host; an IPv6 address goes in brackets (RFC 3986).
    const std::string_view host = hosts.substr(0, hosts.find(','));
    const std::string authority = host.find(':') == std::string_view::npos
                                      ? fmt::format("{}:{}", host, port)
                                      : fmt::format("[{}]:{}", host, port);
    const std::string request =
        fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    argc > 3 ? argv[3] : "/", authority);
    nka::loop loop;
    return loop.run(fetch(std::move(peers), request));
}
