#include "bench/pattern.h"

#include <algorithm>
#include <cstring>

namespace bench {

Pattern::Pattern() : table_(kBlock + kSlack) {
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < table_.size(); i += sizeof x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(table_.data() + i, &x, sizeof x);
  }
}

std::span<const char> Pattern::View(uint64_t seed, uint64_t offset, uint64_t length) const {
  const uint64_t block = offset / kBlock;
  const uint64_t shift = (seed * 0x9e3779b97f4a7c15ULL + block * 0xbf58476d1ce4e5b9ULL) >> 48;
  const uint64_t within = offset % kBlock;
  return {table_.data() + shift % kSlack + within, std::min(length, kBlock - within)};
}

bool Pattern::Matches(uint64_t seed, uint64_t offset, std::span<const char> data) const {
  while (!data.empty()) {
    const auto expected = View(seed, offset, data.size());
    if (std::memcmp(expected.data(), data.data(), expected.size()) != 0) return false;
    offset += expected.size();
    data = data.subspan(expected.size());
  }
  return true;
}

}  // namespace bench
