#include "vaultcore/attribute_cache.h"

namespace vaultcore {

std::optional<Attributes> AttributeCache::Get(const std::string& path, NodeKind kind,
                                              uint64_t fileid) const {
  const int64_t ttl = ttl_ns_.load(std::memory_order_relaxed);
  if (ttl <= 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  if (entries_dropped_) return std::nullopt;
  const auto it = entries_.find(path);
  if (it == entries_.end() || it->second.attr.kind != kind ||
      (fileid != 0 && it->second.attr.fileid != fileid) ||
      Clock::now() - it->second.read_at >= std::chrono::nanoseconds(ttl)) {
    return std::nullopt;
  }
  return it->second.attr;
}

void AttributeCache::Put(const std::string& path, uint64_t generation, const Attributes& attr) {
  if (ttl_ns_.load(std::memory_order_relaxed) <= 0) return;
  std::lock_guard lock(mutex_);
  if (generation != generation_.load(std::memory_order_relaxed)) return;
  if (entries_dropped_ || entries_.size() >= kMaxEntries) {
    entries_.clear();
    path_of_.clear();
    entries_dropped_ = false;
  }
  if (auto it = entries_.find(path); it != entries_.end()) EraseLocked(it);
  // The same file under another path: renamed by someone else.
  if (auto it = path_of_.find(attr.fileid); it != path_of_.end()) {
    EraseLocked(entries_.find(*it->second));
  }
  const auto it = entries_.emplace(path, Cached{attr, Clock::now()}).first;
  if (attr.fileid != 0) path_of_[attr.fileid] = &it->first;
}

void AttributeCache::EraseLocked(Entries::iterator it) {
  const auto file = path_of_.find(it->second.attr.fileid);
  if (file != path_of_.end() && file->second == &it->first) path_of_.erase(file);
  entries_.erase(it);
}

void AttributeCache::NoteChange() {
  std::lock_guard lock(mutex_);
  last_change_ = generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  entries_dropped_ = true;
}

void AttributeCache::NoteFileChange(uint64_t fileid) {
  std::lock_guard lock(mutex_);
  const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  file_changes_[generation % file_changes_.size()] = fileid;
  if (auto it = path_of_.find(fileid); it != path_of_.end())
    EraseLocked(entries_.find(*it->second));
  generation_.store(generation, std::memory_order_release);
}

void AttributeCache::Forget(const std::string& path) {
  forgotten_.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(path); it != entries_.end()) EraseLocked(it);
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

std::optional<AttributeCache::Stamp> AttributeCache::CatchUp(const Stamp& stamp,
                                                             std::vector<uint64_t>* changed) const {
  const int64_t ttl = ttl_ns_.load(std::memory_order_relaxed);
  if (ttl <= 0 || Clock::now() - stamp.taken >= std::chrono::nanoseconds(ttl) ||
      stamp.forgotten != forgotten_.load(std::memory_order_acquire)) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  const uint64_t now = generation_.load(std::memory_order_relaxed);
  // Every generation since the stamp is a file change, and each is still
  // remembered.
  if (last_change_ > stamp.generation || now - stamp.generation > file_changes_.size()) {
    return std::nullopt;
  }
  for (uint64_t g = stamp.generation + 1; g <= now; ++g) {
    changed->push_back(file_changes_[g % file_changes_.size()]);
  }
  return Stamp{now, stamp.forgotten, stamp.taken};
}

}  // namespace vaultcore
