// MKNOD (RFC 1813 §3.3.11): the vault format has no device nodes, sockets
// or FIFOs, so every type is NOTSUPP (ROFS on a read-only export).
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Mknod(Request& request) {
  MknodArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry dir;
  std::optional<WccAttr> before;
  Stat stat = ResolveDirectory(request, args.where.dir, &dir);
  if (stat == kOk) before = WccOf(dir.attr);
  if (stat == kOk) stat = request.exp.read_only() ? kErrRofs : kErrNotSupp;
  EncodeStat(request, stat);
  EndDirectoryChange(request, dir, before);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
