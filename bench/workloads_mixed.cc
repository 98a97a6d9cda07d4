// The mixes shaped like real use: `ide` (an editor and build tools over a
// source tree) and `concurrent` (several clients at once, each mixing that
// with re-reads of the hot set and sequential reads).
#include <random>

#include "bench/operations.h"
#include "bench/workloads.h"

namespace bench {
namespace {

constexpr uint32_t kSavedBytes = 4096;

// Per 100 operations: 40 GETATTRs of files, 25 LOOKUPs, 20 whole-file
// READs, 5 listings of a package, 5 GETATTRs of a package, and 5 saves (a
// FILE_SYNC WRITE of a file's first 4 KiB, same content).
class Ide : public Workload {
 public:
  explicit Ide(Session& s) : s_(s), tree_(s.SourceTree()) {}

  bool Start(Connection& c, Done done) override {
    const Directory& package = tree_[random_() % tree_.size()];
    const File& file = package.files[random_() % package.files.size()];
    const auto dice = random_() % 100;
    if (dice < 40) {
      GetAttr(c, file.handle, std::move(done));
    } else if (dice < 65) {
      LookupName(c, package.handle, file.name, std::move(done));
    } else if (dice < 85) {
      ReadChecked(c, file.handle, file.seed, 0, static_cast<uint32_t>(file.size), s_.pattern(),
                  std::move(done));
    } else if (dice < 90) {
      ListDirectory(c, package.handle, package.files.size(), std::move(done));
    } else if (dice < 95) {
      GetAttr(c, package.handle, std::move(done));
    } else {
      WritePattern(c, file.handle, file.seed, 0,
                   static_cast<uint32_t>(std::min<uint64_t>(kSavedBytes, file.size)), FILE_SYNC,
                   s_.pattern(), std::move(done));
    }
    return true;
  }

 private:
  Session& s_;
  const std::vector<Directory>& tree_;
  std::mt19937_64 random_{11};
};

// Per 100 operations: 60 of `ide`, 25 hot-set reads, 15 sequential 1 MiB
// reads; the runner keeps --inflight of them going on each connection.
class Concurrent : public Workload {
 public:
  explicit Concurrent(Session& s)
      : ide_(MakeIde(s)), hot_(MakeWorkingSet(s)), sequential_(MakeSeqRead(s)) {}

  bool Start(Connection& c, Done done) override {
    const auto dice = random_() % 100;
    Workload& pick = dice < 60 ? *ide_ : dice < 85 ? *hot_ : *sequential_;
    return pick.Start(c, std::move(done));
  }

 private:
  std::unique_ptr<Workload> ide_;
  std::unique_ptr<Workload> hot_;
  std::unique_ptr<Workload> sequential_;
  std::mt19937_64 random_{13};
};

}  // namespace

std::unique_ptr<Workload> MakeIde(Session& s) { return std::make_unique<Ide>(s); }
std::unique_ptr<Workload> MakeConcurrent(Session& s) { return std::make_unique<Concurrent>(s); }

}  // namespace bench
