// WRITE (RFC 1813 §3.3.7). UNSTABLE data goes to the write-back buffer
// and is answered UNSTABLE: it reaches the disk by COMMIT, memory pressure
// or an idle timeout. DATA_SYNC and FILE_SYNC data is on disk (fdatasync)
// before the reply, which then says FILE_SYNC. Every reply carries the
// write verifier, so a client notices a restart that lost buffered data.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"
#include "vaultcore/log.h"

namespace server::nfs3 {

inline constexpr uint32_t kMaxWrite = 1 << 20;  // FSINFO wtmax

rpc::AcceptStat Write(Request& request) {
  WriteArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  Stat stat = ResolveHandle(request, args.handle, &entry);
  std::optional<WccAttr> before;
  vaultcore::Attributes visible;
  if (stat == kOk) {
    visible = request.exp.VisibleAttributes(entry);
    before = WccOf(visible);
    stat = CheckWritable(request);
  }
  if (stat == kOk) stat = CheckRegularFile(entry);
  if (stat == kOk && args.count > kMaxWrite) stat = kErrInval;
  if (stat == kOk) stat = CheckGrowth(request, visible.size, args.offset, args.count);
  std::shared_ptr<vaultcore::EncryptedFile> file;
  if (stat == kOk) {
    auto opened = request.exp.OpenFile(entry);
    if (opened.ok()) {
      file = std::move(opened).value();
    } else {
      stat = StatFor(opened.status());
    }
  }
  if (stat == kOk) {
    WriteBackBuffer& buffer = request.exp.write_back();
    // An UNSTABLE write of whole chunks may be answered before it is
    // encrypted (WriteBackBuffer::Write): the client sends the next one
    // meanwhile.
    vaultcore::Status written =
        args.stable == kUnstable ? buffer.Write(file, args.offset, args.data, request.after_reply)
                                 : buffer.WriteStable(file, args.offset, args.data);
    if (!written.ok()) {
      vaultcore::Log(vaultcore::LogLevel::kError,
                     "WRITE to " + file->path() + ": " + written.ToString());
      stat = StatFor(written);
    }
  }
  EncodeStat(request, stat);
  EncodeWccAfter(request, before, entry);
  if (stat == kOk) {
    request.reply.U32(args.count);
    request.reply.U32(args.stable == kUnstable ? kUnstable : kFileSync);
    request.reply.FixedOpaque(request.exp.write_verifier());
  }
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
