#include "server/dispatcher.h"

#include <algorithm>
#include <exception>

#include "server/nfs3_xdr.h"
#include "vaultcore/log.h"

namespace server {

using rpc::AcceptStat;
using rpc::AuthStat;
using vaultcore::Log;
using vaultcore::LogLevel;

namespace {
// Measured with the create workload (CREATE, WRITE, COMMIT) at 8 and 32 in
// flight: on tmpfs the hand-off to a disk-wait thread cost 15-30 % of the
// rate, on this machine's disk (fsync ~1 ms) it gained 12-57 %.
constexpr std::chrono::microseconds kWorthADiskWaitThread{100};

// Whether the results of `procedure` start with a status (nfsstat3,
// mountstat3) whose non-zero values are failures. Other results start with
// data: DUMP's and EXPORT's with a list's first "value follows".
bool ResultsStartWithStatus(const ProcedureEntry& procedure) {
  switch (procedure.program) {
    case nfs3::kProgram:
      return procedure.procedure != nfs3::kNull;
    case mount3::kProgram:
      return procedure.procedure == 1;  // MNT
    default:
      return false;
  }
}

}  // namespace

Dispatcher::Dispatcher(Export& exp, DispatchOptions options)
    : exp_(exp), options_(options), stats_(ProcedureTable()) {}

void Dispatcher::LogRefusal(const ClientInfo& client, const std::string& why) {
  {
    std::lock_guard lock(refusals_mutex_);
    const std::string key = client.address + " " + why;
    if (std::find(refusals_logged_.begin(), refusals_logged_.end(), key) !=
        refusals_logged_.end()) {
      return;
    }
    constexpr size_t kMaxRemembered = 256;
    if (refusals_logged_.size() >= kMaxRemembered) refusals_logged_.clear();
    refusals_logged_.push_back(key);
  }
  Log(LogLevel::kWarning,
      "refused client " + client.address + ":" + std::to_string(client.port) + ": " + why);
}

Dispatcher::Next Dispatcher::Prepare(Call& call, const ClientInfo& client) {
  rpc::XdrReader reader(call.record);
  rpc::XdrWriter out(call.reply);
  switch (rpc::DecodeCallHeader(reader, &call.header)) {
    case rpc::CallDecode::kNotACall:
      return Next::kDrop;
    case rpc::CallDecode::kRpcMismatch:
      rpc::EncodeRpcMismatchReply(out, call.header.xid);
      return Next::kReply;
    case rpc::CallDecode::kOk:
      break;
  }
  const uint32_t xid = call.header.xid;
  const bool is_null = call.header.procedure == 0;  // pings need no credentials
  call.caller.address = client.address;
  call.caller.flavor = call.header.credential.flavor;

  if (call.caller.flavor == rpc::kAuthSys) {
    auto params = rpc::DecodeAuthSys(call.header.credential.body);
    if (!params) {
      rpc::EncodeAuthErrorReply(out, xid, AuthStat::kBadCred);
      return Next::kReply;
    }
    call.caller.uid = params->uid;
    call.caller.gid = params->gid;
  } else if (call.caller.flavor != rpc::kAuthNone) {
    rpc::EncodeAuthErrorReply(out, xid, AuthStat::kBadCred);
    return Next::kReply;
  }
  if (!is_null) {
    std::string refusal;
    if (!options_.insecure && client.port >= 1024) {
      refusal = "source port " + std::to_string(client.port) +
                " is not reserved (< 1024). Mount as root (macOS: add -o resvport), or "
                "start vaultnfs with --insecure to accept unprivileged ports";
    } else if (call.caller.flavor != rpc::kAuthSys) {
      refusal = "AUTH_NONE calls are not accepted; use AUTH_SYS (sec=sys)";
    }
    if (!refusal.empty()) {
      LogRefusal(client, refusal);
      rpc::EncodeAuthErrorReply(out, xid, AuthStat::kTooWeak);
      return Next::kReply;
    }
    // A caller the export does not admit: every NFS call fails with ACCES,
    // which the kernel reports as "Permission denied" for each system call.
    // (Refused as AUTH_ERROR instead, Linux reports some of them as a
    // stale file handle.)
    if (call.caller.flavor == rpc::kAuthSys && !exp_.IsAllowedUid(call.caller.uid)) {
      LogRefusal(client, "uid " + std::to_string(call.caller.uid) +
                             " may not use this export (only root and the vault owner, uid " +
                             std::to_string(exp_.options().owner_uid) + "); add --allow-uid " +
                             std::to_string(call.caller.uid) + " to let it");
      if (call.header.program == nfs3::kProgram && call.header.version == nfs3::kVersion) {
        rpc::EncodeAcceptedReply(out, xid, AcceptStat::kSuccess);
        if (nfs3::EncodeBareFailure(out, call.header.procedure, nfs3::kErrAcces)) {
          return Next::kReply;
        }
        call.reply.clear();
      }
      rpc::EncodeAuthErrorReply(out, xid, AuthStat::kTooWeak);
      return Next::kReply;
    }
  }

  const auto found = rpc::FindProcedure(ProcedureTable(), call.header.program, call.header.version,
                                        call.header.procedure);
  if (found.procedure == nullptr) {
    rpc::EncodeAcceptedReply(out, xid, found.miss);
    if (found.miss == AcceptStat::kProgMismatch) {
      rpc::EncodeMismatchInfo(out, found.low_version, found.high_version);
    }
    return Next::kReply;
  }
  call.procedure = found.procedure;
  call.args_offset = reader.position();

  if (call.procedure->non_idempotent) {
    CallKey key{client.address,
                xid,
                call.header.program,
                call.header.version,
                call.header.procedure,
                DuplicateRequestCache::Checksum(std::span(call.record).subspan(call.args_offset))};
    std::vector<uint8_t> first_reply;
    switch (exp_.duplicate_requests().Begin(key, &first_reply)) {
      case DuplicateRequestCache::Verdict::kReplay:
        call.reply.assign(first_reply.begin(), first_reply.end());
        return Next::kReply;
      case DuplicateRequestCache::Verdict::kInProgress:
        return Next::kDrop;
      case DuplicateRequestCache::Verdict::kNew:
        call.drc_key = std::move(key);
        break;
    }
  }
  if (call.procedure->reply_bound != nullptr) {
    call.reply_bound = call.procedure->reply_bound(
        rpc::XdrReader(std::span<const uint8_t>(call.record).subspan(call.args_offset)));
  }
  switch (call.procedure->dispatch) {
    case rpc::Dispatch::kWorker:
      return Next::kRunOnWorker;
    case rpc::Dispatch::kDiskWait:
      // Handing a call to another thread costs tens of microseconds; only
      // an fsync that takes longer is worth it.
      return exp_.write_back().recent_sync_time() >= kWorthADiskWaitThread ? Next::kRunOnDiskWait
                                                                           : Next::kRunOnWorker;
    case rpc::Dispatch::kInline:
      break;
  }
  RunHandler(call, /*on_worker=*/false);
  return Next::kReply;
}

void Dispatcher::Execute(Call& call) { RunHandler(call, /*on_worker=*/true); }

void Dispatcher::RunHandler(Call& call, bool on_worker) {
  rpc::XdrReader args(std::span<const uint8_t>(call.record).subspan(call.args_offset));
  rpc::XdrWriter out(call.reply);
  rpc::EncodeAcceptedReply(out, call.header.xid, AcceptStat::kSuccess);
  const size_t results_at = call.reply.size();
  Request request{exp_,
                  call.header,
                  call.caller,
                  args,
                  out,
                  &call.arena,
                  on_worker ? &call.after_reply : nullptr};
  AcceptStat stat = AcceptStat::kSystemErr;
  const auto start = std::chrono::steady_clock::now();
  try {
    stat = call.procedure->handler(request);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, std::string(call.procedure->name) + " failed: " + e.what());
  }
  bool failed = stat != AcceptStat::kSuccess;
  if (!failed && ResultsStartWithStatus(*call.procedure) && call.reply.size() >= results_at + 4) {
    failed = rpc::XdrReader(std::span<const uint8_t>(call.reply).subspan(results_at, 4)).U32() != 0;
  }
  stats_.Record(*call.procedure, failed, std::chrono::steady_clock::now() - start);
  if (vaultcore::GetLogLevel() == LogLevel::kDebug) {
    Log(LogLevel::kDebug, std::string(call.procedure->name) + " xid " +
                              std::to_string(call.header.xid) + " from " +
                              std::string(call.caller.address) + ": " +
                              (stat == AcceptStat::kSuccess ? "answered" : "garbage arguments"));
  }
  if (stat != AcceptStat::kSuccess) {
    call.reply.clear();
    rpc::EncodeAcceptedReply(out, call.header.xid, stat);
  }
  if (call.drc_key) exp_.duplicate_requests().Complete(*call.drc_key, call.reply);
}

}  // namespace server
