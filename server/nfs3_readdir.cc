// READDIR (RFC 1813 §3.3.16): names and fileids; see directory_page.h.
#include "server/directory_page.h"
#include "server/procedures.h"

namespace server::nfs3 {

rpc::AcceptStat Readdir(Request& request) {
  ReaddirArgs args;
  if (!DecodeReaddir(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  EncodeDirectoryPage(request, args, /*plus=*/false);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
