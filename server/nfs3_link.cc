// LINK (RFC 1813 §3.3.15): the vault format has no hard links. On a
// read-only export the answer is ROFS, as for every other change.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Link(Request& request) {
  LinkArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry file;
  vaultcore::Entry dir;
  Stat stat = ResolveHandle(request, args.handle, &file);
  if (stat == kOk) stat = ResolveDirectory(request, args.link.dir, &dir);
  if (stat == kOk) stat = request.exp.read_only() ? kErrRofs : kErrNotSupp;
  EncodeStat(request, stat);
  EncodeAttr(request, file);
  std::optional<WccAttr> before;
  if (!dir.data_path().empty()) before = WccOf(dir.attr);
  EndDirectoryChange(request, dir, before);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
