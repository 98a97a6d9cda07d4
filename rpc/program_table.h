// The dispatch table of an RPC server: every (program, version, procedure)
// it serves, the handler that answers it, and how the handler runs. The
// server keeps its table in one place, read top to bottom (server/
// procedures.cc); this header only knows how to search one and what to
// answer when the search fails (RFC 5531 §9: PROG_UNAVAIL, PROG_MISMATCH
// with the versions served, PROC_UNAVAIL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rpc/rpc_message.h"

namespace rpc {

// Where a handler runs: kInline on the connection's I/O thread (cheap
// metadata answered from caches), kWorker on the worker pool (anything that
// reads or writes file content or changes the tree), kDiskWait on the
// larger pool of threads that mostly wait for the disk (COMMIT's fsync):
// there many commits wait at once, which the file system turns into one
// journal commit, and none of them holds up a worker's READ. Where fsync
// costs next to nothing (tmpfs) the server runs kDiskWait calls on the
// workers instead.
enum class Dispatch { kInline, kWorker, kDiskWait };

template <typename Handler>
struct Procedure {
  uint32_t program;
  uint32_t version;
  uint32_t procedure;
  const char* name;
  Handler handler;
  Dispatch dispatch;
  // Non-idempotent procedures go through the duplicate-request cache, so a
  // retransmission gets the first reply instead of a second execution.
  bool non_idempotent;
  // For calls whose reply may be large (READ): the most memory the reply
  // to these arguments can take, counted against the bound on calls in
  // flight from the moment the call is read. Null: the reply is small.
  size_t (*reply_bound)(XdrReader args) = nullptr;
};

template <typename Handler>
struct Lookup {
  const Procedure<Handler>* procedure = nullptr;  // set when found
  AcceptStat miss = AcceptStat::kSuccess;         // otherwise why not
  uint32_t low_version = 0;                       // for kProgMismatch
  uint32_t high_version = 0;
};

template <typename Handler>
Lookup<Handler> FindProcedure(std::span<const Procedure<Handler>> table, uint32_t program,
                              uint32_t version, uint32_t procedure) {
  Lookup<Handler> result;
  bool program_known = false;
  bool version_known = false;
  for (const Procedure<Handler>& p : table) {
    if (p.program != program) continue;
    if (!program_known || p.version < result.low_version) result.low_version = p.version;
    if (!program_known || p.version > result.high_version) result.high_version = p.version;
    program_known = true;
    if (p.version != version) continue;
    version_known = true;
    if (p.procedure == procedure) {
      result.procedure = &p;
      return result;
    }
  }
  result.miss = !program_known   ? AcceptStat::kProgUnavail
                : !version_known ? AcceptStat::kProgMismatch
                                 : AcceptStat::kProcUnavail;
  return result;
}

}  // namespace rpc
