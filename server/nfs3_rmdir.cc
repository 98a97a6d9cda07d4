// RMDIR (RFC 1813 §3.3.13) of an empty directory.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Rmdir(Request& request) {
  DirOpArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry dir;
  std::optional<WccAttr> before;
  Stat stat = BeginDirectoryChange(request, args, NameUse::kExisting, &dir, &before);
  if (stat == kOk) stat = StatFor(request.exp.vault().RemoveDirectory(dir.AsDir(), args.name));
  EncodeStat(request, stat);
  EndDirectoryChange(request, dir, before);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
