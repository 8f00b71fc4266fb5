// The echo benchmark's Asio server: one io_context on one thread, each connection an
// async_read_some into a 16 KiB buffer followed by an async_write of what came, the way Asio's
// own examples write an echo server. Reading waits for the write, so it has the same
// backpressure as the other two. Usage: echo_asio_server HOST:PORT (port 0 allowed); prints the
// bound endpoint first, stops on SIGTERM or SIGINT.
#include <asio.hpp>

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

namespace {

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
    void start() { read(); }

private:
    void read() {
        socket_.async_read_some(asio::buffer(buffer_),
                                [self = shared_from_this()](std::error_code ec, std::size_t n) {
                                    if (!ec) {
                                        self->write(n);
                                    }
                                });
    }
    void write(std::size_t n) {
        asio::async_write(socket_, asio::buffer(buffer_.data(), n),
                          [self = shared_from_this()](std::error_code ec, std::size_t) {
                              if (!ec) {
                                  self->read();
                              }
                          });
    }

    asio::ip::tcp::socket socket_;
    std::array<char, 16384> buffer_{};
};

void accept(asio::ip::tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](std::error_code ec, asio::ip::tcp::socket socket) {
        if (!ec) {
            std::make_shared<session>(std::move(socket))->start();
        }
        accept(acceptor);
    });
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
    accept(acceptor);
    context.run();
    std::printf("shut down\n");
    return 0;
}
