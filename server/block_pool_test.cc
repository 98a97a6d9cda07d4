#include "server/block_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory_resource>
#include <mutex>
#include <thread>
#include <vector>

namespace server {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Upstream that checks every block comes back once, with the size and
// alignment it was allocated with.
class CountingResource : public std::pmr::memory_resource {
 public:
  ~CountingResource() override { EXPECT_TRUE(live_.empty()) << live_.size() << " blocks leaked"; }

  size_t allocations() const {
    std::lock_guard lock(mutex_);
    return allocations_;
  }
  size_t live() const {
    std::lock_guard lock(mutex_);
    return live_.size();
  }

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    void* block = std::pmr::new_delete_resource()->allocate(bytes, alignment);
    std::lock_guard lock(mutex_);
    ++allocations_;
    live_[block] = {bytes, alignment};
    return block;
  }
  void do_deallocate(void* block, size_t bytes, size_t alignment) override {
    {
      std::lock_guard lock(mutex_);
      auto it = live_.find(block);
      EXPECT_NE(it, live_.end()) << "freed a block it never gave out, or twice";
      if (it == live_.end()) return;
      EXPECT_EQ(it->second.first, bytes);
      EXPECT_EQ(it->second.second, alignment);
      live_.erase(it);
    }
    std::pmr::new_delete_resource()->deallocate(block, bytes, alignment);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  mutable std::mutex mutex_;
  size_t allocations_ = 0;
  std::map<void*, std::pair<size_t, size_t>> live_;
};

TEST(BlockPoolTest, AFreedLargeBlockServesTheNextRequestOfItsSize) {
  CountingResource upstream;
  BlockPool pool(16 * kMiB, &upstream);
  void* first = pool.allocate(kMiB + 100);
  pool.deallocate(first, kMiB + 100);
  EXPECT_EQ(pool.idle_bytes(), kMiB + BlockPool::kGranule);
  // Another size in the same granule: the same block, nothing new upstream.
  void* second = pool.allocate(kMiB + 4000);
  EXPECT_EQ(second, first);
  EXPECT_EQ(upstream.allocations(), 1u);
  EXPECT_EQ(pool.idle_bytes(), 0u);
  // A size in another granule is a block of its own.
  void* larger = pool.allocate(2 * kMiB);
  EXPECT_NE(larger, second);
  EXPECT_EQ(upstream.allocations(), 2u);
  pool.deallocate(second, kMiB + 4000);
  pool.deallocate(larger, 2 * kMiB);
}

TEST(BlockPoolTest, SmallAndOveralignedRequestsGoStraightUpstream) {
  CountingResource upstream;
  BlockPool pool(16 * kMiB, &upstream);
  void* small = pool.allocate(BlockPool::kMinPooledSize - 1);
  pool.deallocate(small, BlockPool::kMinPooledSize - 1);
  void* aligned = pool.allocate(kMiB, 4096);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 4096, 0u);
  pool.deallocate(aligned, kMiB, 4096);
  EXPECT_EQ(pool.idle_bytes(), 0u);
  EXPECT_EQ(upstream.live(), 0u);
  EXPECT_EQ(upstream.allocations(), 2u);
}

TEST(BlockPoolTest, BlocksPastTheIdleBoundGoBackUpstream) {
  CountingResource upstream;
  BlockPool pool(2 * kMiB, &upstream);
  std::vector<void*> blocks(5);
  for (void*& block : blocks) block = pool.allocate(kMiB);
  for (void* block : blocks) pool.deallocate(block, kMiB);
  EXPECT_EQ(pool.idle_bytes(), 2 * kMiB);
  EXPECT_EQ(upstream.live(), 2u);
}

TEST(BlockPoolTest, TrimToGivesIdleBlocksBackUntilTheBoundHolds) {
  CountingResource upstream;
  BlockPool pool(16 * kMiB, &upstream);
  std::vector<void*> blocks(4);
  for (void*& block : blocks) block = pool.allocate(kMiB);
  blocks.push_back(pool.allocate(512 << 10));
  for (int i = 0; i < 4; ++i) pool.deallocate(blocks[i], kMiB);
  pool.deallocate(blocks[4], 512 << 10);
  ASSERT_EQ(pool.idle_bytes(), 4 * kMiB + (512 << 10));
  pool.TrimTo(2 * kMiB);
  EXPECT_LE(pool.idle_bytes(), 2 * kMiB);
  EXPECT_GE(pool.idle_bytes(), kMiB);
  pool.TrimTo(0);
  EXPECT_EQ(pool.idle_bytes(), 0u);
  EXPECT_EQ(upstream.live(), 0u);
  // Trimmed, the pool still works.
  void* again = pool.allocate(kMiB);
  pool.deallocate(again, kMiB);
  EXPECT_EQ(upstream.live(), 1u);
}

TEST(BlockPoolTest, IdleBlocksAreFreedWithThePool) {
  CountingResource upstream;
  {
    BlockPool pool(16 * kMiB, &upstream);
    void* block = pool.allocate(kMiB);
    pool.deallocate(block, kMiB);
    EXPECT_EQ(upstream.live(), 1u);
  }
  EXPECT_EQ(upstream.live(), 0u);
}

TEST(BlockPoolTest, BlocksFreedOnOtherThreadsAreReused) {
  // Like workers allocating replies that the I/O thread frees. At most
  // three blocks per producer are out at once (one being filled, one
  // queued, one being freed), so 600 allocations need no more upstream.
  CountingResource upstream;
  BlockPool pool(16 * kMiB, &upstream);
  constexpr int kProducers = 3;
  constexpr int kRounds = 200;
  std::mutex mutex;
  std::vector<void*> sent;
  std::vector<std::thread> producers;
  producers.reserve(kProducers);
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        void* block = pool.allocate(kMiB);
        static_cast<char*>(block)[kMiB - 1] = 1;
        for (;;) {  // one block in flight per producer, like a bounded queue
          std::lock_guard lock(mutex);
          if (sent.size() < kProducers) {
            sent.push_back(block);
            break;
          }
        }
      }
    });
  }
  int freed = 0;
  while (freed < kProducers * kRounds) {
    std::vector<void*> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(sent);
    }
    for (void* block : batch) pool.deallocate(block, kMiB);
    freed += static_cast<int>(batch.size());
  }
  for (auto& t : producers) t.join();
  EXPECT_LE(upstream.allocations(), 3u * kProducers);
  EXPECT_EQ(upstream.live() * kMiB, pool.idle_bytes());
}

}  // namespace
}  // namespace server
