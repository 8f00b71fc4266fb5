// send_all against send_all_zero_copy: 8 MiB per call over loopback TCP, on each engine, to a
// peer thread that reads with plain recv(2) into a 1 MiB buffer. A report, not a test.
//
//   async_zero_copy [--calls N] [--rounds R]
//
// Each cell makes N calls of 8 MiB (64 by default, 512 MiB) per round and prints the median
// over R rounds (5) of the throughput and of the sender thread's CPU time per MiB
// (CLOCK_THREAD_CPUTIME_ID), and whether the kernel reported the zero-copy sends copied.
// Loopback always copies a zero-copy send when it delivers it, so this measures what zero-copy
// costs there (pinning, notifications), not what it saves on a real device.

#include <netkit/async.hpp>
#include <netkit/netkit.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <time.h>

namespace nk = netkit;
namespace nka = netkit::async;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t block_size = std::size_t{8} << 20U;

double thread_cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct cell {
    double seconds = 0;
    double cpu_seconds = 0;
    bool copied = false;
    bool failed = false;
};

nka::task<> sender(nk::tcp::socket& sock, const std::vector<std::byte>& block, int calls,
                   bool zero_copy, cell& out) {
    for (int i = 0; i < calls; ++i) {
        if (zero_copy) {
            auto sent = co_await nka::send_all_zero_copy(sock, block, 30s);
            out.failed = out.failed || !sent;
            out.copied = out.copied || (sent && sent->copied);
        } else {
            auto sent = co_await nka::send_all(sock, block, 30s);
            out.failed = out.failed || !sent;
        }
    }
    (void)sock.shutdown(nk::shutdown_type::write);
}

cell run_once(nka::engine_kind engine, bool zero_copy, int calls) {
    auto listener =
        nk::tcp::acceptor::listen(nk::ip::endpoint::parse("127.0.0.1:0").value()).value();
    auto client = nk::tcp::socket::connect(listener.local_endpoint().value()).value();
    auto server = listener.accept().value();
    std::thread peer([fd = server.socket.native_handle()] {
        std::vector<char> buffer(std::size_t{1} << 20U);
        while (::recv(fd, buffer.data(), buffer.size(), 0) > 0) {
        }
    });
    const std::vector<std::byte> block(block_size, std::byte{0x5a});
    cell out;
    {
        nka::loop loop(engine);
        const auto start = std::chrono::steady_clock::now();
        const double cpu_start = thread_cpu_seconds();
        loop.run(sender(client, block, calls, zero_copy, out));
        out.cpu_seconds = thread_cpu_seconds() - cpu_start;
        out.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    peer.join();
    return out;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    int calls = 64;
    int rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag(argv[i]);
        if (flag == "--calls") {
            calls = std::atoi(argv[i + 1]);
        } else if (flag == "--rounds") {
            rounds = std::atoi(argv[i + 1]);
        }
    }
    const double mib = static_cast<double>(calls) * static_cast<double>(block_size >> 20U);
    std::printf("%-9s %-19s %10s %16s %7s\n", "engine", "operation", "GiB/s", "CPU ms per GiB",
                "copied");
    int status = 0;
    for (const auto engine : {nka::engine_kind::epoll, nka::engine_kind::io_uring}) {
        for (const bool zero_copy : {false, true}) {
            std::vector<double> rates;
            std::vector<double> cpu;
            bool copied = false;
            for (int r = 0; r < rounds; ++r) {
                const cell one = run_once(engine, zero_copy, calls);
                if (one.failed) {
                    status = 1;
                }
                copied = copied || one.copied;
                rates.push_back(mib / 1024.0 / one.seconds);
                cpu.push_back(one.cpu_seconds * 1000.0 / (mib / 1024.0));
            }
            const nka::loop probe(engine);
            std::printf("%-9s %-19s %10.2f %16.1f %7s\n", std::string(probe.engine_name()).c_str(),
                        zero_copy ? "send_all_zero_copy" : "send_all", median(rates), median(cpu),
                        zero_copy ? (copied ? "yes" : "no") : "-");
        }
    }
    return status;
}
