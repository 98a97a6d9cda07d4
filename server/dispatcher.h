// The RPC layer of one export, above the transport: decodes a call,
// enforces the security policy (reserved source port, AUTH_SYS, allowed
// uids), finds the procedure in the table, consults the duplicate-request
// cache, and either answers at once or says the call must run on a worker.
// It knows nothing of sockets, so tests and fuzzers drive it directly.
//
// Thread-safe: Prepare runs on the I/O thread, Execute on workers.
#pragma once

#include <cstdint>
#include <string>

#include "server/call.h"
#include "server/export.h"
#include "server/procedure_stats.h"

namespace server {

struct ClientInfo {
  std::string address;  // "127.0.0.1"
  uint16_t port = 0;
};

struct DispatchOptions {
  // Accept calls from source ports >= 1024 (libnfs as non-root, rootless
  // containers, macOS without resvport).
  bool insecure = false;
};

class Dispatcher {
 public:
  Dispatcher(Export& exp, DispatchOptions options);

  enum class Next {
    kReply,          // call.reply is complete: send it
    kRunOnWorker,    // call Execute(call) on a worker, then send
    kRunOnDiskWait,  // the same on a disk-wait thread
    kDrop,           // send nothing (not a call, or a retransmission in progress)
  };
  Next Prepare(Call& call, const ClientInfo& client);
  // Runs the procedure Prepare chose and completes the reply. The procedure
  // may leave work in call.after_reply: the caller sends the reply, then
  // runs it, keeping call.record alive until it returns.
  void Execute(Call& call);

  Export& exp() { return exp_; }
  const ProcedureStats& stats() const { return stats_; }

 private:
  // `on_worker`: the handler may leave work for after the reply.
  void RunHandler(Call& call, bool on_worker);
  // Logs a refused client once per address and reason, not once per call.
  void LogRefusal(const ClientInfo& client, const std::string& why);

  Export& exp_;
  const DispatchOptions options_;
  ProcedureStats stats_;
  std::mutex refusals_mutex_;
  std::vector<std::string> refusals_logged_;
};

}  // namespace server
