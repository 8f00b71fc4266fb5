// stop_source / stop_token / stop_registration: the cancellation primitives of the coroutine
// layer (for one loop's thread; libc++ 14 has no std::stop_token).
#include <netkit/async/stop.hpp>

#include "support/catch.hpp"

namespace nka = netkit::async;

namespace {
struct counting_node : nka::detail::stop_node {
    int calls = 0;
    counting_node() noexcept {
        on_stop = [](nka::detail::stop_node& node) noexcept {
            ++static_cast<counting_node&>(node).calls;
        };
    }
};
} // namespace

TEST_CASE("a default token can never stop") {
    const nka::stop_token token;
    CHECK_FALSE(token.stop_possible());
    CHECK_FALSE(token.stop_requested());
}

TEST_CASE("a stop request reaches every token and runs each callback once") {
    nka::stop_source source;
    auto token = source.token();
    CHECK(token.stop_possible());
    CHECK_FALSE(token.stop_requested());
    counting_node a;
    counting_node b;
    nka::stop_registration ra;
    nka::stop_registration rb;
    ra.attach(token, a);
    rb.attach(token, b);
    CHECK(source.request_stop());
    CHECK(token.stop_requested());
    CHECK(a.calls == 1);
    CHECK(b.calls == 1);
    CHECK_FALSE(source.request_stop()); // a second request runs nothing
    CHECK(a.calls == 1);
}

TEST_CASE("a callback unregistered before the request does not run") {
    nka::stop_source source;
    counting_node a;
    counting_node b;
    counting_node c;
    {
        nka::stop_registration ra;
        ra.attach(source.token(), a);
        nka::stop_registration rb;
        rb.attach(source.token(), b);
        nka::stop_registration rc;
        rc.attach(source.token(), c);
        rb.reset(); // the middle of the list
    }               // ra and rc unregister as they go
    source.request_stop();
    CHECK(a.calls == 0);
    CHECK(b.calls == 0);
    CHECK(c.calls == 0);
}
