#include <netkit/buffer/buffer.hpp>

#include <netkit/buffer/cursor.hpp>
#include <netkit/buffer/exact_gather.hpp>
#include <netkit/detail/coalesce.hpp>

#include <netkit/addr/endpoint.hpp>
#include <netkit/addr/local_endpoint.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

namespace nk = netkit;
using namespace std::string_view_literals;

namespace {

/// A user's own type that models std::ranges::contiguous_range (pointers as iterators) and
/// nothing netkit knows about.
class sample_frame {
public:
    std::uint16_t* begin() noexcept { return samples_.data(); }
    std::uint16_t* end() noexcept { return samples_.data() + samples_.size(); }
    [[nodiscard]] const std::uint16_t* begin() const noexcept { return samples_.data(); }
    [[nodiscard]] const std::uint16_t* end() const noexcept {
        return samples_.data() + samples_.size();
    }

private:
    // Both bytes of each sample alike: the same bytes, "00112233", in either byte order.
    std::array<std::uint16_t, 4> samples_{0x3030, 0x3131, 0x3232, 0x3333};
};

/// A user's own contiguous range over class-type iterators, with no data() member.
class frame_over_vector {
public:
    auto begin() noexcept { return bytes_.begin(); }
    auto end() noexcept { return bytes_.end(); }
    [[nodiscard]] auto begin() const noexcept { return bytes_.begin(); }
    [[nodiscard]] auto end() const noexcept { return bytes_.end(); }

private:
    std::vector<char> bytes_ = std::vector<char>(8, 'f');
};

/// begin() walks one array, data() points at another.
struct mismatched_data {
    std::array<char, 4> walked{};
    std::array<int, 4> other{};
    [[nodiscard]] const char* begin() const noexcept { return walked.data(); }
    [[nodiscard]] const char* end() const noexcept { return walked.data() + walked.size(); }
    [[nodiscard]] const int* data() const noexcept { return other.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return other.size(); }
};

struct header {
    std::uint32_t type;
    std::uint32_t length;
};

/// Owns memory: its bytes are not its value.
struct owning {
    std::string text;
};

/// What writev(2) does with the iovecs: copies up to `limit` of their bytes, in order, to `out`.
std::size_t gather_into(std::span<const iovec> iov, std::size_t limit, std::vector<char>& out) {
    std::size_t copied = 0;
    for (const iovec& v : iov) {
        const std::size_t n = std::min(v.iov_len, limit - copied);
        const char* from = static_cast<const char*>(v.iov_base);
        out.insert(out.end(), from, from + n);
        copied += n;
        if (copied == limit) {
            break;
        }
    }
    return copied;
}

/// What readv(2) does with the iovecs: fills them in order from `source`.
std::size_t scatter_from(std::span<const iovec> iov, std::string_view source) {
    std::size_t copied = 0;
    for (const iovec& v : iov) {
        const std::size_t n = std::min(v.iov_len, source.size() - copied);
        std::memcpy(v.iov_base, source.data() + copied, n);
        copied += n;
    }
    return copied;
}

template <class Buffer>
std::string_view bytes_of(const Buffer& b) {
    return {static_cast<const char*>(b.data()), b.size()};
}

/// The bytes the iovecs point to, in order.
std::string bytes_of_iovecs(std::span<const iovec> iov) {
    std::string all;
    for (const iovec& v : iov) {
        all.append(static_cast<const char*>(v.iov_base), v.iov_len);
    }
    return all;
}

/// The bytes of a whole buffer sequence, read through its buffers in order.
template <class Sequence>
std::string bytes_of_sequence(const Sequence& buffers) {
    std::string all;
    for (const auto& b : buffers) {
        all += bytes_of(b);
    }
    return all;
}

} // namespace

// ---- concepts ---------------------------------------------------------------------------------

