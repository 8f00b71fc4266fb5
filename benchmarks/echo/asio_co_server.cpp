// The echo benchmark's Asio server written as C++20 coroutines: asio_server.cpp's behaviour
// (one io_context on one thread, a 16 KiB buffer per connection, a read that waits for the write
// of the previous echo, no idle timeout), with each connection a coroutine started by co_spawn
// and each operation awaited through use_awaitable, the way Asio's own coroutine examples write
// an echo server. Errors come back as values (redirect_error), as asio_server.cpp's callbacks
// get them, not as exceptions. Usage: echo_asio_co_server HOST:PORT (port 0 allowed); prints the
// bound endpoint first, stops on SIGTERM or SIGINT.
#include <asio.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>

namespace {

asio::awaitable<void> session(asio::ip::tcp::socket socket) {
    std::array<char, 16384> buffer{};
    std::error_code ec;
    for (;;) {
        const std::size_t n = co_await socket.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            co_return;
        }
        co_await asio::async_write(socket, asio::buffer(buffer.data(), n),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            co_return;
        }
    }
}

asio::awaitable<void> accept(asio::ip::tcp::acceptor& acceptor) {
    for (;;) {
        std::error_code ec;
        auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
            asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    const std::string where = argc > 1 ? argv[1] : "127.0.0.1:0";
    const auto colon = where.rfind(':');
    asio::io_context context(1);
    asio::ip::tcp::endpoint endpoint(
        asio::ip::make_address(where.substr(0, colon)),
        static_cast<unsigned short>(std::stoi(where.substr(colon + 1))));
    asio::ip::tcp::acceptor acceptor(context, endpoint);
    const auto bound = acceptor.local_endpoint();
    std::printf("%s:%u\n", bound.address().to_string().c_str(),
                static_cast<unsigned>(bound.port()));
    std::fflush(stdout);
    asio::signal_set signals(context, SIGINT, SIGTERM);
    signals.async_wait([&context](std::error_code, int) { context.stop(); });
    asio::co_spawn(context, accept(acceptor), asio::detached);
    context.run();
    std::printf("shut down\n");
    return 0;
}
