// Deterministic file content, so that every byte read back can be checked
// without keeping the files in memory: the content of file `seed` at
// `offset` is a window into one random table, shifted per (seed, 1 MiB
// block). A byte written to the wrong block or file, or a stale chunk,
// reads back different.
#ifndef VAULTNFS_BENCH_PATTERN_H_
#define VAULTNFS_BENCH_PATTERN_H_

#include <cstdint>
#include <span>
#include <vector>

namespace bench {

class Pattern {
 public:
  static constexpr uint64_t kBlock = 1 << 20;

  Pattern();

  // The content of file `seed` from `offset` on, up to `length` bytes but
  // never past the end of offset's 1 MiB block: a view into the table.
  std::span<const char> View(uint64_t seed, uint64_t offset, uint64_t length) const;

  // Whether `data` is the content of file `seed` at `offset`.
  bool Matches(uint64_t seed, uint64_t offset, std::span<const char> data) const;

 private:
  static constexpr uint64_t kSlack = 1 << 16;
  std::vector<char> table_;  // kBlock + kSlack bytes
};

}  // namespace bench

#endif  // VAULTNFS_BENCH_PATTERN_H_
