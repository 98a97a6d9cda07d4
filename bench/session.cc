#include "bench/session.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "bench/operations.h"
#include "bench/runner.h"

namespace bench {
namespace {

constexpr int kSetupInflight = 16;

std::string Numbered(const char* format, uint64_t n) {
  char name[64];
  std::snprintf(name, sizeof name, format, static_cast<unsigned long long>(n));
  return name;
}

void ThrowIfFailed(const Measurement& m, const std::string& what) {
  if (m.errors > 0) throw std::runtime_error(what + ": " + m.first_error);
}

// Creates a list of files with their content.
class PopulateWorkload : public Workload {
 public:
  PopulateWorkload(const Handle& dir, std::vector<File>& files, const Pattern& pattern)
      : dir_(dir), files_(files), pattern_(pattern) {}

  bool Start(Connection& c, Done done) override {
    if (next_ == files_.size()) return false;
    File& file = files_[next_++];
    CreateWithContent(
        c, dir_, file.name, file.seed, file.size, pattern_,
        [&file](Handle h) { file.handle = std::move(h); }, std::move(done));
    return true;
  }

 private:
  const Handle& dir_;
  std::vector<File>& files_;
  const Pattern& pattern_;
  size_t next_ = 0;
};

// Writes the sequential file's pattern from `from` to its end, then COMMITs.
class SeqFillWorkload : public Workload {
 public:
  SeqFillWorkload(const Handle& file, uint64_t from, uint64_t size, const Pattern& pattern)
      : file_(file), next_(from), size_(size), pattern_(pattern) {}

  bool Start(Connection& c, Done done) override {
    if (next_ >= size_) return false;
    WritePattern(c, file_, Session::kSeqSeed, next_, Pattern::kBlock, UNSTABLE, pattern_,
                 std::move(done));
    next_ += Pattern::kBlock;
    return true;
  }
  void Finish(Connection& c, const Done& done) override { Commit(c, file_, done); }

 private:
  const Handle& file_;
  uint64_t next_;
  uint64_t size_;
  const Pattern& pattern_;
};

}  // namespace

Session::Session(const Target& target, const Options& options)
    : target_(target), options_(options) {
  options_.size = (options_.size + Pattern::kBlock - 1) / Pattern::kBlock * Pattern::kBlock;
  root_ = MountRoot(target_);
  connections_.push_back(std::make_unique<Connection>(target_.host, target_.nfs_port));
  work_ = MakeDirectory(main(), root_, options_.dir);
}

std::vector<Connection*> Session::Connections(int n) {
  while (static_cast<int>(connections_.size()) < n) {
    connections_.push_back(std::make_unique<Connection>(target_.host, target_.nfs_port));
  }
  std::vector<Connection*> first;
  first.reserve(n);
  for (int i = 0; i < n; ++i) first.push_back(connections_[i].get());
  return first;
}

void Session::Populate(const Handle& dir, std::vector<File>& files) {
  PopulateWorkload populate(dir, files, pattern_);
  Connection* c = &main();
  ThrowIfFailed(Run(populate, std::span(&c, 1), kSetupInflight, 0), "preparing files");
}

const Handle& Session::SeqFileForWriting() {
  if (seq_file_.empty()) {
    std::vector<File> file{{"seq.bin", 0, 0}};
    Populate(work_, file);
    seq_file_ = file.front().handle;
    seq_valid_ = 0;
  }
  return seq_file_;
}

void Session::SeqWritten(uint64_t bytes) { seq_valid_ = std::max(seq_valid_, bytes); }

const Handle& Session::SeqFile() {
  SeqFileForWriting();
  if (seq_valid_ < options_.size) {
    if (options_.verbose) {
      std::fprintf(stderr, "preparing seq.bin (%llu MiB)\n",
                   static_cast<unsigned long long>(options_.size >> 20));
    }
    SeqFillWorkload fill(seq_file_, seq_valid_, options_.size, pattern_);
    Connection* c = &main();
    ThrowIfFailed(Run(fill, std::span(&c, 1), 8, 0), "writing seq.bin");
    seq_valid_ = options_.size;
  }
  return seq_file_;
}

const Directory& Session::EntriesDirectory(uint64_t n) {
  for (size_t i = 0; i < entries_dir_sizes_.size(); ++i) {
    if (entries_dir_sizes_[i] == n) return *entries_dirs_[i];
  }
  const std::string name = Numbered("dir-%llu", n);
  const auto start = std::chrono::steady_clock::now();
  auto dir = std::make_unique<Directory>();
  dir->handle = MakeDirectory(main(), work_, name);
  dir->files.resize(n);
  for (uint64_t i = 0; i < n; ++i) dir->files[i].name = Numbered("file-%06llu", i);
  if (options_.verbose) std::fprintf(stderr, "preparing %s\n", name.c_str());
  Populate(dir->handle, dir->files);
  if (options_.verbose) {
    std::fprintf(stderr, "  %llu files in %.1f s\n", static_cast<unsigned long long>(n),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  entries_dir_sizes_.push_back(n);
  entries_dirs_.push_back(std::move(dir));
  return *entries_dirs_.back();
}

const std::vector<Directory>& Session::SourceTree() {
  if (!source_tree_.empty()) return source_tree_;
  constexpr int kPackages = 20;
  constexpr int kFilesPerPackage = 50;
  if (options_.verbose) std::fprintf(stderr, "preparing ide (1,000 source files)\n");
  const Handle tree = MakeDirectory(main(), work_, "ide");
  source_tree_.resize(kPackages);
  for (int p = 0; p < kPackages; ++p) {
    Directory& package = source_tree_[p];
    package.handle = MakeDirectory(main(), tree, Numbered("pkg%02llu", static_cast<uint64_t>(p)));
    for (int i = 0; i < kFilesPerPackage; ++i) {
      const uint64_t seed = 1000 + p * 100 + i;
      package.files.emplace_back(Numbered("src_%03llu.cc", i), seed, 1024 + seed * 7919 % 15361);
    }
    Populate(package.handle, package.files);
  }
  return source_tree_;
}

const Directory& Session::HotSet() {
  if (hot_set_) return *hot_set_;
  if (options_.verbose) std::fprintf(stderr, "preparing hot (working set)\n");
  hot_set_ = std::make_unique<Directory>();
  hot_set_->handle = MakeDirectory(main(), work_, "hot");
  for (uint64_t i = 0; i < options_.hot_files; ++i) {
    hot_set_->files.emplace_back(Numbered("blob-%03llu.bin", i), 5000 + i, options_.hot_file_size);
  }
  Populate(hot_set_->handle, hot_set_->files);
  return *hot_set_;
}

Handle Session::FreshDirectory(const std::string& prefix) {
  return MakeDirectory(main(), work_,
                       prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(++fresh_));
}

}  // namespace bench
