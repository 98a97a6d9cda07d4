#include "bench/workloads.h"

#include <functional>
#include <stdexcept>

namespace bench {
namespace {

struct Entry {
  WorkloadInfo info;
  std::function<std::vector<Case>(Session&)> make;
};

// A case on the session's first connection.
std::vector<Case> One(std::string_view name, Session& s,
                      std::unique_ptr<Workload> (*make)(Session&)) {
  std::vector<Case> cases;
  cases.push_back({std::string(name), "", make(s), s.Connections(1)});
  return cases;
}

const std::vector<Entry>& Table() {
  static const std::vector<Entry> table = {
      {{"null", "NULL calls: the round trip of a call that does no work"},
       [](Session& s) { return One("null", s, MakeNull); }},
      {{"seqwrite", "1 MiB UNSTABLE WRITEs through --size, then COMMIT"},
       [](Session& s) { return One("seqwrite", s, MakeSeqWrite); }},
      {{"seqread", "1 MiB READs through --size, every byte checked"},
       [](Session& s) { return One("seqread", s, MakeSeqRead); }},
      {{"randread4k", "4 KiB READs at random offsets, checked"},
       [](Session& s) { return One("randread4k", s, MakeRandRead4k); }},
      {{"randwrite4k", "4 KiB UNSTABLE WRITEs at random offsets, then COMMIT"},
       [](Session& s) { return One("randwrite4k", s, MakeRandWrite4k); }},
      {{"getattr", "GETATTR of one file"},
       [](Session& s) { return One("getattr", s, MakeGetAttr); }},
      {{"lookup", "LOOKUP of random names in a directory of --files files"},
       [](Session& s) { return One("lookup", s, MakeLookup); }},
      {{"readdirplus", "whole listings of directories of --files and --big-dir entries"},
       [](Session& s) {
         std::vector<Case> cases;
         for (const uint64_t entries : {s.options().files, s.options().big_dir}) {
           cases.push_back({"readdirplus", std::to_string(entries) + " entries",
                            MakeReadDirPlus(s, entries), s.Connections(1)});
         }
         return cases;
       }},
      {{"create", "CREATE + 4 KiB WRITE + COMMIT of new files"},
       [](Session& s) { return One("create", s, MakeCreate); }},
      {{"remove", "REMOVE of the files create made"},
       [](Session& s) { return One("remove", s, MakeRemove); }},
      {{"ide", "a source tree: stats, lookups, small reads, listings, a few saves"},
       [](Session& s) { return One("ide", s, MakeIde); }},
      {{"working-set", "128 KiB re-reads of a hot set of files"},
       [](Session& s) { return One("working-set", s, MakeWorkingSet); }},
      {{"concurrent", "--clients connections at once, each mixing ide, hot and sequential reads"},
       [](Session& s) {
         std::vector<Case> cases;
         cases.push_back({"concurrent", std::to_string(s.options().clients) + " clients",
                          MakeConcurrent(s), s.Connections(s.options().clients)});
         return cases;
       }},
  };
  return table;
}

}  // namespace

const std::vector<WorkloadInfo>& Workloads() {
  static const std::vector<WorkloadInfo> infos = [] {
    std::vector<WorkloadInfo> v;
    for (const Entry& e : Table()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

std::vector<Case> MakeCases(std::string_view name, Session& s) {
  for (const Entry& e : Table()) {
    if (e.info.name == name) return e.make(s);
  }
  throw std::runtime_error("unknown workload '" + std::string(name) + "'");
}

}  // namespace bench
