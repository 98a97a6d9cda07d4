// LOOKUP (RFC 1813 §3.3.3). "." is the directory itself and ".." its
// parent; the export root is its own parent, so a client cannot climb out.
#include "server/nfs3_args.h"
#include "server/nfs3_common.h"
#include "server/procedures.h"

namespace server::nfs3 {

namespace {

Stat Find(Request& request, const vaultcore::Entry& dir, std::string_view name,
          vaultcore::Entry* found) {
  Stat stat = CheckName(name);
  if (stat != kOk) return stat == kErrInval ? kErrNoEnt : stat;
  if (name == ".") {
    *found = dir;
    return kOk;
  }
  vaultcore::Vault& vault = request.exp.vault();
  if (name == "..") {
    auto parent = request.exp.nodes().Parent(dir);
    if (!parent.ok()) return StatFor(parent.status());
    *found = std::move(parent).value();
    return kOk;
  }
  auto entry = vault.Lookup(dir.AsDir(), name);
  if (!entry.ok()) return StatFor(entry.status());
  *found = std::move(entry).value();
  return kOk;
}

}  // namespace

rpc::AcceptStat Lookup(Request& request) {
  DirOpArgs args;
  if (!Decode(request.args, &args)) return rpc::AcceptStat::kGarbageArgs;
  vaultcore::Entry dir;
  Stat stat = ResolveDirectory(request, args.dir, &dir, Attributes::kMayBeCached);
  vaultcore::Entry found;
  if (stat == kOk) stat = Find(request, dir, args.name, &found);
  FileHandle handle;
  if (stat == kOk) {
    auto made = request.exp.nodes().HandleFor(found);
    if (made.ok()) {
      handle = *made;
    } else {
      stat = StatFor(made.status());
    }
  }
  EncodeStat(request, stat);
  if (stat == kOk) {
    request.reply.Opaque(handle.span());
    EncodeAttr(request, found);
  }
  EncodeAttr(request, dir);
  return rpc::AcceptStat::kSuccess;
}

}  // namespace server::nfs3
