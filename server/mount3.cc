// MOUNT version 3 (RFC 1813 appendix I), served on the NFS port. The one
// export is "/", the vault root; MNT of a directory path inside the vault
// returns that directory's handle, so a container can mount a subtree.
#include "server/export.h"
#include "server/nfs3_xdr.h"
#include "server/procedures.h"

namespace server::mount3 {

namespace {

constexpr uint32_t kMaxPath = 1024;  // MNTPATHLEN
constexpr uint32_t kMaxName = 255;   // MNTNAMLEN

enum MountStat : uint32_t {
  kOk = 0,
  kErrNoEnt = 2,
  kErrIo = 5,
  kErrAcces = 13,
  kErrNotDir = 20,
  kErrInval = 22,
  kErrNameTooLong = 63,
};

MountStat MountStatFor(const vaultcore::Status& status) {
  switch (status.code()) {
    case vaultcore::Errc::kNotFound:
      return kErrNoEnt;
    case vaultcore::Errc::kNotDirectory:
      return kErrNotDir;
    case vaultcore::Errc::kNameTooLong:
      return kErrNameTooLong;
    case vaultcore::Errc::kInvalidArgument:
      return kErrInval;
    case vaultcore::Errc::kPermission:
      return kErrAcces;
    default:
      return kErrIo;
  }
}

}  // namespace

rpc::AcceptStat Null(Request& /*request*/) { return rpc::AcceptStat::kSuccess; }

rpc::AcceptStat Mnt(Request& request) {
  const std::string_view path = request.args.String(kMaxPath);
  if (!request.args.ok()) return rpc::AcceptStat::kGarbageArgs;
  auto entry = request.exp.vault().ResolvePath(path);
  MountStat stat = entry.ok() ? kOk : MountStatFor(entry.status());
  if (stat == kOk && entry->kind() != vaultcore::NodeKind::kDirectory) stat = kErrNotDir;
  FileHandle handle;
  if (stat == kOk) {
    auto made = request.exp.nodes().HandleFor(*entry);
    if (made.ok()) {
      handle = *made;
    } else {
      stat = MountStatFor(made.status());
    }
  }
  request.reply.U32(stat);
  if (stat != kOk) return rpc::AcceptStat::kSuccess;
  request.exp.AddMount(request.caller.address, path);
  request.reply.Opaque(handle.span());
  request.reply.U32(1);  // one flavor:
  request.reply.U32(rpc::kAuthSys);
  return rpc::AcceptStat::kSuccess;
}

rpc::AcceptStat Dump(Request& request) {
  for (const auto& [client, path] : request.exp.Mounts()) {
    request.reply.Bool(true);
    request.reply.String(client.substr(0, kMaxName));
    request.reply.String(path);
  }
  request.reply.Bool(false);
  return rpc::AcceptStat::kSuccess;
}

rpc::AcceptStat Umnt(Request& request) {
  const std::string_view path = request.args.String(kMaxPath);
  if (!request.args.ok()) return rpc::AcceptStat::kGarbageArgs;
  request.exp.RemoveMount(request.caller.address, path);
  return rpc::AcceptStat::kSuccess;
}

rpc::AcceptStat Umntall(Request& request) {
  request.exp.RemoveMounts(request.caller.address);
  return rpc::AcceptStat::kSuccess;
}

rpc::AcceptStat Export(Request& request) {
  request.reply.Bool(true);  // one export:
  request.reply.String("/");
  request.reply.Bool(false);  // no group list: who may mount is the server's --allow
  request.reply.Bool(false);  // no more exports
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::mount3