TEST_CASE("contiguous ranges of trivially copyable elements are byte ranges") {
    STATIC_REQUIRE(nk::byte_range<std::span<char>>);
    STATIC_REQUIRE(nk::byte_range<std::span<const std::byte>>);
    STATIC_REQUIRE(nk::byte_range<std::array<int, 4>>);
    STATIC_REQUIRE(nk::byte_range<std::vector<std::uint16_t>>);
    STATIC_REQUIRE(nk::byte_range<std::vector<header>>);
    STATIC_REQUIRE(nk::byte_range<std::string>);
    STATIC_REQUIRE(nk::byte_range<std::string_view>);
    STATIC_REQUIRE(nk::byte_range<char[16]>);
    STATIC_REQUIRE(nk::byte_range<const char(&)[6]>); // a string literal
    STATIC_REQUIRE(nk::byte_range<sample_frame>);
    STATIC_REQUIRE(nk::byte_range<const sample_frame&>);

    // Writable ones may be received into.
    STATIC_REQUIRE(nk::mutable_byte_range<std::span<char>>);
    STATIC_REQUIRE(nk::mutable_byte_range<std::array<int, 4>&>);
    STATIC_REQUIRE(nk::mutable_byte_range<std::vector<std::uint16_t>&>);
    STATIC_REQUIRE(nk::mutable_byte_range<std::string&>);
    STATIC_REQUIRE(nk::mutable_byte_range<char(&)[16]>);
    STATIC_REQUIRE(nk::mutable_byte_range<sample_frame&>);
    STATIC_REQUIRE(nk::byte_range<const frame_over_vector&>);
    STATIC_REQUIRE(nk::mutable_byte_range<frame_over_vector&>);
}

TEST_CASE("a data() and a size() alone do not make a byte range") {
    // An endpoint has both, a sockaddr pointer and a length in bytes: read as an array of
    // sockaddr they would cover far more than the object.
    STATIC_REQUIRE_FALSE(nk::byte_range<const nk::ip::endpoint&>);
    STATIC_REQUIRE_FALSE(nk::byte_range<nk::local::endpoint&>);
    STATIC_REQUIRE_FALSE(nk::sendable_data<nk::ip::endpoint>);
    STATIC_REQUIRE_FALSE(nk::receive_target<nk::ip::endpoint&>);
    // A data() that points elsewhere than the elements begin() walks is not used: the bytes
    // are the ones the iterators read.
    const mismatched_data odd{};
    STATIC_REQUIRE(nk::byte_range<const mismatched_data&>);
    REQUIRE(nk::buffer(odd).data() == odd.walked.data());
    REQUIRE(nk::buffer(odd).size() == odd.walked.size());
}

TEST_CASE("read-only ranges are byte ranges but not mutable ones") {
    STATIC_REQUIRE(nk::byte_range<std::span<const char>>);
    STATIC_REQUIRE(nk::byte_range<const std::vector<char>&>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<std::string_view>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<std::string_view&>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<std::span<const char>>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<std::span<const std::byte>&>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<const std::string&>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<const std::vector<char>&>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<const std::array<int, 4>&>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<const char(&)[6]>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<const sample_frame&>);

    // And buffer() says so in its type: only a writable range gives a mutable_buffer.
    STATIC_REQUIRE(
        std::is_same_v<decltype(nk::buffer(std::declval<std::string&>())), nk::mutable_buffer>);
    STATIC_REQUIRE(
        std::is_same_v<decltype(nk::buffer(std::declval<const std::string&>())), nk::const_buffer>);
    STATIC_REQUIRE(
        std::is_same_v<decltype(nk::buffer(std::declval<std::string_view&>())), nk::const_buffer>);
    STATIC_REQUIRE(std::is_same_v<decltype(nk::buffer(std::declval<std::span<const char>&>())),
                                  nk::const_buffer>);
}

TEST_CASE(
    "non-trivially-copyable elements, non-contiguous ranges and buffers are not byte ranges") {
    STATIC_REQUIRE_FALSE(nk::byte_range<std::vector<std::string>>);
    STATIC_REQUIRE_FALSE(nk::byte_range<std::array<std::string, 2>>);
    STATIC_REQUIRE_FALSE(nk::byte_range<std::span<owning>>);
    STATIC_REQUIRE_FALSE(nk::mutable_byte_range<std::vector<std::string>&>);
    STATIC_REQUIRE_FALSE(nk::byte_range<std::list<char>>);
    STATIC_REQUIRE_FALSE(nk::byte_range<std::deque<char>>);
    STATIC_REQUIRE_FALSE(nk::byte_range<int>);
    // A range of buffers is a buffer sequence: its bytes are elsewhere.
    STATIC_REQUIRE_FALSE(nk::byte_range<std::vector<nk::const_buffer>>);
    STATIC_REQUIRE_FALSE(nk::byte_range<std::array<iovec, 2>>);
}

