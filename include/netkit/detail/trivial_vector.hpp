#pragma once

// What timer_queue's heap and resolve's endpoints need of std::vector, for trivially copyable
// elements, without <vector> in every includer (docs/benchmarks.md, "Compile time").

#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

namespace netkit::detail {

template <class T>
class trivial_vector {
    static_assert(std::is_trivially_copyable_v<T>,
                  "trivial_vector moves its elements with realloc and copies them with memcpy");
    static_assert(alignof(T) <= alignof(std::max_align_t),
                  "trivial_vector's storage comes from malloc, aligned for max_align_t only");

public:
    trivial_vector() noexcept = default;
    // Copying allocates: out of memory it throws std::bad_alloc, as std::vector's copy does.
    trivial_vector(const trivial_vector& other) {
        if (other.size_ != 0) {
            if (reserve(other.size_) != std::errc{}) {
                throw std::bad_alloc();
            }
            std::memcpy(static_cast<void*>(data_), other.data_, other.size_ * sizeof(T));
            size_ = other.size_;
        }
    }
    trivial_vector(trivial_vector&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)),
          size_(std::exchange(other.size_, 0)),
          capacity_(std::exchange(other.capacity_, 0)) {}
    trivial_vector& operator=(const trivial_vector& other) {
        if (this != &other) {
            trivial_vector copy(other);
            swap(copy);
        }
        return *this;
    }
    trivial_vector& operator=(trivial_vector&& other) noexcept {
        trivial_vector taken(std::move(other));
        swap(taken);
        return *this;
    }
    ~trivial_vector() { std::free(data_); }

    void swap(trivial_vector& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
    }

    // Room for `count` elements: std::errc{} when there is, value_too_large when `count` elements
    // cannot be addressed, not_enough_memory when the allocation failed (nothing is lost then).
    [[nodiscard]] std::errc reserve(std::size_t count) noexcept {
        if (count <= capacity_) {
            return {};
        }
        if (count > max_size()) {
            return std::errc::value_too_large;
        }
        void* grown = std::realloc(static_cast<void*>(data_), count * sizeof(T));
        if (grown == nullptr) {
            return std::errc::not_enough_memory;
        }
        data_ = static_cast<T*>(grown);
        capacity_ = count;
        return {};
    }
    // Appends `value`, doubling the room when it is full; errors as reserve's. `value` may be
    // one of the elements: it is copied before the storage moves.
    [[nodiscard]] std::errc push_back(const T& value) noexcept {
        if (size_ == capacity_) {
            if (size_ == max_size()) {
                return std::errc::value_too_large;
            }
            const T kept = value;
            const std::size_t wanted = capacity_ < max_size() / 2 ? capacity_ * 2 : max_size();
            if (const std::errc failed = reserve(wanted < 4 ? 4 : wanted); failed != std::errc{}) {
                return failed;
            }
            ::new (static_cast<void*>(data_ + size_)) T(kept);
        } else {
            ::new (static_cast<void*>(data_ + size_)) T(value);
        }
        ++size_;
        return {};
    }
    void pop_back() noexcept {
        assert(size_ > 0 && "trivial_vector::pop_back: empty");
        --size_;
    }
    void clear() noexcept { size_ = 0; }

    [[nodiscard]] T* data() noexcept { return data_; }
    [[nodiscard]] const T* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] T& operator[](std::size_t index) noexcept {
        assert(index < size_ && "trivial_vector: index out of range");
        return data_[index];
    }
    [[nodiscard]] const T& operator[](std::size_t index) const noexcept {
        assert(index < size_ && "trivial_vector: index out of range");
        return data_[index];
    }
    [[nodiscard]] T& front() noexcept { return data_[0]; }
    [[nodiscard]] const T& front() const noexcept { return data_[0]; }
    [[nodiscard]] T& back() noexcept { return data_[size_ - 1]; }
    [[nodiscard]] const T& back() const noexcept { return data_[size_ - 1]; }

private:
    // No allocation may exceed PTRDIFF_MAX bytes (pointer differences must fit).
    static constexpr std::size_t max_size() noexcept {
        return (static_cast<std::size_t>(-1) >> 1U) / sizeof(T);
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

} // namespace netkit::detail
