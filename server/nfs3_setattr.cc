// SETATTR (RFC 1813 §3.3.2), with the ctime guard that lets a client make
// the change only if nobody else changed the object since it looked.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Setattr(Request& request) {
  SetattrArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  Stat stat = ResolveHandle(request, args.handle, &entry);
  std::optional<WccAttr> before;
  if (stat == kOk) {
    before = WccOf(request.exp.VisibleAttributes(entry));
    stat = CheckWritable(request);
  }
  if (stat == kOk) {
    if (args.guard_ctime && (args.guard_ctime->tv_sec != entry.attr.ctime.tv_sec ||
                             args.guard_ctime->tv_nsec != entry.attr.ctime.tv_nsec)) {
      stat = kErrNotSync;
    }
  }
  if (stat == kOk) stat = ApplySattr(request, entry, args.attr);
  EncodeStat(request, stat);
  EncodeWccAfter(request, before, entry);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
