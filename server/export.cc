#include "server/export.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "vaultcore/crypto.h"

namespace server {

Export::Export(vaultcore::Vault& vault, ExportOptions options)
    : vault_(vault),
      options_(std::move(options)),
      nodes_(vault),
      write_back_(options_.write_back),
      read_ahead_(write_back_, options_.attribute_cache_ttl) {
  nodes_.SetRemovalListener([this](const vaultcore::Entry& entry) { ForgetOpenFile(entry); });
  vault_.SetAttributeCacheTtl(options_.attribute_cache_ttl);
  attr_policy_.uid = options_.owner_uid;
  attr_policy_.gid = options_.owner_gid;
  // A stable fsid per vault (clients key caches by it), not its path.
  const auto root = nodes_.RootHandle();
  const auto digest = vaultcore::Sha256(root.span());
  std::memcpy(&attr_policy_.fsid, digest.data(), sizeof attr_policy_.fsid);
  // The write verifier must differ between two starts; randomness does
  // that even when the clock does not move.
  if (!vaultcore::PublicRandomBytes(write_verifier_).ok()) {
    const uint64_t now = static_cast<uint64_t>(time(nullptr));
    std::memcpy(write_verifier_.data(), &now, sizeof now);
  }
}

std::array<uint8_t, nfs3::kWriteVerifierSize> Export::write_verifier() const {
  std::array<uint8_t, nfs3::kWriteVerifierSize> verifier = write_verifier_;
  const uint64_t lost = write_back_.failed_flushes();
  for (size_t i = 0; i < verifier.size(); ++i) verifier[i] ^= static_cast<uint8_t>(lost >> (8 * i));
  return verifier;
}

bool Export::IsAllowedUid(uint32_t uid) const {
  return uid == 0 || uid == options_.owner_uid ||
         std::find(options_.allowed_uids.begin(), options_.allowed_uids.end(), uid) !=
             options_.allowed_uids.end();
}

vaultcore::Attributes Export::VisibleAttributes(const vaultcore::Entry& entry) {
  vaultcore::Attributes attr = entry.attr;
  if (ShowsOwnAttributes(entry.kind())) return attr;
  if (auto file = vault_.FindOpenFile(entry)) {
    if (auto end = write_back_.BufferedEnd(*file)) attr.size = std::max(attr.size, *end);
  }
  return attr;
}

namespace {
constexpr size_t kOpenFilesKept = 64;
// A file removed behind our back keeps its disk space while we hold it
// open; looking for such files once a second costs a few fstat calls,
// looking on every open would cost 64 of them per CREATE.
constexpr auto kUnlinkedSweepInterval = std::chrono::seconds(1);
}  // namespace

vaultcore::Result<std::shared_ptr<vaultcore::EncryptedFile>> Export::OpenFile(
    const vaultcore::Entry& entry) {
  // The path led to `entry`'s inode a moment ago, and an inode this
  // process holds open is not reused: Vault::OpenFile's stat of the path
  // would find the same file.
  std::shared_ptr<vaultcore::EncryptedFile> file = vault_.FindOpenFile(entry);
  if (file == nullptr) {
    auto opened = vault_.OpenFile(entry);
    if (!opened.ok()) return opened;
    file = std::move(opened).value();
  }
  std::lock_guard lock(open_files_mutex_);
  KeepOpenLocked(file);
  return file;
}

void Export::KeepOpen(std::shared_ptr<vaultcore::EncryptedFile> file) {
  std::lock_guard lock(open_files_mutex_);
  KeepOpenLocked(std::move(file));
}

void Export::KeepOpenLocked(std::shared_ptr<vaultcore::EncryptedFile> file) {
  auto it = std::find(open_files_.begin(), open_files_.end(), file);
  if (it != open_files_.end()) {
    open_files_.splice(open_files_.begin(), open_files_, it);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_unlinked_sweep_) {
    next_unlinked_sweep_ = now + kUnlinkedSweepInterval;
    std::erase_if(open_files_, [](const std::shared_ptr<vaultcore::EncryptedFile>& f) {
      struct stat st {};
      return fstat(f->fd(), &st) == 0 && st.st_nlink == 0;
    });
  }
  open_files_.push_front(std::move(file));
  if (open_files_.size() > kOpenFilesKept) open_files_.pop_back();
}

void Export::ForgetOpenFile(const vaultcore::Entry& entry) {
  auto file = vault_.FindOpenFile(entry);
  if (!file) return;
  std::lock_guard lock(open_files_mutex_);
  open_files_.remove(file);
}

void Export::AddMount(std::string_view client, std::string_view path) {
  std::lock_guard lock(mounts_mutex_);
  for (const auto& [c, p] : mounts_) {
    if (c == client && p == path) return;
  }
  constexpr size_t kMaxMounts = 1024;  // advisory: never grow without bound
  if (mounts_.size() >= kMaxMounts) mounts_.erase(mounts_.begin());
  mounts_.emplace_back(client, path);
}

void Export::RemoveMount(std::string_view client, std::string_view path) {
  std::lock_guard lock(mounts_mutex_);
  std::erase_if(mounts_, [&](const auto& m) { return m.first == client && m.second == path; });
}

void Export::RemoveMounts(std::string_view client) {
  std::lock_guard lock(mounts_mutex_);
  std::erase_if(mounts_, [&](const auto& m) { return m.first == client; });
}

std::vector<std::pair<std::string, std::string>> Export::Mounts() {
  std::lock_guard lock(mounts_mutex_);
  return mounts_;
}

}  // namespace server
