// REMOVE (RFC 1813 §3.3.12) of a file or symlink; a directory is ISDIR
// (RMDIR removes those). The removed object's handles turn STALE.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Remove(Request& request) {
  DirOpArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry dir;
  std::optional<WccAttr> before;
  Stat stat = BeginDirectoryChange(request, args, NameUse::kExisting, &dir, &before);
  if (stat == kOk) {
    vaultcore::Vault& vault = request.exp.vault();
    auto victim = vault.Lookup(dir.AsDir(), args.name);
    vaultcore::Status removed =
        victim.ok() ? vault.Remove(dir.AsDir(), victim->name) : victim.status();
    if (removed.ok()) request.exp.nodes().Removed(*victim);
    stat = StatFor(removed);
  }
  EncodeStat(request, stat);
  EndDirectoryChange(request, dir, before);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