TEST_CASE("ranges of const_buffer, mutable_buffer or iovec are buffer sequences") {
    STATIC_REQUIRE(nk::buffer_sequence<std::vector<nk::const_buffer>>);
    STATIC_REQUIRE(nk::buffer_sequence<std::list<nk::const_buffer>>);
    STATIC_REQUIRE(nk::buffer_sequence<std::array<nk::mutable_buffer, 3>>);
    STATIC_REQUIRE(nk::buffer_sequence<std::span<const nk::mutable_buffer>>);
    STATIC_REQUIRE(nk::buffer_sequence<std::span<const iovec>>);
    STATIC_REQUIRE(nk::buffer_sequence<nk::const_buffer[2]>);
    STATIC_REQUIRE(nk::buffer_sequence<nk::buffer_list<nk::const_buffer, 3>>);
    STATIC_REQUIRE(
        std::is_same_v<decltype(nk::gather("a"sv, "b"sv)), nk::buffer_list<nk::const_buffer, 2>>);

    STATIC_REQUIRE(nk::mutable_buffer_sequence<std::array<nk::mutable_buffer, 3>>);
    STATIC_REQUIRE(nk::mutable_buffer_sequence<nk::buffer_list<nk::mutable_buffer, 2>>);
    STATIC_REQUIRE(nk::mutable_buffer_sequence<std::vector<iovec>>);
    STATIC_REQUIRE_FALSE(nk::mutable_buffer_sequence<std::vector<nk::const_buffer>>);

    STATIC_REQUIRE_FALSE(nk::buffer_sequence<std::string>);
    STATIC_REQUIRE_FALSE(nk::buffer_sequence<std::vector<char>>);
    STATIC_REQUIRE_FALSE(nk::buffer_sequence<std::vector<void*>>);
}

// ---- buffers ----------------------------------------------------------------------------------

TEST_CASE("buffer() views every kind of byte range in place") {
    std::string text = "text";
    const std::string_view view = "view";
    std::array<std::uint32_t, 2> words{1, 2};
    std::vector<std::uint16_t> shorts{1, 2, 3};
    char c_array[5] = {'c', 'a', 'r', 'r', 'y'};
    sample_frame frame;

    const nk::mutable_buffer b_text = nk::buffer(text);
    REQUIRE(b_text.data() == text.data());
    REQUIRE(bytes_of(b_text) == "text");
    const nk::const_buffer b_view = nk::buffer(view);
    REQUIRE(b_view.data() == view.data());
    REQUIRE(bytes_of(b_view) == "view");
    REQUIRE(nk::buffer(words).data() == words.data());
    REQUIRE(nk::buffer(words).size() == 8);
    REQUIRE(nk::buffer(shorts).data() == shorts.data());
    REQUIRE(nk::buffer(shorts).size() == 6);
    REQUIRE(nk::buffer(c_array).data() == &c_array[0]);
    REQUIRE(bytes_of(nk::buffer(c_array)) == "carry");
    REQUIRE(nk::buffer(frame).data() == frame.begin());
    REQUIRE(bytes_of(nk::buffer(frame)) == "00112233");

    // Writing through a mutable buffer writes the original.
    std::memcpy(b_text.data(), "TEXT", 4);
    REQUIRE(text == "TEXT");
}

TEST_CASE("buffers have iovec's layout: an array of them is read as iovecs") {
    std::string first = "first";
    std::array<char, 6> second{'s', 'e', 'c', 'o', 'n', 'd'};
    const std::array<nk::mutable_buffer, 2> buffers{nk::buffer(first), nk::buffer(second)};

    // The bytes of a buffer are an iovec's: copied as they are, they read back as one.
    iovec raw{};
    std::memcpy(&raw, &buffers[1], sizeof raw);
    REQUIRE(raw.iov_base == second.data());
    REQUIRE(raw.iov_len == 6);

    const std::span<const iovec> iov = nk::as_iovecs(buffers);
    REQUIRE(static_cast<const void*>(iov.data()) == static_cast<const void*>(buffers.data()));
    REQUIRE(iov.size() == 2);
    REQUIRE(iov[0].iov_base == first.data());
    REQUIRE(iov[0].iov_len == 5);
    REQUIRE(iov[1].iov_base == second.data());
    REQUIRE(std::string_view(static_cast<const char*>(iov[1].iov_base), iov[1].iov_len) ==
            "second");
}

