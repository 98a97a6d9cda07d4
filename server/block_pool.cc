#include "server/block_pool.h"

namespace server {

namespace {

size_t Rounded(size_t bytes) {
  return (bytes + BlockPool::kGranule - 1) / BlockPool::kGranule * BlockPool::kGranule;
}

// Every pooled block is allocated with this alignment, whatever its first
// request asked for, so that any later request of its size may have it.
constexpr size_t kBlockAlignment = alignof(std::max_align_t);

}  // namespace

BlockPool::BlockPool(size_t max_idle_bytes, std::pmr::memory_resource* upstream)
    : max_idle_bytes_(max_idle_bytes), upstream_(upstream) {}

BlockPool::~BlockPool() {
  for (auto& [size, blocks] : idle_) {
    for (void* block : blocks) upstream_->deallocate(block, size, kBlockAlignment);
  }
}

size_t BlockPool::idle_bytes() const {
  std::lock_guard lock(mutex_);
  return idle_bytes_;
}

void BlockPool::TrimTo(size_t max_idle) {
  std::vector<std::pair<void*, size_t>> surplus;
  {
    std::lock_guard lock(mutex_);
    for (auto& [size, blocks] : idle_) {
      while (idle_bytes_ > max_idle && !blocks.empty()) {
        surplus.emplace_back(blocks.back(), size);
        blocks.pop_back();
        idle_bytes_ -= size;
      }
    }
  }
  for (auto [block, size] : surplus) upstream_->deallocate(block, size, kBlockAlignment);
}

bool BlockPool::Pooled(size_t bytes, size_t alignment) {
  return bytes >= kMinPooledSize && alignment <= kBlockAlignment;
}

void* BlockPool::do_allocate(size_t bytes, size_t alignment) {
  if (!Pooled(bytes, alignment)) return upstream_->allocate(bytes, alignment);
  const size_t size = Rounded(bytes);
  {
    std::lock_guard lock(mutex_);
    if (auto it = idle_.find(size); it != idle_.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      idle_bytes_ -= size;
      return block;
    }
  }
  return upstream_->allocate(size, kBlockAlignment);
}

void BlockPool::do_deallocate(void* block, size_t bytes, size_t alignment) {
  if (!Pooled(bytes, alignment)) {
    upstream_->deallocate(block, bytes, alignment);
    return;
  }
  const size_t size = Rounded(bytes);
  {
    std::lock_guard lock(mutex_);
    if (idle_bytes_ + size <= max_idle_bytes_) {
      try {
        idle_[size].push_back(block);
        idle_bytes_ += size;
        return;
      } catch (const std::bad_alloc&) {
        // No room to remember it: the block goes upstream after all.
      }
    }
  }
  upstream_->deallocate(block, size, kBlockAlignment);
}

bool BlockPool::do_is_equal(const std::pmr::memory_resource& other) const noexcept {
  return this == &other;
}

}  // namespace server
