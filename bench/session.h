// One benchmark run against one server: its connections, its working
// directory, and the data the workloads share (the big sequential file,
// directories of N files, the source tree, the hot set), each made on first
// use through the server itself so that every target is measured on the
// same data.
//
// Everything lives under Options::dir in the export; nothing is removed
// afterwards except what `remove` removes (bench/compare serves fresh
// copies). Setup failures throw std::runtime_error.
#ifndef VAULTNFS_BENCH_SESSION_H_
#define VAULTNFS_BENCH_SESSION_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/nfs_client.h"
#include "bench/pattern.h"

namespace bench {

struct Options {
  std::string dir = "vaultnfs-bench";
  uint64_t size = 1ULL << 30;        // the sequential file, a multiple of 1 MiB
  uint64_t files = 1000;             // the lookup and small readdirplus directory
  uint64_t big_dir = 100'000;        // the large readdirplus directory
  int clients = 4;                   // connections in `concurrent`
  uint64_t hot_files = 32;           // working-set: files ...
  uint64_t hot_file_size = 1 << 20;  // ... of this size
  bool verbose = true;               // progress of setup on stderr
};

// A file the session made, with the seed of its content.
struct File {
  File() = default;
  File(std::string name, uint64_t seed, uint64_t size)
      : name(std::move(name)), seed(seed), size(size) {}

  std::string name;
  uint64_t seed = 0;
  uint64_t size = 0;
  Handle handle;  // once made
};

struct Directory {
  Handle handle;
  std::vector<File> files;
};

// A file made while measuring, and the directory it is in.
struct CreatedFile {
  Handle dir;
  File file;
};

class Session {
 public:
  static constexpr uint64_t kSeqSeed = 1;

  Session(const Target& target, const Options& options);

  const Options& options() const { return options_; }
  const Pattern& pattern() const { return pattern_; }
  Connection& main() { return *connections_.front(); }
  // The first n connections, opening more as needed.
  std::vector<Connection*> Connections(int n);

  // The sequential file, created empty; SeqFile() also fills it.
  const Handle& SeqFileForWriting();
  const Handle& SeqFile();
  // Records that [0, bytes) of the sequential file now holds its pattern.
  void SeqWritten(uint64_t bytes);

  // "dir-N": N empty files named file-000000 ...
  const Directory& EntriesDirectory(uint64_t n);
  // "ide": 20 packages of 50 source files of 1 to 16 KiB.
  const std::vector<Directory>& SourceTree();
  // "hot": Options::hot_files files of Options::hot_file_size bytes.
  const Directory& HotSet();
  // A fresh directory for files made while measuring.
  Handle FreshDirectory(const std::string& prefix);

  // Files `create` made and `remove` has not removed yet.
  std::deque<CreatedFile>& created() { return created_; }

  // Creates `files` in `dir` with their content (CREATE, WRITE, COMMIT),
  // many at once, and fills in their handles.
  void Populate(const Handle& dir, std::vector<File>& files);

 private:
  Target target_;
  Options options_;
  Pattern pattern_;
  std::vector<std::unique_ptr<Connection>> connections_;
  Handle root_;
  Handle work_;
  Handle seq_file_;
  uint64_t seq_valid_ = 0;
  std::vector<std::unique_ptr<Directory>> entries_dirs_;
  std::vector<uint64_t> entries_dir_sizes_;
  std::vector<Directory> source_tree_;
  std::unique_ptr<Directory> hot_set_;
  std::deque<CreatedFile> created_;
  int fresh_ = 0;
};

}  // namespace bench

#endif  // VAULTNFS_BENCH_SESSION_H_
