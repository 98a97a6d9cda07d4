#include "vaultcore/attribute_cache.h"

namespace vaultcore {

std::optional<Attributes> AttributeCache::Get(const std::string& path, NodeKind kind,
                                              uint64_t fileid) const {
  const int64_t ttl = ttl_ns_.load(std::memory_order_relaxed);
  if (ttl <= 0) return std::nullopt;
  const uint64_t now_generation = generation();
  std::lock_guard lock(mutex_);
  if (entries_generation_ != now_generation) return std::nullopt;
  const auto it = entries_.find(path);
  if (it == entries_.end() || it->second.attr.kind != kind ||
      (fileid != 0 && it->second.attr.fileid != fileid) ||
      Clock::now() - it->second.read_at >= std::chrono::nanoseconds(ttl)) {
    return std::nullopt;
  }
  return it->second.attr;
}

void AttributeCache::Put(const std::string& path, uint64_t generation, const Attributes& attr) {
  if (ttl_ns_.load(std::memory_order_relaxed) <= 0 || generation != this->generation()) return;
  std::lock_guard lock(mutex_);
  if (generation != entries_generation_) {
    if (generation < entries_generation_) return;
    entries_.clear();
    entries_generation_ = generation;
  }
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.insert_or_assign(path, Cached{attr, Clock::now()});
}

void AttributeCache::Forget(const std::string& path) {
  forgotten_.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard lock(mutex_);
  entries_.erase(path);
}

AttributeCache::Stamp AttributeCache::Now() const {
  return {generation(), forgotten_.load(std::memory_order_acquire), Clock::now()};
}

bool AttributeCache::IsFresh(const Stamp& stamp) const {
  const int64_t ttl = ttl_ns_.load(std::memory_order_relaxed);
  return ttl > 0 && stamp.generation == generation() &&
         stamp.forgotten == forgotten_.load(std::memory_order_acquire) &&
         Clock::now() - stamp.taken < std::chrono::nanoseconds(ttl);
}

}  // namespace vaultcore
