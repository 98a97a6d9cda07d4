// FSSTAT (RFC 1813 §3.3.18): the file system that holds the vault's
// ciphertext, as statvfs(3) sees it.
#include <sys/statvfs.h>

#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Fsstat(Request& request) {
  HandleArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  Stat stat = ResolveHandle(request, args.handle, &entry, Attributes::kMayBeCached);
  struct statvfs fs {};
  if (stat == kOk && statvfs(request.exp.vault().path().c_str(), &fs) != 0) {
    stat = StatFor(vaultcore::Status::FromErrno(errno, "statvfs"));
  }
  EncodeStat(request, stat);
  EncodeAttr(request, entry);
  if (stat != kOk) return rpc::AcceptStat::kSuccess;
  const uint64_t unit = fs.f_frsize;
  rpc::XdrWriter& out = request.reply;
  out.U64(fs.f_blocks * unit);  // tbytes
  out.U64(fs.f_bfree * unit);   // fbytes
  out.U64(fs.f_bavail * unit);  // abytes
  out.U64(fs.f_files);          // tfiles
  out.U64(fs.f_ffree);          // ffiles
  out.U64(fs.f_favail);         // afiles
  out.U32(0);                   // invarsec: it may change at any time
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
