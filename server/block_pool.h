// BlockPool: a memory resource that keeps large blocks for reuse, so that
// the replies a worker allocates and the I/O thread frees go round between
// them rather than through the allocator. mimalloc gives a block freed on
// another thread back to its owner's heap only lazily; under load each
// worker's heap held many MiB of READ replies already sent, freed but not
// yet reusable (bench/RESULTS.md, step 21).
//
// Requests of kMinPooledSize bytes or more are served from blocks kept by
// size (rounded up to kGranule), and freed blocks are kept for the next
// request of their size, up to `max_idle_bytes` in all; past that they go
// back to the upstream resource. Smaller requests go straight upstream.
// The owner trims the idle blocks as demand falls (TrimTo), so that a
// server at rest holds none.
//
// Thread-safe. Every block must be given back before the pool is
// destroyed; the pool frees the idle ones then.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace server {

class BlockPool : public std::pmr::memory_resource {
 public:
  static constexpr size_t kMinPooledSize = size_t{256} << 10;
  static constexpr size_t kGranule = size_t{64} << 10;

  explicit BlockPool(size_t max_idle_bytes,
                     std::pmr::memory_resource* upstream = std::pmr::new_delete_resource());
  ~BlockPool() override;
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  // Bytes in blocks kept for reuse.
  size_t idle_bytes() const;
  // Gives idle blocks back upstream until at most `max_idle` bytes are left.
  void TrimTo(size_t max_idle);

 private:
  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* block, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override;

  static bool Pooled(size_t bytes, size_t alignment);

  const size_t max_idle_bytes_;
  std::pmr::memory_resource* const upstream_;
  mutable std::mutex mutex_;                             // guards the two below
  std::unordered_map<size_t, std::vector<void*>> idle_;  // by rounded size
  size_t idle_bytes_ = 0;
};

}  // namespace server
