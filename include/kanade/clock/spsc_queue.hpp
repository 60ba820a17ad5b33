// A bounded lock-free queue for exactly one producer thread and one consumer thread:
// how the real-time scheduler talks to everything else. push() and pop() never block,
// lock or allocate; push() on a full queue fails and the caller counts the loss.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>

namespace kanade::clock {

template <typename T, std::size_t Capacity>
class SpscQueue {
    static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");
    static_assert(std::is_trivially_copyable_v<T>, "elements are copied without locks: keep them plain data");

public:
    // Producer only. False when full (nothing is written).
    bool push(const T& value) {
        const auto head = head_.load(std::memory_order_relaxed);
        if (head - tail_.load(std::memory_order_acquire) == Capacity) return false;
        slots_[head & (Capacity - 1)] = value;
        head_.store(head + 1, std::memory_order_release);  // publishes the slot
        return true;
    }

    // Consumer only. False when empty.
    bool pop(T& value) {
        const auto tail = tail_.load(std::memory_order_relaxed);
        if (tail == head_.load(std::memory_order_acquire)) return false;
        value = slots_[tail & (Capacity - 1)];
        tail_.store(tail + 1, std::memory_order_release);  // frees the slot
        return true;
    }

    // Consumer only: the next element without removing it.
    const T* peek() const {
        const auto tail = tail_.load(std::memory_order_relaxed);
        if (tail == head_.load(std::memory_order_acquire)) return nullptr;
        return &slots_[tail & (Capacity - 1)];
    }

    // Approximate from any other thread; exact from the producer or consumer.
    std::size_t size() const { return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire); }
    static constexpr std::size_t capacity() { return Capacity; }

private:
    // Head and tail on separate cache lines so producer and consumer do not false-share.
    alignas(64) std::atomic<std::size_t> head_{0};
    alignas(64) std::atomic<std::size_t> tail_{0};
    alignas(64) std::array<T, Capacity> slots_{};
};

}  // namespace kanade::clock