TEST_CASE("operator+= drops bytes from the front, never more than there are") {
    const std::string_view text = "abcdef";
    nk::const_buffer b = nk::buffer(text);
    b += 2;
    REQUIRE(bytes_of(b) == "cdef");
    b += 10;
    REQUIRE(b.empty());
    REQUIRE(b.data() == text.data() + text.size());

    std::array<char, 3> storage{'x', 'y', 'z'};
    nk::mutable_buffer m = nk::buffer(storage);
    m += 1;
    REQUIRE(bytes_of(m) == "yz");
    const nk::const_buffer as_const = m; // writable bytes are readable
    REQUIRE(as_const.data() == storage.data() + 1);
}

// ---- gather and scatter -----------------------------------------------------------------------

TEST_CASE("gather points into each heterogeneous piece, copying nothing") {
    const header head{7, 10};
    const std::string body = "body bytes";
    const std::vector<std::uint16_t> shorts{0x6161, 0x6262}; // "aabb" in either byte order
    const char trailer[] = "end";                            // 4 bytes, with the '\0'
    const sample_frame frame;
    const std::array<std::byte, 2> raw{std::byte{'!'}, std::byte{'?'}};
    const nk::const_buffer already = nk::buffer("pre-made"sv);

    const auto list =
        nk::gather(std::span(&head, 1), body, "|sep|"sv, shorts, trailer, frame, raw, already);
    REQUIRE(list.size() == 8);
    REQUIRE(list[0].data() == &head);
    REQUIRE(list[0].size() == sizeof(header));
    REQUIRE(list[1].data() == body.data());
    REQUIRE(list[1].size() == 10);
    REQUIRE(list[3].data() == shorts.data());
    REQUIRE(list[3].size() == 4);
    REQUIRE(list[4].data() == &trailer[0]);
    REQUIRE(list[4].size() == 4);
    REQUIRE(list[5].data() == frame.begin());
    REQUIRE(list[6].data() == raw.data());
    REQUIRE(list[7].data() == already.data());
    REQUIRE(nk::buffer_size(list) == sizeof(header) + 10 + 5 + 4 + 4 + 8 + 2 + 8);

    // Read through the list, the bytes are the pieces' own, in order.
    std::string expected(reinterpret_cast<const char*>(&head), sizeof head);
    expected += "body bytes|sep|aabb";
    expected.append(trailer, sizeof trailer);
    expected += "00112233!?pre-made";
    REQUIRE(bytes_of_sequence(list) == expected);
}

TEST_CASE("scatter points into each writable piece, and filling it fills the originals") {
    header head{};
    std::array<char, 5> word{};
    std::vector<char> rest(7);
    char tail[3] = {};
    sample_frame frame;
    std::string text(2, '\0');

    const auto list =
        nk::scatter(std::span(&head, 1), word, rest, tail, frame, text, nk::buffer(text));
    REQUIRE(list.size() == 7);
    REQUIRE(list[0].data() == &head);
    REQUIRE(list[1].data() == word.data());
    REQUIRE(list[2].data() == rest.data());
    REQUIRE(list[3].data() == &tail[0]);
    REQUIRE(list[4].data() == frame.begin());
    REQUIRE(list[5].data() == text.data());
    REQUIRE(list[6].data() == text.data());
    REQUIRE(nk::buffer_size(list) == sizeof(header) + 5 + 7 + 3 + 8 + 2 + 2);

    header sent{3, 25};
    std::string source(reinterpret_cast<const char*>(&sent), sizeof sent);
    source += "hello, world!76543210ABabXY";
    REQUIRE(scatter_from(nk::as_iovecs(list), source) == source.size());
    REQUIRE(head.type == 3);
    REQUIRE(head.length == 25);
    REQUIRE(bytes_of_iovecs(nk::as_iovecs(list)) == source.substr(0, 31) + "XYXY");
    REQUIRE(std::string_view(word.data(), word.size()) == "hello");
    REQUIRE(std::string_view(rest.data(), rest.size()) == ", world");
    REQUIRE(std::string_view(tail, 3) == "!76");
    REQUIRE(bytes_of(nk::buffer(frame)) == "543210AB");
    REQUIRE(text == "XY"); // the last two buffers are the same bytes: the later write wins
}

