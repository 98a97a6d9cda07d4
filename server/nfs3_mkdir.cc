// MKDIR (RFC 1813 §3.3.9).
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Mkdir(Request& request) {
  MkdirArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry dir;
  std::optional<WccAttr> before;
  Stat stat = BeginDirectoryChange(request, args.where, NameUse::kNew, &dir, &before);
  vaultcore::Entry made;
  if (stat == kOk) {
    auto result = request.exp.vault().MakeDirectory(dir.AsDir(), args.where.name,
                                                    args.attr.mode.value_or(0755));
    if (result.ok()) {
      made = std::move(result).value();
      stat = ApplySattr(request, made, InitialAttributes(args.attr));
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
