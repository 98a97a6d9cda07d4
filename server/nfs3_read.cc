// READ (RFC 1813 §3.3.6): exactly min(count, bytes to end of file), with
// eof true when the read reaches the end; an offset past the end is OK
// with no data and eof. The data is decrypted straight into the reply,
// through the write-back buffer so unwritten data is seen, unless an idle
// worker read it ahead (server/read_ahead.h).
#include <algorithm>
#include <cstring>
#include <span>

#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"
#include "vaultcore/log.h"
#include "vaultcore/work_sharing.h"

namespace server::nfs3 {

inline constexpr uint32_t kMaxRead = 1 << 20;  // FSINFO rtmax
// RPC and NFS headers and post-op attributes, with room to spare.
inline constexpr size_t kReadReplyOverhead = 256;

size_t ReadReplyBound(rpc::XdrReader args) {
  ReadArgs decoded;
  if (!Decode(args, &decoded)) return 0;
  return std::min(decoded.count, kMaxRead) + kReadReplyOverhead;
}

rpc::AcceptStat Read(Request& request) {
  ReadArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry entry;
  Stat stat = ResolveHandle(request, args.handle, &entry);
  if (stat == kOk) stat = CheckRegularFile(entry);
  std::shared_ptr<vaultcore::EncryptedFile> file;
  if (stat == kOk) {
    auto opened = request.exp.OpenFile(entry);
    if (opened.ok()) {
      file = std::move(opened).value();
    } else {
      stat = StatFor(opened.status());
    }
  }
  if (stat != kOk) {
    EncodeStat(request, stat);
    EncodeAttr(request, entry);
    return rpc::AcceptStat::kSuccess;
  }

  // Room only for what the file holds: a READ past the end costs nothing.
  WriteBackBuffer& write_back = request.exp.write_back();
  auto size_before = write_back.Size(*file);
  const uint64_t left =
      size_before.ok() && *size_before > args.offset ? *size_before - args.offset : 0;
  const auto count = static_cast<uint32_t>(std::min<uint64_t>({args.count, kMaxRead, left}));
  rpc::XdrWriter& out = request.reply;
  out.ReserveCapacity(count + kReadReplyOverhead);
  const size_t stat_at = out.size();
  EncodeStat(request, kOk);
  EncodeAttr(request, entry);
  const size_t count_at = out.size();
  out.U32(0);       // count, patched below
  out.Bool(false);  // eof, patched below
  out.U32(0);       // opaque length, patched below
  const size_t data_at = out.Reserve(count);
  const std::span<uint8_t> data = out.Region(data_at, count);
  ReadAhead& ahead = request.exp.read_ahead();
  vaultcore::Result<size_t> read = data.size();
  if (auto read_ahead = ahead.Take(file, args.offset, data.size())) {
    std::memcpy(data.data(), read_ahead.get(), data.size());
  } else {
    read = write_back.Read(file, args.offset, data);
  }
  auto size = write_back.Size(*file);
  if (!read.ok() || !size.ok()) {
    const vaultcore::Status& error = read.ok() ? size.status() : read.status();
    vaultcore::Log(vaultcore::LogLevel::kError,
                   "READ of " + file->path() + ": " + error.ToString());
    out.ShrinkOpaque(stat_at, 0);  // drop everything encoded so far
    EncodeStat(request, StatFor(error));
    EncodeAttr(request, entry);
    return rpc::AcceptStat::kSuccess;
  }
  const size_t n = *read;
  const bool eof = args.offset + n >= *size;
  out.ShrinkOpaque(data_at, n);
  out.PatchU32(count_at, static_cast<uint32_t>(n));
  out.PatchU32(count_at + 4, eof ? 1 : 0);
  out.PatchU32(count_at + 8, static_cast<uint32_t>(n));
  if (!eof) ahead.Served(file, args.offset, n, vaultcore::WorkSharing::Current());
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
