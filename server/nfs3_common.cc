#include "server/nfs3_common.h"

#include <sys/statvfs.h>

#include <cstdint>

namespace server::nfs3 {

using vaultcore::Entry;
using vaultcore::Errc;

Stat ResolveHandle(Request& request, std::span<const uint8_t> handle, Entry* entry,
                   Attributes attributes) {
  auto resolved = request.exp.nodes().Resolve(handle, attributes == Attributes::kMayBeCached);
  if (resolved.ok()) {
    *entry = std::move(resolved).value();
    return kOk;
  }
  switch (resolved.status().code()) {
    case Errc::kInvalidArgument:
      return kErrBadHandle;
    case Errc::kNotFound:
      return kErrStale;
    default:
      return StatFor(resolved.status());
  }
}

Stat ResolveDirectory(Request& request, std::span<const uint8_t> handle, Entry* dir,
                      Attributes attributes) {
  Stat stat = ResolveHandle(request, handle, dir, attributes);
  if (stat == kOk && dir->kind() != vaultcore::NodeKind::kDirectory) return kErrNotDir;
  return stat;
}

Stat CheckRegularFile(const Entry& entry) {
  switch (entry.kind()) {
    case vaultcore::NodeKind::kFile:
      return kOk;
    case vaultcore::NodeKind::kDirectory:
      return kErrIsDir;
    case vaultcore::NodeKind::kSymlink:
      break;
  }
  return kErrInval;
}

Stat CheckName(std::string_view name) {
  if (name.empty()) return kErrInval;
  if (name.size() > kNameMax) return kErrNameTooLong;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return kErrAcces;
  }
  return kOk;
}

Stat CheckWritable(Request& request) {
  if (request.exp.read_only()) return kErrRofs;
  return kOk;
}

Stat CheckGrowth(Request& request, uint64_t old_size, uint64_t offset, uint64_t count) {
  if (offset > UINT64_MAX - count) return kErrInval;
  const uint64_t end = offset + count;
  if (end > request.exp.options().max_file_size) return kErrFbig;
  if (end <= old_size) return kOk;
  const uint64_t growth = end - old_size;
  // Small growth: the write itself reports ENOSPC as NOSPC.
  if (growth < (uint64_t{64} << 20)) return kOk;
  struct statvfs fs;
  if (statvfs(request.exp.vault().path().c_str(), &fs) != 0) return kOk;
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  const uint64_t needed = growth + growth / 1024;  // 28 bytes per 32 KiB chunk, and the header
  return needed > available ? kErrNoSpc : kOk;
}

Stat BeginDirectoryChange(Request& request, const DirOpArgs& where, NameUse use, Entry* dir,
                          std::optional<WccAttr>* before) {
  Stat stat = ResolveDirectory(request, where.dir, dir);
  if (stat != kOk) return stat;
  *before = WccOf(dir->attr);
  stat = CheckWritable(request);
  if (stat != kOk) return stat;
  stat = CheckName(where.name);
  if (stat != kOk) return stat;
  if (where.name == "." || where.name == "..") return use == NameUse::kNew ? kErrExist : kErrInval;
  return kOk;
}

void EndDirectoryChange(Request& request, const Entry& dir, const std::optional<WccAttr>& before) {
  if (!dir.data_path().empty()) request.exp.nodes().DirectoryChanged(dir.dir_id);
  EncodeWccAfter(request, before, dir);
}

namespace {

std::optional<timespec> TimeToSet(TimeHow how, const timespec& client_time) {
  switch (how) {
    case TimeHow::kDontChange:
      return std::nullopt;
    case TimeHow::kServerTime:
      return timespec{0, UTIME_NOW};
    case TimeHow::kClientTime:
      return client_time;
  }
  return std::nullopt;
}

}  // namespace

Stat ApplySattr(Request& request, Entry& entry, const Sattr& attr) {
  const AttrPolicy& policy = request.exp.attr_policy();
  if ((attr.uid && *attr.uid != policy.uid) || (attr.gid && *attr.gid != policy.gid)) {
    return kErrPerm;
  }
  vaultcore::Vault& vault = request.exp.vault();
  WriteBackBuffer& buffer = request.exp.write_back();
  if (attr.size) {
    if (entry.kind() == vaultcore::NodeKind::kDirectory) return kErrIsDir;
    if (entry.kind() != vaultcore::NodeKind::kFile) return kErrInval;
    const uint64_t old_size = request.exp.VisibleAttributes(entry).size;
    Stat stat = CheckGrowth(request, old_size, 0, *attr.size);
    if (stat != kOk) return stat;
    auto file = request.exp.OpenFile(entry);
    if (!file.ok()) return StatFor(file.status());
    vaultcore::Status truncated = buffer.Truncate(*file, *attr.size);
    if (!truncated.ok()) return StatFor(truncated);
  }
  if (attr.mode) {
    vaultcore::Status s = vault.SetMode(entry, *attr.mode & 07777);
    if (!s.ok()) return StatFor(s);
  }
  const auto atime = TimeToSet(attr.atime_how, attr.atime);
  const auto mtime = TimeToSet(attr.mtime_how, attr.mtime);
  if (atime || mtime) {
    // Buffered data written out later would move mtime past what was set.
    if (auto file = vault.FindOpenFile(entry)) {
      vaultcore::Status s = buffer.Commit(file);
      if (!s.ok()) return StatFor(s);
    }
    vaultcore::Status s = vault.SetTimes(entry, atime, mtime);
    if (!s.ok()) return StatFor(s);
  }
  // Nothing asked for (a CREATE without attributes): `entry` is as fresh
  // as the caller had it.
  const bool changed = attr.size || attr.mode || atime || mtime;
  return changed ? StatFor(vault.Refresh(entry)) : kOk;
}

Sattr InitialAttributes(const Sattr& asked) {
  Sattr initial = asked;
  initial.size.reset();
  initial.uid.reset();
  initial.gid.reset();
  return initial;
}

void EncodeAttr(Request& request, const Entry& entry) {
  if (entry.data_path().empty()) {  // never resolved
    EncodePostOpAttr(request.reply, nullptr, request.exp.attr_policy());
    return;
  }
  const vaultcore::Attributes attr = request.exp.VisibleAttributes(entry);
  EncodePostOpAttr(request.reply, &attr, request.exp.attr_policy());
}

void EncodeWccAfter(Request& request, const std::optional<WccAttr>& before, const Entry& entry) {
  Entry fresh = entry;
  if (entry.data_path().empty() || !request.exp.vault().Refresh(fresh).ok()) {
    EncodeWcc(request.reply, before, nullptr, request.exp.attr_policy());
    return;
  }
  const vaultcore::Attributes attr = request.exp.VisibleAttributes(fresh);
  EncodeWcc(request.reply, before, &attr, request.exp.attr_policy());
}

void EncodeNewObject(Request& request, const Entry& entry) {
  auto handle = request.exp.nodes().HandleFor(entry);
  if (handle.ok()) {
    EncodePostOpFh(request.reply, handle->span());
  } else {
    EncodePostOpFh(request.reply, {});
  }
  EncodeAttr(request, entry);
}

}  // namespace server::nfs3
