// SYMLINK (RFC 1813 §3.3.10). The target is stored as given (encrypted);
// like every NFS server, this one never follows it.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Symlink(Request& request) {
  SymlinkArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry dir;
  std::optional<WccAttr> before;
  Stat stat = BeginDirectoryChange(request, args.where, NameUse::kNew, &dir, &before);
  if (stat == kOk && args.target.empty()) stat = kErrInval;
  if (stat == kOk && args.target.size() > kPathMax) stat = kErrNameTooLong;
  if (stat == kOk && args.target.find('\0') != std::string_view::npos) stat = kErrInval;
  vaultcore::Entry made;
  if (stat == kOk) {
    auto result = request.exp.vault().MakeSymlink(dir.AsDir(), args.where.name, args.target);
    if (result.ok()) {
      made = std::move(result).value();
    } else {
      stat = StatFor(result.status());
    }
  }
  EncodeStat(request, stat);
  if (stat == kOk) EncodeNewObject(request, made);
  EndDirectoryChange(request, dir, before);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
