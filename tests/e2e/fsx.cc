// fsx: a file-system exerciser in the spirit of the classic fsx. It applies
// the same random reads, writes, truncates and extensions to a file on the
// file system under test and to a reference file on a trusted one, and
// compares the two after every step; a difference stops it with the recent
// history of operations.
//
// Some operations go through a second descriptor opened with O_DIRECT (on
// NFS: straight to the server, past the client's page cache), and from time
// to time the file is synced, its cached pages dropped or the descriptors
// reopened, so that the server sees reads and writes of every shape rather
// than only the client's cache.
//
// Usage: fsx [--ops N] [--seed S] [--max-size BYTES] [--max-io BYTES] TEST_FILE REFERENCE_FILE
// Exit status: 0 when every comparison matched, 1 on a mismatch or an I/O
// error, 2 on a usage error.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  uint64_t ops = 10000;
  uint64_t seed = 1;
  uint64_t max_size = 1 << 20;
  uint64_t max_io = 64 << 10;
  const char* test_path = nullptr;
  const char* reference_path = nullptr;
};

enum class Op {
  kRead,
  kWrite,
  kDirectRead,
  kDirectWrite,
  kTruncate,
  kExtend,
  kSync,
  kDropCache,
  kReopen
};

constexpr const char* kOpNames[] = {"read",   "write", "direct-read", "direct-write", "truncate",
                                    "extend", "sync",  "drop-cache",  "reopen"};
// Relative frequencies, in the order of Op.
constexpr int kOpWeights[] = {25, 30, 8, 8, 6, 5, 4, 4, 2};

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fsx: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

class Exerciser {
 public:
  explicit Exerciser(const Options& options) : options_(options), rng_(options.seed) {
    Open(O_TRUNC);
    scratch_a_.resize(2 * options.max_io);
    scratch_b_.resize(2 * options.max_io);
  }
  ~Exerciser() { Close(); }
  Exerciser(const Exerciser&) = delete;
  Exerciser& operator=(const Exerciser&) = delete;

  // Runs every operation; returns false at the first mismatch.
  bool Run() {
    std::discrete_distribution<int> pick(std::begin(kOpWeights), std::end(kOpWeights));
    for (uint64_t step = 1; step <= options_.ops; ++step) {
      const auto op = static_cast<Op>(pick(rng_));
      const auto start = std::chrono::steady_clock::now();
      if (!Apply(op, step)) return false;
      seconds_[static_cast<int>(op)] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      // Every step checks the size and the range it touched; every 500th
      // and the last compare the whole file as the server has it.
      if ((step % 500 == 0 || step == options_.ops) && !CompareWhole(step)) return false;
      if (step % 5000 == 0) {
        std::fprintf(stderr, "fsx: %" PRIu64 " of %" PRIu64 " operations done\n", step,
                     options_.ops);
      }
    }
    std::printf("fsx: %" PRIu64 " operations, seed %" PRIu64 ", final size %" PRIu64 ":",
                options_.ops, options_.seed, size_);
    for (size_t i = 0; i < std::size(kOpNames); ++i) {
      std::printf(" %s %" PRIu64 " (%.1f ms)", kOpNames[i], counts_[i],
                  counts_[i] == 0 ? 0.0 : 1000 * seconds_[i] / static_cast<double>(counts_[i]));
    }
    std::printf("; all comparisons matched\n");
    return true;
  }

 private:
  void Open(int extra_flags) {
    test_ = open(options_.test_path, O_RDWR | O_CREAT | extra_flags, 0644);
    test_direct_ = open(options_.test_path, O_RDWR | O_DIRECT);
    reference_ = open(options_.reference_path, O_RDWR | O_CREAT | extra_flags, 0644);
    if (test_ < 0 || test_direct_ < 0 || reference_ < 0) Die("cannot open the files");
  }
  void Close() {
    for (int* fd : {&test_, &test_direct_, &reference_}) {
      if (*fd >= 0 && close(*fd) != 0) Die("close");
      *fd = -1;
    }
  }

