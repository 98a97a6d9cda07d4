#include "server/duplicate_request_cache.h"

#include <algorithm>
#include <functional>

namespace server {

DuplicateRequestCache::DuplicateRequestCache(size_t max_entries, Clock::duration max_age, Now now)
    : max_entries_(std::max<size_t>(max_entries, 1)),
      max_age_(max_age),
      now_(now ? std::move(now) : Now([] { return Clock::now(); })) {}

uint64_t DuplicateRequestCache::Checksum(std::span<const uint8_t> args) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a: a collision also needs the same xid
  for (uint8_t b : args) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

size_t DuplicateRequestCache::KeyHash::operator()(const CallKey& k) const {
  size_t h = std::hash<std::string>()(k.client);
  for (uint64_t v : {uint64_t{k.xid}, uint64_t{k.program}, uint64_t{k.version},
                     uint64_t{k.procedure}, k.args_checksum}) {
    h ^= std::hash<uint64_t>()(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  }
  return h;
}

void DuplicateRequestCache::EvictLocked(Clock::time_point now, size_t keep) {
  while (!by_age_.empty()) {
    auto it = slots_.find(by_age_.front());
    const bool too_many = slots_.size() > keep;
    const bool too_old = it == slots_.end() || now - it->second.at > max_age_;
    if (!too_many && !too_old) break;
    if (it != slots_.end()) slots_.erase(it);
    by_age_.pop_front();
  }
}

DuplicateRequestCache::Verdict DuplicateRequestCache::Begin(const CallKey& key,
                                                            std::vector<uint8_t>* reply) {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  EvictLocked(now, max_entries_);
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    if (!it->second.done) return Verdict::kInProgress;
    *reply = it->second.reply;
    return Verdict::kReplay;
  }
  EvictLocked(now, max_entries_ - 1);  // room for this one
  by_age_.push_back(key);
  Slot& slot = slots_[key];
  slot.at = now;
  slot.age = std::prev(by_age_.end());
  return Verdict::kNew;
}

void DuplicateRequestCache::Complete(const CallKey& key, std::span<const uint8_t> reply) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;  // evicted meanwhile
  it->second.done = true;
  it->second.reply.assign(reply.begin(), reply.end());
}

void DuplicateRequestCache::Abandon(const CallKey& key) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  by_age_.erase(it->second.age);
  slots_.erase(it);
}

}  // namespace server
