// COMMIT (RFC 1813 §3.3.21): everything written to the file so far is on
// disk when this answers OK. The whole file is committed whatever the
// range: ciphertext chunks do not map to the client's pages one to one,
// and committing more than asked is allowed. An error a background flush
// met since the last COMMIT is reported here, never lost.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"
#include "vaultcore/log.h"

namespace server::nfs3 {

rpc::AcceptStat Commit(Request& request) {
  CommitArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  Stat stat = ResolveHandle(request, args.handle, &entry);
  if (stat == kOk) stat = CheckRegularFile(entry);
  std::optional<WccAttr> before;
  if (stat == kOk) {
    before = WccOf(request.exp.VisibleAttributes(entry));
    auto file = request.exp.OpenFile(entry);
    vaultcore::Status committed =
        file.ok() ? request.exp.write_back().Commit(*file) : file.status();
    if (!committed.ok()) {
      vaultcore::Log(vaultcore::LogLevel::kError,
                     "COMMIT of " + entry.data_path() + ": " + committed.ToString());
      stat = StatFor(committed);
    }
  }
  EncodeStat(request, stat);
  EncodeWccAfter(request, before, entry);
  if (stat == kOk) request.reply.FixedOpaque(request.exp.write_verifier());
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
