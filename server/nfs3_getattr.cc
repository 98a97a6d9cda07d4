// GETATTR (RFC 1813 §3.3.1).
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Getattr(Request& request) {
  HandleArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  const Stat stat = ResolveHandle(request, args.handle, &entry, Attributes::kMayBeCached);
  EncodeStat(request, stat);
  if (stat == kOk) {
    const vaultcore::Attributes attr = request.exp.VisibleAttributes(entry);
    EncodeFattr(request.reply, attr, request.exp.attr_policy());
  }
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