  uint64_t Random(uint64_t bound) { return bound == 0 ? 0 : rng_() % bound; }

  void Record(uint64_t step, Op op, uint64_t offset, uint64_t length) {
    char line[128];
    std::snprintf(line, sizeof(line),
                  "%6" PRIu64 " %-12s offset %8" PRIu64 " length %7" PRIu64 " (size before %" PRIu64
                  ")",
                  step, kOpNames[static_cast<int>(op)], offset, length, size_);
    history_.emplace_back(line);
    if (history_.size() > 32) history_.pop_front();
    ++counts_[static_cast<int>(op)];
  }

  static void WriteAll(int fd, const uint8_t* data, uint64_t length, uint64_t offset) {
    while (length > 0) {
      const ssize_t n = pwrite(fd, data, length, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Die("pwrite");
      data += n;
      length -= static_cast<uint64_t>(n);
      offset += static_cast<uint64_t>(n);
    }
  }
  // Reads up to `length` bytes; fewer only at end of file.
  static uint64_t ReadAll(int fd, uint8_t* data, uint64_t length, uint64_t offset) {
    uint64_t got = 0;
    while (got < length) {
      const ssize_t n = pread(fd, data + got, length - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Die("pread");
      if (n == 0) break;
      got += static_cast<uint64_t>(n);
    }
    return got;
  }

  bool Apply(Op op, uint64_t step) {
    const uint64_t length = 1 + Random(options_.max_io);
    switch (op) {
      case Op::kRead:
      case Op::kDirectRead: {
        const uint64_t offset = Random(size_ + 1);
        Record(step, op, offset, length);
        return CompareRange(op == Op::kDirectRead ? test_direct_ : test_, offset, length, step);
      }
      case Op::kWrite:
      case Op::kDirectWrite:
      case Op::kExtend: {
        // An extension starts past the end and leaves a hole that must read
        // as zeros.
        const uint64_t offset =
            op == Op::kExtend ? size_ + Random(options_.max_io * 4)
                              : Random(options_.max_size > length ? options_.max_size - length : 1);
        if (offset + length > options_.max_size + options_.max_io * 4) return true;
        Record(step, op, offset, length);
        std::vector<uint8_t> data(length);
        for (auto& byte : data) byte = static_cast<uint8_t>(rng_());
        WriteAll(op == Op::kDirectWrite ? test_direct_ : test_, data.data(), length, offset);
        WriteAll(reference_, data.data(), length, offset);
        size_ = std::max(size_, offset + length);
        return CheckSize(step) && CompareRange(test_, offset, length, step);
      }
      case Op::kTruncate: {
        const uint64_t new_size = Random(options_.max_size + 1);
        Record(step, op, new_size, 0);
        if (ftruncate(test_, static_cast<off_t>(new_size)) != 0) Die("ftruncate");
        if (ftruncate(reference_, static_cast<off_t>(new_size)) != 0) Die("ftruncate");
        size_ = new_size;
        // The bytes around the new end: growing must read zeros there.
        return CheckSize(step) &&
               CompareRange(test_, new_size > options_.max_io ? new_size - options_.max_io : 0,
                            2 * options_.max_io, step);
      }
      case Op::kSync:
        Record(step, op, 0, 0);
        if (fsync(test_) != 0) Die("fsync");
        // With nothing dirty, the full attributes are the server's.
        if (struct stat st; fstat(test_, &st) != 0 || static_cast<uint64_t>(st.st_size) != size_) {
          return Mismatch(step,
                          "after fsync the server reports size %" PRIu64 ", expected %" PRIu64,
                          static_cast<uint64_t>(st.st_size), size_);
        }
        return CheckSize(step);
      case Op::kDropCache:
        // Clean pages only: dirty ones stay until written back.
        Record(step, op, 0, 0);
        if (fdatasync(test_) != 0) Die("fdatasync");
        if (posix_fadvise(test_, 0, 0, POSIX_FADV_DONTNEED) != 0) Die("posix_fadvise");
        return CheckSize(step);
      case Op::kReopen:
        Record(step, op, 0, 0);
        Close();
        Open(0);
        return CheckSize(step);
    }
    return true;
  }

  // Asks only for the size: on NFS, a request for the times would first
  // write back every dirty page, and every step would become a sync.
  bool CheckSize(uint64_t step) {
    struct statx test_stat;
    struct statx reference_stat;
    if (statx(test_, "", AT_EMPTY_PATH, STATX_SIZE, &test_stat) != 0 ||
        statx(reference_, "", AT_EMPTY_PATH, STATX_SIZE, &reference_stat) != 0) {
      Die("statx");
    }
    if (test_stat.stx_size == size_ && reference_stat.stx_size == size_) return true;
    return Mismatch(step, "size: test file %" PRIu64 ", reference %" PRIu64 ", expected %" PRIu64,
                    static_cast<uint64_t>(test_stat.stx_size),
                    static_cast<uint64_t>(reference_stat.stx_size), size_);
  }

  bool CompareRange(int test_fd, uint64_t offset, uint64_t length, uint64_t step) {
    const uint64_t got_test = ReadAll(test_fd, scratch_a_.data(), length, offset);
    const uint64_t got_reference = ReadAll(reference_, scratch_b_.data(), length, offset);
    if (got_test != got_reference) {
      return Mismatch(step, "read at %" PRIu64 " returned %" PRIu64 " bytes, reference %" PRIu64,
                      offset, got_test, got_reference);
    }
    if (std::memcmp(scratch_a_.data(), scratch_b_.data(), got_test) != 0) {
      uint64_t first = 0;
      while (scratch_a_[first] == scratch_b_[first]) ++first;
      return Mismatch(step, "data differs at byte %" PRIu64 " (test 0x%02x, reference 0x%02x)",
                      offset + first, scratch_a_[first], scratch_b_[first]);
    }
    return true;
  }

  bool CompareWhole(uint64_t step) {
    for (uint64_t offset = 0; offset < size_; offset += options_.max_io) {
      if (!CompareRange(test_direct_, offset, options_.max_io, step)) return false;
    }
    return CheckSize(step);
  }

  template <typename... Args>
  bool Mismatch(uint64_t step, const char* format, Args... args) {
    std::fprintf(stderr, "fsx: MISMATCH at operation %" PRIu64 " (seed %" PRIu64 "): ", step,
                 options_.seed);
    std::fprintf(stderr, format, args...);
    std::fprintf(stderr, "\nfsx: the last operations:\n");
    for (const std::string& line : history_) std::fprintf(stderr, "  %s\n", line.c_str());
    return false;
  }

  const Options options_;
  std::mt19937_64 rng_;
  int test_ = -1;
  int test_direct_ = -1;
  int reference_ = -1;
  uint64_t size_ = 0;
  std::vector<uint8_t> scratch_a_;
  std::vector<uint8_t> scratch_b_;
  std::deque<std::string> history_;
  uint64_t counts_[std::size(kOpNames)] = {};
  double seconds_[std::size(kOpNames)] = {};  // time spent in each kind
};

bool ParseNumber(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  *out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0';
}

int Usage() {
  std::fprintf(stderr,
               "usage: fsx [--ops N] [--seed S] [--max-size BYTES] [--max-io BYTES] TEST_FILE "
               "REFERENCE_FILE\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::vector<const char*> files;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    uint64_t* target = arg == "--ops"        ? &options.ops
                       : arg == "--seed"     ? &options.seed
                       : arg == "--max-size" ? &options.max_size
                       : arg == "--max-io"   ? &options.max_io
                                             : nullptr;
    if (arg == "--help" || arg == "-h") {
      Usage();
      return 0;
    }
    if (target != nullptr) {
      if (i + 1 >= argc || !ParseNumber(argv[++i], target)) return Usage();
    } else if (arg.starts_with("-")) {
      return Usage();
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.size() != 2 || options.max_io == 0 || options.max_size == 0) return Usage();
  options.test_path = files[0];
  options.reference_path = files[1];
  Exerciser exerciser(options);
  return exerciser.Run() ? 0 : 1;
}