TEST_CASE("buffer_size totals any sequence") {
    const std::list<nk::const_buffer> listed{nk::buffer("one "sv), nk::buffer("two "sv),
                                             nk::buffer("three"sv)};
    REQUIRE(nk::buffer_size(listed) == 13);
    REQUIRE(bytes_of_sequence(listed) == "one two three");
    const std::vector<nk::const_buffer> none;
    REQUIRE(nk::buffer_size(none) == 0);
    std::array<char, 4> a{};
    std::array<char, 0> empty{};
    const std::array<iovec, 3> iov{iovec{a.data(), a.size()}, iovec{empty.data(), 0},
                                   iovec{a.data(), 2}};
    REQUIRE(nk::buffer_size(std::span<const iovec>(iov)) == 6);
}

// ---- buffer_cursor ----------------------------------------------------------------------------

TEST_CASE("buffer_cursor resumes at the exact byte, across buffer boundaries") {
    const std::array<std::string_view, 3> pieces{"abc", "defgh", "ij"};
    const auto list = nk::gather(pieces[0], pieces[1], pieces[2]);
    nk::buffer_cursor cursor(nk::as_iovecs(list));

    std::vector<char> out;
    // Untouched: the caller's own array, as it is.
    REQUIRE(cursor.next().data() == nk::as_iovecs(list).data());
    REQUIRE(gather_into(cursor.next(), 4, out) == 4); // "abc" and "d": stops inside "defgh"
    cursor.consume(4);
    auto window = cursor.next();
    REQUIRE(window.size() == 2);
    REQUIRE(window[0].iov_base == pieces[1].data() + 1);
    REQUIRE(window[0].iov_len == 4);
    REQUIRE(window[1].iov_base == pieces[2].data());
    // The caller's iovecs are not modified: the adjusted one is a copy.
    REQUIRE(nk::as_iovecs(list)[1].iov_len == 5);

    REQUIRE(gather_into(cursor.next(), 5, out) == 5); // "efgh" and "i"
    cursor.consume(5);
    window = cursor.next();
    REQUIRE(window.size() == 1);
    REQUIRE(window[0].iov_base == pieces[2].data() + 1);
    REQUIRE(gather_into(window, 100, out) == 1);
    cursor.consume(1);
    REQUIRE(cursor.done());
    REQUIRE(cursor.next().empty());
    REQUIRE(std::string_view(out.data(), out.size()) == "abcdefghij");
}

TEST_CASE("buffer_position: one buffer in steps, whole, and the last buffer of several") {
    std::string text = "abcdef";
    const std::array<iovec, 1> one{iovec{text.data(), text.size()}};
    nk::buffer_position position(one);
    position.consume(2);
    REQUIRE(position.offset() == 2);
    REQUIRE_FALSE(position.done());
    position.consume(4); // exactly the rest of the last buffer
    REQUIRE(position.done());
    REQUIRE(position.offset() == 0);
    REQUIRE(position.remaining().empty());
    position.consume(1); // nothing left: nothing happens
    REQUIRE(position.done());

    nk::buffer_position whole(one);
    whole.consume(text.size());
    REQUIRE(whole.done());

    const std::array<iovec, 2> two{one[0], one[0]};
    nk::buffer_position second(two);
    second.consume(text.size() + 1);
    REQUIRE(second.remaining().size() == 1);
    REQUIRE(second.offset() == 1);
    second.consume(text.size() - 1);
    REQUIRE(second.done());
}

