// PATHCONF (RFC 1813 §3.3.20). name_max agrees with the NAMETOOLONG
// check every procedure makes.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Pathconf(Request& request) {
  HandleArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  const Stat stat = ResolveHandle(request, args.handle, &entry, Attributes::kMayBeCached);
  EncodeStat(request, stat);
  EncodeAttr(request, entry);
  if (stat != kOk) return rpc::AcceptStat::kSuccess;
  rpc::XdrWriter& out = request.reply;
  out.U32(1);         // linkmax: no hard links
  out.U32(kNameMax);  // name_max
  out.Bool(true);     // no_trunc: long names are refused, not cut
  out.Bool(true);     // chown_restricted
  out.Bool(false);    // case_insensitive
  out.Bool(true);     // case_preserving
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
