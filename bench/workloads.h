// The workloads vaultnfs-bench measures, in one table (workloads.cc) read
// top to bottom, each made by one function below. A workload prepares the
// data it needs through the Session when it is made; what it measures is
// what its operations do once the runner starts them.
#ifndef VAULTNFS_BENCH_WORKLOADS_H_
#define VAULTNFS_BENCH_WORKLOADS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/runner.h"
#include "bench/session.h"

namespace bench {

// One measured run: a workload, and the connections it runs on.
struct Case {
  std::string name;       // e.g. "readdirplus"
  std::string parameter;  // e.g. "1000 entries"; empty for most
  std::unique_ptr<Workload> workload;
  std::vector<Connection*> connections;
};

struct WorkloadInfo {
  std::string_view name;
  std::string_view description;
};

// Every workload, in the order `all` runs them.
const std::vector<WorkloadInfo>& Workloads();

// The cases of workload `name` (readdirplus has one per directory size),
// with their data prepared. Throws for an unknown name.
std::vector<Case> MakeCases(std::string_view name, Session& s);

// workloads_data.cc
std::unique_ptr<Workload> MakeSeqWrite(Session& s);
std::unique_ptr<Workload> MakeSeqRead(Session& s);
std::unique_ptr<Workload> MakeRandRead4k(Session& s);
std::unique_ptr<Workload> MakeRandWrite4k(Session& s);
std::unique_ptr<Workload> MakeWorkingSet(Session& s);

// workloads_metadata.cc
std::unique_ptr<Workload> MakeNull(Session& s);
std::unique_ptr<Workload> MakeGetAttr(Session& s);
std::unique_ptr<Workload> MakeLookup(Session& s);
std::unique_ptr<Workload> MakeReadDirPlus(Session& s, uint64_t entries);
std::unique_ptr<Workload> MakeCreate(Session& s);
std::unique_ptr<Workload> MakeRemove(Session& s);

// workloads_mixed.cc
std::unique_ptr<Workload> MakeIde(Session& s);
std::unique_ptr<Workload> MakeConcurrent(Session& s);

}  // namespace bench

#endif  // VAULTNFS_BENCH_WORKLOADS_H_