TEST_CASE("buffer_cursor skips zero-length buffers wherever they are") {
    std::array<char, 0> nothing{};
    const std::string_view ab = "ab";
    const std::string_view cde = "cde";
    const auto list = nk::gather(nothing, nothing, ab, nothing, nothing, cde, nothing);
    nk::buffer_cursor cursor(nk::as_iovecs(list));
    REQUIRE_FALSE(cursor.done());
    REQUIRE(cursor.next().front().iov_base == ab.data()); // leading empties are skipped

    cursor.consume(2); // exactly "ab": the empties after it are skipped too
    REQUIRE(cursor.next().front().iov_base == cde.data());
    REQUIRE(cursor.next().size() == 2); // "cde" and the trailing empty

    cursor.consume(1);
    REQUIRE(cursor.next().front().iov_base == cde.data() + 1);
    REQUIRE(cursor.next().front().iov_len == 2);
    cursor.consume(2); // the trailing empty does not keep the cursor going
    REQUIRE(cursor.done());

    const std::array<iovec, 3> all_empty{iovec{nothing.data(), 0}, iovec{nothing.data(), 0},
                                         iovec{nothing.data(), 0}};
    const nk::buffer_cursor empties(all_empty);
    REQUIRE(empties.done());
    const nk::buffer_cursor none(std::span<const iovec>{});
    REQUIRE(none.done());
}

TEST_CASE("buffer_cursor: consuming exactly everything, or more, ends it") {
    const std::string_view one = "one";
    const std::string_view two = "two";
    const auto list = nk::gather(one, two);
    {
        nk::buffer_cursor cursor(nk::as_iovecs(list));
        cursor.consume(6);
        REQUIRE(cursor.done());
        REQUIRE(cursor.next().empty());
    }
    {
        nk::buffer_cursor cursor(nk::as_iovecs(list));
        cursor.consume(4);
        REQUIRE(bytes_of_iovecs(cursor.next()) == "wo");
        cursor.consume(1000);
        REQUIRE(cursor.done());
    }
    {
        nk::buffer_cursor cursor(nk::as_iovecs(list));
        cursor.consume(0);
        REQUIRE(cursor.next().data() == nk::as_iovecs(list).data());
        REQUIRE(cursor.next().size() == 2);
    }
}

TEST_CASE("buffer_cursor gives windows of at most IOV_MAX iovecs over 3000 buffers") {
    constexpr std::size_t count = 3000;
    STATIC_REQUIRE(nk::max_buffers_per_call == IOV_MAX);
    // Buffers of 0 to 4 bytes over one block of distinct bytes.
    std::vector<iovec> iov(count);
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
        total += i % 5;
    }
    std::vector<char> data(total);
    for (std::size_t i = 0; i < total; ++i) {
        data[i] = static_cast<char>('!' + i % 90);
    }
    for (std::size_t i = 0, at = 0; i < count; at += i % 5, ++i) {
        iov[i] = iovec{data.data() + at, i % 5};
    }
    const std::vector<iovec> original = iov;

    nk::buffer_cursor cursor(iov);
    // Before any short transfer: the first IOV_MAX of the caller's own iovecs.
    REQUIRE(cursor.next().data() == iov.data() + 1); // iov[0] is empty, skipped
    REQUIRE(cursor.next().size() == nk::max_buffers_per_call);

    std::vector<char> out;
    std::size_t calls = 0;
    std::size_t full_windows = 0;
    while (!cursor.done()) {
        const std::span<const iovec> window = cursor.next();
        REQUIRE_FALSE(window.empty());
        REQUIRE(window.size() <= nk::max_buffers_per_call);
        if (window.size() == nk::max_buffers_per_call) {
            ++full_windows;
        }
        // A "kernel" that takes 777 bytes at a time: most calls stop inside a buffer.
        const std::size_t n = gather_into(window, 777, out);
        REQUIRE(n > 0);
        cursor.consume(n);
        ++calls;
    }
    REQUIRE(out == data);
    REQUIRE(calls == (total + 776) / 777);
    REQUIRE(full_windows > 0);
    REQUIRE(cursor.next().empty());
    // The caller's iovecs were never modified.
    REQUIRE(
        std::equal(iov.begin(), iov.end(), original.begin(), [](const iovec& a, const iovec& b) {
            return a.iov_base == b.iov_base && a.iov_len == b.iov_len;
        }));
}

