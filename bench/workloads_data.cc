// The data workloads: sequential and 4 KiB random I/O on the big file, and
// re-reads of the hot set.
#include <random>

#include "bench/operations.h"
#include "bench/workloads.h"

namespace bench {
namespace {

constexpr uint32_t kSmallBlock = 4096;
constexpr uint32_t kHotRead = 128 << 10;

// 1 MiB UNSTABLE WRITEs from the start of the file, wrapping at its end,
// then one COMMIT (timed).
class SeqWrite : public Workload {
 public:
  explicit SeqWrite(Session& s) : s_(s), file_(s.SeqFileForWriting()) {}

  bool Start(Connection& c, Done done) override {
    const uint64_t offset = next_ % s_.options().size;
    next_ += Pattern::kBlock;
    WritePattern(c, file_, Session::kSeqSeed, offset, Pattern::kBlock, UNSTABLE, s_.pattern(),
                 std::move(done));
    return true;
  }
  void Finish(Connection& c, const Done& done) override {
    Commit(c, file_, [this, done](Outcome o) {
      if (o.error.empty()) s_.SeqWritten(std::min(next_, s_.options().size));
      done(std::move(o));
    });
  }

 private:
  Session& s_;
  const Handle& file_;
  uint64_t next_ = 0;
};

// 1 MiB READs from the start of the file, wrapping at its end.
class SeqRead : public Workload {
 public:
  explicit SeqRead(Session& s) : s_(s), file_(s.SeqFile()) {}

  bool Start(Connection& c, Done done) override {
    const uint64_t offset = next_ % s_.options().size;
    next_ += Pattern::kBlock;
    ReadChecked(c, file_, Session::kSeqSeed, offset, Pattern::kBlock, s_.pattern(),
                std::move(done));
    return true;
  }

 private:
  Session& s_;
  const Handle& file_;
  uint64_t next_ = 0;
};

// 4 KiB READs or UNSTABLE WRITEs (then a COMMIT) at random aligned offsets.
class Random4k : public Workload {
 public:
  Random4k(Session& s, bool write) : s_(s), file_(s.SeqFile()), write_(write) {}

  bool Start(Connection& c, Done done) override {
    const uint64_t offset = random_() % (s_.options().size / kSmallBlock) * kSmallBlock;
    if (write_) {
      WritePattern(c, file_, Session::kSeqSeed, offset, kSmallBlock, UNSTABLE, s_.pattern(),
                   std::move(done));
    } else {
      ReadChecked(c, file_, Session::kSeqSeed, offset, kSmallBlock, s_.pattern(), std::move(done));
    }
    return true;
  }
  void Finish(Connection& c, const Done& done) override {
    if (write_) {
      Commit(c, file_, done);
    } else {
      done({});
    }
  }

 private:
  Session& s_;
  const Handle& file_;
  bool write_;
  std::mt19937_64 random_{42};
};

// 128 KiB READs at random offsets of random files of the hot set.
class WorkingSet : public Workload {
 public:
  explicit WorkingSet(Session& s) : s_(s), hot_(s.HotSet()) {}

  bool Start(Connection& c, Done done) override {
    const File& file = hot_.files[random_() % hot_.files.size()];
    const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(kHotRead, file.size));
    const uint64_t offset = random_() % (file.size / count) * count;
    ReadChecked(c, file.handle, file.seed, offset, count, s_.pattern(), std::move(done));
    return true;
  }

 private:
  Session& s_;
  const Directory& hot_;
  std::mt19937_64 random_{7};
};

}  // namespace

std::unique_ptr<Workload> MakeSeqWrite(Session& s) { return std::make_unique<SeqWrite>(s); }
std::unique_ptr<Workload> MakeSeqRead(Session& s) { return std::make_unique<SeqRead>(s); }
std::unique_ptr<Workload> MakeRandRead4k(Session& s) {
  return std::make_unique<Random4k>(s, /*write=*/false);
}
std::unique_ptr<Workload> MakeRandWrite4k(Session& s) {
  return std::make_unique<Random4k>(s, /*write=*/true);
}
std::unique_ptr<Workload> MakeWorkingSet(Session& s) { return std::make_unique<WorkingSet>(s); }

}  // namespace bench
