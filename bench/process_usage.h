// CPU time and memory of a process, read from /proc, so that each
// workload's figures include what the server, and the client (the bench
// itself), spent on them.
#ifndef VAULTNFS_BENCH_PROCESS_USAGE_H_
#define VAULTNFS_BENCH_PROCESS_USAGE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace bench {

struct ProcessUsage {
  double cpu_seconds = 0;     // user + system, all threads, since it started
  uint64_t rss_kib = 0;       // resident now (VmRSS)
  uint64_t peak_rss_kib = 0;  // highest resident so far (VmHWM)
};

// Nothing when the process is gone or /proc cannot be read.
std::optional<ProcessUsage> ReadProcessUsage(pid_t pid);

}  // namespace bench

#endif  // VAULTNFS_BENCH_PROCESS_USAGE_H_