TEST_CASE("buffer_cursor consumes whole IOV_MAX windows without copying") {
    constexpr std::size_t count = 3000;
    std::vector<char> data(count);
    std::vector<iovec> iov(count);
    for (std::size_t i = 0; i < count; ++i) {
        data[i] = static_cast<char>('a' + i % 26);
        iov[i] = iovec{&data[i], 1};
    }
    nk::buffer_cursor cursor(iov);
    std::vector<char> out;
    for (const std::size_t start : {std::size_t{0}, std::size_t{1024}, std::size_t{2048}}) {
        const std::span<const iovec> window = cursor.next();
        REQUIRE(window.data() == iov.data() + start); // a slice of the caller's array
        REQUIRE(window.size() == std::min(nk::max_buffers_per_call, count - start));
        cursor.consume(gather_into(window, window.size(), out));
    }
    REQUIRE(cursor.done());
    REQUIRE(out == data);
}

TEST_CASE("the adaptive rule: small fragments that fit the stack buffer are copied") {
    using nk::detail::coalesce_capacity;
    using nk::detail::coalesce_fragment_limit;
    // What a send copies: the size of the copy, 0 when the message is gathered instead.
    auto coalescible_size = [](std::span<const iovec> iov, int flags) -> std::size_t {
        return nk::detail::may_copy(iov, flags) ? nk::detail::coalesced_bytes(iov).size() : 0;
    };
    std::vector<char> bytes(coalesce_capacity + coalesce_fragment_limit);
    auto pieces = [&](std::initializer_list<std::size_t> sizes) {
        std::vector<iovec> iov;
        std::size_t at = 0;
        for (std::size_t size : sizes) {
            iov.push_back({bytes.data() + at, size});
            at += size;
        }
        return iov;
    };
    const std::size_t below = coalesce_fragment_limit - 1;
    REQUIRE(coalescible_size(pieces({100, 200}), 0) == 300);
    REQUIRE(coalescible_size(pieces({below, below}), 0) == 2 * below);
    REQUIRE(coalescible_size(pieces({100}), 0) == 0); // one: sent as is
    REQUIRE(coalescible_size(pieces({}), 0) == 0);
    REQUIRE(coalescible_size(pieces({100, coalesce_fragment_limit}), 0) == 0);      // a large one
    REQUIRE(coalescible_size(pieces({coalesce_fragment_limit, 100}), 0) == 0);      // ... first
    REQUIRE(coalescible_size(pieces({100, coalesce_fragment_limit, 100}), 0) == 0); // ... within
    REQUIRE(coalescible_size(pieces({0, 0, 0}), 0) == 0);             // nothing to copy
    REQUIRE(coalescible_size(pieces({100, 200}), MSG_ZEROCOPY) == 0); // never copied
    // Exactly the stack buffer, then one byte past it.
    std::vector<iovec> full(coalesce_capacity / below, iovec{bytes.data(), below});
    full.push_back(iovec{bytes.data(), coalesce_capacity - full.size() * below});
    REQUIRE(coalescible_size(full, 0) == coalesce_capacity);
    full.push_back(iovec{bytes.data(), 1});
    REQUIRE(coalescible_size(full, 0) == 0);
}

TEST_CASE("exact_gather views a named sequence and copies a small temporary one") {
    std::array<char, 4> head{};
    std::vector<char> body(10);
    const std::vector<nk::const_buffer> named{nk::buffer(head), nk::buffer(body)};
    const auto viewed = nk::exact_gather(named);
    STATIC_REQUIRE(nk::buffer_sequence<decltype(viewed)>);
    STATIC_REQUIRE(nk::detail::contiguous_sized<decltype(viewed)>);
    STATIC_REQUIRE_FALSE(nk::detail::may_coalesce<std::remove_const_t<decltype(viewed)>>);
    STATIC_REQUIRE(nk::detail::may_coalesce<std::vector<nk::const_buffer>>);
    STATIC_REQUIRE_FALSE(nk::detail::may_coalesce<std::string>);
    REQUIRE(nk::as_iovecs(viewed).data() == nk::as_iovecs(named).data()); // no copy
    REQUIRE(nk::buffer_size(viewed) == 14);
    const auto copied = nk::exact_gather(nk::gather(head, body));
    REQUIRE(copied.size() == 2);
    REQUIRE(nk::buffer_size(copied) == 14);
    REQUIRE(nk::as_iovecs(copied)[1].iov_base == body.data());
}
