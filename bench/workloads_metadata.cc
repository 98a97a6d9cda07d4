// The metadata workloads: NULL, GETATTR, LOOKUP, whole READDIRPLUS
// listings, creating small files and removing them.
#include <cstdio>
#include <random>

#include "bench/operations.h"
#include "bench/workloads.h"

namespace bench {
namespace {

constexpr uint64_t kCreatedSize = 4096;

// The floor under every call's latency: what the client, loopback TCP and
// the server's RPC layer cost with no procedure behind them.
class NullCalls : public Workload {
 public:
  bool Start(Connection& c, Done done) override {
    Null(c, std::move(done));
    return true;
  }
};

class GetAttrOfOneFile : public Workload {
 public:
  explicit GetAttrOfOneFile(Session& s)
      : file_(s.EntriesDirectory(s.options().files).files.front().handle) {}

  bool Start(Connection& c, Done done) override {
    GetAttr(c, file_, std::move(done));
    return true;
  }

 private:
  const Handle& file_;
};

// LOOKUPs of random names in the directory of Options::files files.
class LookupInDirectory : public Workload {
 public:
  explicit LookupInDirectory(Session& s) : dir_(s.EntriesDirectory(s.options().files)) {}

  bool Start(Connection& c, Done done) override {
    LookupName(c, dir_.handle, dir_.files[random_() % dir_.files.size()].name, std::move(done));
    return true;
  }

 private:
  const Directory& dir_;
  std::mt19937_64 random_{3};
};

class ListWholeDirectory : public Workload {
 public:
  ListWholeDirectory(Session& s, uint64_t entries)
      : dir_(s.EntriesDirectory(entries)), entries_(entries) {}

  bool Start(Connection& c, Done done) override {
    ListDirectory(c, dir_.handle, entries_, std::move(done));
    return true;
  }

 private:
  const Directory& dir_;
  uint64_t entries_;
};

// CREATE + 4 KiB WRITE + COMMIT of new files in a fresh directory; the
// files stay for `remove`.
class CreateSmallFiles : public Workload {
 public:
  explicit CreateSmallFiles(Session& s) : s_(s), dir_(s.FreshDirectory("create")) {}

  bool Start(Connection& c, Done done) override {
    char name[32];
    std::snprintf(name, sizeof name, "new-%07llu", static_cast<unsigned long long>(next_));
    File& file =
        s_.created().emplace_back(CreatedFile{dir_, {name, 9'000'000 + next_, kCreatedSize}}).file;
    ++next_;
    CreateWithContent(
        c, dir_, file.name, file.seed, file.size, s_.pattern(),
        [&file](Handle h) { file.handle = std::move(h); }, std::move(done));
    return true;
  }

 private:
  Session& s_;
  Handle dir_;
  uint64_t next_ = 0;
};

// REMOVE of what `create` made (or, when it did not run, of Options::files
// files made for the purpose), until none is left.
class RemoveFiles : public Workload {
 public:
  explicit RemoveFiles(Session& s) {
    if (s.created().empty()) {
      std::vector<File> files;
      for (uint64_t i = 0; i < s.options().files; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "doomed-%07llu", static_cast<unsigned long long>(i));
        files.push_back({name, 8'000'000 + i, kCreatedSize});
      }
      const Handle dir = s.FreshDirectory("create");
      s.Populate(dir, files);
      for (File& f : files) s.created().push_back({dir, std::move(f)});
    }
    files_.swap(s.created());
  }

  bool Start(Connection& c, Done done) override {
    if (next_ == files_.size()) return false;
    const CreatedFile& doomed = files_[next_];
    RemoveName(c, doomed.dir, doomed.file.name, std::move(done));
    ++next_;
    return true;
  }

 private:
  std::deque<CreatedFile> files_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<Workload> MakeNull(Session&) { return std::make_unique<NullCalls>(); }
std::unique_ptr<Workload> MakeGetAttr(Session& s) { return std::make_unique<GetAttrOfOneFile>(s); }
std::unique_ptr<Workload> MakeLookup(Session& s) { return std::make_unique<LookupInDirectory>(s); }
std::unique_ptr<Workload> MakeReadDirPlus(Session& s, uint64_t entries) {
  return std::make_unique<ListWholeDirectory>(s, entries);
}
std::unique_ptr<Workload> MakeCreate(Session& s) { return std::make_unique<CreateSmallFiles>(s); }
std::unique_ptr<Workload> MakeRemove(Session& s) { return std::make_unique<RemoveFiles>(s); }

}  // namespace bench
