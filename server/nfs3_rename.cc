// RENAME (RFC 1813 §3.3.14) with rename(2) semantics: a file replaces a
// file, a directory an empty directory. Handles of the moved object stay
// valid (it keeps its inode or directory id); a replaced target's turn
// STALE.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Rename(Request& request) {
  RenameArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry from;
  vaultcore::Entry to;
  std::optional<WccAttr> from_before;
  std::optional<WccAttr> to_before;
  Stat stat = BeginDirectoryChange(request, args.from, NameUse::kExisting, &from, &from_before);
  if (stat == kOk) {
    stat = BeginDirectoryChange(request, args.to, NameUse::kExisting, &to, &to_before);
  }
  if (stat == kOk) {
    vaultcore::Vault& vault = request.exp.vault();
    auto replaced = vault.Lookup(to.AsDir(), args.to.name);
    vaultcore::Status renamed =
        vault.Rename(from.AsDir(), args.from.name, to.AsDir(), args.to.name);
    stat = StatFor(renamed);
    if (renamed.ok()) {
      if (replaced.ok()) request.exp.nodes().Removed(*replaced);
      if (auto moved = vault.Lookup(to.AsDir(), args.to.name); moved.ok()) {
        request.exp.nodes().Moved(*moved);
      }
    }
  }
  EncodeStat(request, stat);
  EndDirectoryChange(request, from, from_before);
  EndDirectoryChange(request, to, to_before);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
