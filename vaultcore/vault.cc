#include "vaultcore/vault.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <filesystem>
#include <vector>

#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"
#include "vaultcore/log.h"
#include "vaultcore/plain_file.h"
#include "vaultcore/unicode.h"
#include "vaultcore/vault_layout.h"

namespace vaultcore {
using namespace vault_layout;

namespace {

constexpr size_t kMaxDirIdSize = 1000;      // Cryptomator rejects larger dir.c9r
constexpr size_t kMaxLongNameSize = 10240;  // and larger name.c9s
constexpr size_t kMaxSymlinkTarget = 32767 * 4;
constexpr size_t kMinNodeNameSize = 28;  // shortest B64URL(SIV("")) + ".c9r"
constexpr size_t kMaxCachedDirs = 1 << 16;

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::FromErrno(ec.value(), "remove " + path);
  return Status::Ok();
}

bool LooksLikeNode(std::string_view entry_name) {
  return entry_name.size() >= kMinNodeNameSize &&
         (entry_name.ends_with(kNodeSuffix) || entry_name.ends_with(kShortenedSuffix));
}

// `name` in double quotes, for messages.
std::string Quoted(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out.append(1, '"').append(name).append(1, '"');
  return out;
}

std::string NotFoundMessage(std::string_view name) { return Quoted(name) + " not found"; }

}  // namespace

Status ValidateName(std::string_view name) {
  if (name.empty()) return Status(Errc::kInvalidArgument, "empty name");
  if (name == "." || name == "..") {
    return Status(Errc::kInvalidArgument, Quoted(name) + " is not a valid name");
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status(Errc::kInvalidArgument, "a name may not contain '/' or NUL");
  }
  if (name.size() > kMaxLongNameSize) return Status(Errc::kNameTooLong, "name too long");
  return Status::Ok();
}

Vault::Vault(std::string path, VaultConfig config, MasterKey key, bool read_only)
    : path_(std::move(path)),
      config_(std::move(config)),
      key_(std::move(key)),
      read_only_(read_only),
      cryptor_(MakeContentCryptor(config_.cipher_combo, key_)),
      names_(key_, config_.shortening_threshold) {}

Vault::~Vault() = default;

Status Vault::CheckWritable() const {
  if (read_only_) return Status(Errc::kReadOnly, "the vault is open read-only");
  return Status::Ok();
}

Result<DirRef> Vault::Directory(std::string_view dir_id) const {
  if (dir_id.empty()) return root_;
  std::string content_path;
  {
    std::lock_guard lock(cache_mutex_);
    auto it = content_path_cache_.find(std::string(dir_id));
    if (it != content_path_cache_.end()) content_path = it->second;
  }
  if (content_path.empty()) {
    auto relative = names_.ContentDirPath(dir_id);
    if (!relative.ok()) return relative.status();
    content_path = Join(path_, *relative);
    std::lock_guard lock(cache_mutex_);
    if (content_path_cache_.size() >= kMaxCachedDirs) content_path_cache_.clear();
    content_path_cache_.emplace(dir_id, content_path);
  }
  struct stat st;
  if (stat(content_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(Errc::kNotFound, "directory " + std::string(dir_id) + " no longer exists");
  }
  return DirRef{std::string(dir_id), std::move(content_path)};
}

Status Vault::StatInto(const std::string& path, NodeKind kind, Attributes& attr) const {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  AttributesFrom(st, kind, attr);
  return Status::Ok();
}

void Vault::AttributesFrom(const struct stat& st, NodeKind kind, Attributes& attr) const {
  attr.kind = kind;
  attr.fileid = st.st_ino;
  attr.device = st.st_dev;
  attr.mode = st.st_mode & 07777;
  attr.uid = st.st_uid;
  attr.gid = st.st_gid;
  attr.atime = st.st_atim;
  attr.mtime = st.st_mtim;
  attr.ctime = st.st_ctim;
  attr.disk_usage = static_cast<uint64_t>(st.st_blocks) * 512;
  if (kind == NodeKind::kDirectory) {
    attr.size = static_cast<uint64_t>(st.st_size);
    // Child dirs and symlinks are node directories inside the content
    // directory, so this never undercounts subdirectories (find relies on it).
    attr.nlink = static_cast<uint32_t>(st.st_nlink);
  } else {
    // Cryptomator shows an impossible size as 0; reading it reports the error.
    attr.size = cryptor_->CleartextSize(static_cast<uint64_t>(st.st_size)).value_or(0);
    attr.nlink = 1;
  }
}

Result<Entry> Vault::RootEntry() const {
  Entry entry;
  entry.node_path = root_.content_path;  // and so its data path
  Status s = StatInto(entry.data_path(), NodeKind::kDirectory, entry.attr);
  if (!s.ok()) return s;
  return entry;
}

Result<Entry> Vault::LoadNode(const DirRef& dir, const std::string& node_name, std::string name,
                              bool shortened) const {
  Entry entry;
  entry.name = std::move(name);
  entry.parent_id = dir.id;
  entry.node_path = Join(dir.content_path, node_name);
  entry.shortened = shortened;
  struct stat st;
  if (lstat(entry.node_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status(Errc::kNotFound, NotFoundMessage(entry.name));
    return Status::FromErrno(errno, "stat " + entry.node_path);
  }
  NodeKind kind;
  if (S_ISREG(st.st_mode) && !shortened) {
    // The node is the content (data path = node path), and `st` already
    // describes it: a LOOKUP or CREATE of a file needs no second stat.
    AttributesFrom(st, NodeKind::kFile, entry.attr);
    return entry;
  }
  if (S_ISDIR(st.st_mode)) {
    auto dir_id = ReadPlainFile(Join(entry.node_path, kDirFile), kMaxDirIdSize);
    if (dir_id.ok()) {
      if (dir_id->empty()) {
        return Status(Errc::kCorrupt, entry.node_path + "/dir.c9r is empty");
      }
      auto content = Directory(*dir_id);
      if (!content.ok()) {
        // A directory whose content directory is gone is hidden (spec §5.5).
        Log(LogLevel::kDebug, "hiding " + entry.node_path + ": its content directory is missing");
        return Status(Errc::kNotFound, NotFoundMessage(entry.name));
      }
      kind = NodeKind::kDirectory;
      entry.dir_id = std::move(dir_id).value();
      entry.set_data_path(content->content_path);
      RememberParent(entry.dir_id, dir.id);
    } else if (dir_id.status().code() != Errc::kNotFound) {
      return dir_id.status();
    } else if (Exists(Join(entry.node_path, kSymlinkFile))) {
      kind = NodeKind::kSymlink;
      entry.set_data_path(Join(entry.node_path, kSymlinkFile));
    } else if (shortened && Exists(Join(entry.node_path, kContentsFile))) {
      kind = NodeKind::kFile;
      entry.set_data_path(Join(entry.node_path, kContentsFile));
    } else {
      return Status(Errc::kCorrupt, entry.node_path +
                                        " is a broken node (no dir.c9r, "
                                        "symlink.c9r or contents.c9r)");
    }
  } else {
    return Status(Errc::kCorrupt, entry.node_path + " is neither a file nor a node directory");
  }
  Status s = StatInto(entry.data_path(), kind, entry.attr);
  if (!s.ok()) return s;
  return entry;
}

Result<std::string> Vault::EncryptName(std::string_view cleartext_name,
                                       std::string_view parent_dir_id) const {
  if (auto known = encrypted_names_.Find(parent_dir_id, cleartext_name)) return *std::move(known);
  auto encrypted = names_.EncryptName(cleartext_name, parent_dir_id);
  if (encrypted.ok()) encrypted_names_.Put(parent_dir_id, cleartext_name, *encrypted);
  return encrypted;
}

Result<Entry> Vault::LookupExact(const DirRef& dir, std::string_view name) const {
  auto ciphertext_name = EncryptName(name, dir.id);
  if (!ciphertext_name.ok()) return ciphertext_name.status();
  const bool shortened = names_.NeedsShortening(*ciphertext_name);
  return LoadNode(dir, names_.NodeName(*ciphertext_name), std::string(name), shortened);
}

Result<Entry> Vault::Lookup(const DirRef& dir, std::string_view name) const {
  Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  auto exact = LookupExact(dir, name);
  if (exact.ok() || exact.status().code() != Errc::kNotFound) return exact;
  const std::string nfc = NormalizeNfc(name);
  if (nfc == name) return exact;
  return LookupExact(dir, nfc);
}

Result<std::string> Vault::DecryptNodeName(const DirRef& dir, const std::string& entry_name) const {
  if (entry_name.ends_with(kShortenedSuffix)) {
    auto long_name =
        ReadPlainFile(Join(Join(dir.content_path, entry_name), kLongNameFile), kMaxLongNameSize);
    if (!long_name.ok()) return long_name.status();
    // A name.c9s that does not hash to its node could never be looked up.
    if (NameCipher::ShortenedName(*long_name) != entry_name) {
      return Status(Errc::kCorrupt, entry_name + "/name.c9s does not match its node");
    }
    return names_.DecryptName(*long_name, dir.id);
  }
  return names_.DecryptName(entry_name, dir.id);
}

Result<std::vector<Entry>> Vault::List(const DirRef& dir) const {
  std::vector<Entry> entries;
  Status s = ListEach(
      dir, [&](size_t names) { entries.reserve(names); },
      [&](Entry&& entry) { entries.push_back(std::move(entry)); });
  if (!s.ok()) return s;
  return entries;
}

Status Vault::ListEach(const DirRef& dir, const std::function<void(size_t)>& reserve,
                       const std::function<void(Entry&&)>& visit) const {
  DIR* d = opendir(dir.content_path.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status(Errc::kNotFound, "directory no longer exists");
    return Status::FromErrno(errno, "list " + dir.content_path);
  }
  std::vector<std::string> names;
  while (const dirent* e = readdir(d)) names.emplace_back(e->d_name);
  closedir(d);

  reserve(names.size());
  for (const std::string& entry_name : names) {
    if (!LooksLikeNode(entry_name)) continue;
    auto name = DecryptNodeName(dir, entry_name);
    if (!name.ok()) {
      // Sync-conflict copies, foreign files and nodes of other directories.
      Log(LogLevel::kDebug,
          "skipping " + Join(dir.content_path, entry_name) + ": " + name.status().message());
      continue;
    }
    auto entry =
        LoadNode(dir, entry_name, std::move(name).value(), entry_name.ends_with(kShortenedSuffix));
    if (!entry.ok()) {
      if (entry.status().code() != Errc::kNotFound) {
        Log(LogLevel::kWarning,
            "skipping " + Join(dir.content_path, entry_name) + ": " + entry.status().message());
      }
      continue;
    }
    visit(std::move(entry).value());
  }
  return Status::Ok();
}

Entry Vault::NodeEntry(std::string name, std::string parent_id, std::string node_path,
                       NodeKind kind, bool shortened) {
  Entry entry;
  entry.name = std::move(name);
  entry.parent_id = std::move(parent_id);
  entry.node_path = std::move(node_path);
  entry.shortened = shortened;
  entry.attr.kind = kind;
  if (kind == NodeKind::kSymlink) {
    entry.set_data_path(Join(entry.node_path, kSymlinkFile));
  } else if (shortened) {
    entry.set_data_path(Join(entry.node_path, kContentsFile));
  }
  return entry;
}

Status Vault::Refresh(Entry& entry) const {
  if (auto cached = attributes_.Get(entry.data_path(), entry.kind(), entry.attr.fileid)) {
    entry.attr = *cached;
    return Status::Ok();
  }
  return RefreshFromDisk(entry);
}

Status Vault::RefreshFromDisk(Entry& entry) const {
  const uint64_t generation = attributes_.generation();
  Status s = StatInto(entry.data_path(), entry.kind(), entry.attr);
  if (s.ok()) {
    attributes_.Put(entry.data_path(), generation, entry.attr);
  } else {
    attributes_.Forget(entry.data_path());
  }
  return s;
}

void Vault::RememberParent(const std::string& dir_id, const std::string& parent_id) const {
  std::lock_guard lock(cache_mutex_);
  parent_of_[dir_id] = parent_id;
}

Status Vault::IndexAllDirectories() const {
  std::deque<DirRef> queue{root_};
  while (!queue.empty()) {
    DirRef dir = std::move(queue.front());
    queue.pop_front();
    auto entries = List(dir);  // remembers every child directory's parent
    if (!entries.ok()) continue;
    for (const Entry& e : *entries) {
      if (e.kind() == NodeKind::kDirectory) queue.push_back(e.AsDir());
    }
  }
  return Status::Ok();
}

Result<DirRef> Vault::Parent(const DirRef& dir) const {
  if (dir.id.empty()) return root_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<std::string> parent;
    {
      std::lock_guard lock(cache_mutex_);
      auto it = parent_of_.find(dir.id);
      if (it != parent_of_.end()) parent = it->second;
    }
    if (parent) return Directory(*parent);
    if (attempt == 0) {
      Status s = IndexAllDirectories();
      if (!s.ok()) return s;
    }
  }
  return Status(Errc::kNotFound, "directory " + dir.id + " is not in the tree");
}

bool Vault::IsSameOrAncestor(const std::string& ancestor_id, const std::string& dir_id) const {
  if (ancestor_id.empty()) return true;
  std::string current = dir_id;
  for (size_t depth = 0; depth < 100000 && !current.empty(); ++depth) {
    if (current == ancestor_id) return true;
    auto dir = Directory(current);
    if (!dir.ok()) return false;
    auto parent = Parent(*dir);
    if (!parent.ok()) return false;
    current = parent->id;
  }
  return false;
}

Result<Entry> Vault::ResolvePath(std::string_view path) const {
  auto root = RootEntry();
  if (!root.ok()) return root;
  Entry current = std::move(root).value();
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t slash = path.find('/', pos);
    const std::string_view component =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    pos = slash == std::string_view::npos ? path.size() + 1 : slash + 1;
    if (component.empty() || component == ".") continue;
    if (current.kind() != NodeKind::kDirectory) {
      return Status(Errc::kNotDirectory, Quoted(current.name) + " is not a directory");
    }
    if (component == "..") {
      auto parent = Parent(current.AsDir());
      if (!parent.ok()) return parent.status();
      Entry up;  // nameless: reached by "..", not found by name
      up.dir_id = parent->id;
      up.node_path = parent->content_path;  // and so its data path
      Status s = StatInto(up.data_path(), NodeKind::kDirectory, up.attr);
      if (!s.ok()) return s;
      current = std::move(up);
      continue;
    }
    auto next = Lookup(current.AsDir(), component);
    if (!next.ok()) return next;
    current = std::move(next).value();
  }
  return current;
}

Result<std::pair<DirRef, std::string>> Vault::ResolveParent(std::string_view path) const {
  while (path.ends_with('/')) path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::string_view parent = slash == std::string_view::npos ? "" : path.substr(0, slash);
  Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  auto dir = ResolvePath(parent);
  if (!dir.ok()) return dir.status();
  if (dir->kind() != NodeKind::kDirectory) {
    return Status(Errc::kNotDirectory, Quoted(parent) + " is not a directory");
  }
  return std::make_pair(dir->AsDir(), std::string(name));
}

Status Vault::WriteLongName(const std::string& node_dir, std::string_view ciphertext_name) const {
  return ReplacePlainFile(Join(node_dir, kLongNameFile), ciphertext_name, /*durable=*/false);
}

Result<Entry> Vault::CreateFile(const DirRef& dir, std::string_view name, uint32_t mode,
                                bool exclusive, std::shared_ptr<EncryptedFile>* opened) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (s.ok()) s = ValidateName(name);
  if (!s.ok()) return s;
  std::lock_guard lock(tree_mutex_);
  const std::string nfc = NormalizeNfc(name);
  // An exclusive create of an NFC name needs no lookup first: the name can
  // only be at its node path, which O_EXCL (mkdir for a shortened name)
  // finds taken, atomically (kExists). Another form of a name may have a
  // node of its own, which only a lookup finds.
  if (!exclusive || nfc != name) {
    auto existing = Lookup(dir, name);
    if (existing.ok()) {
      if (exclusive || existing->kind() == NodeKind::kSymlink) {
        return Status(Errc::kExists, Quoted(name) + " already exists");
      }
      if (existing->kind() == NodeKind::kDirectory) {
        return Status(Errc::kIsDirectory, Quoted(name) + " is a directory");
      }
      return existing;
    }
    if (existing.status().code() != Errc::kNotFound) return existing.status();
  }

  auto ciphertext_name = EncryptName(nfc, dir.id);
  if (!ciphertext_name.ok()) return ciphertext_name.status();
  const bool shortened = names_.NeedsShortening(*ciphertext_name);
  const std::string node_name = names_.NodeName(*ciphertext_name);
  const std::string node_path = Join(dir.content_path, node_name);
  // A long name's node is a directory: mkdir is the atomic existence check,
  // and name.c9s comes last, so a crash leaves an invisible node rather
  // than a misnamed one.
  if (shortened && mkdir(node_path.c_str(), 0755) != 0) {
    return Status::FromErrno(errno, "create " + node_path);
  }
  auto file = EncryptedFile::Create(
      *cryptor_, shortened ? Join(node_path, kContentsFile) : node_path, mode & 07777);
  s = file.ok() && shortened ? WriteLongName(node_path, *ciphertext_name) : file.status();
  if (!s.ok()) {
    if (shortened) (void)RemoveAll(node_path);
    return s;
  }
  auto entry = LoadNode(dir, node_name, nfc, shortened);
  if (entry.ok() && opened != nullptr) {
    std::lock_guard files_lock(files_mutex_);
    *opened = ShareLocked({entry->attr.device, entry->attr.fileid}, std::move(file).value());
  }
  return entry;
}

Result<Entry> Vault::MakeDirectory(const DirRef& dir, std::string_view name, uint32_t mode) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (s.ok()) s = ValidateName(name);
  if (!s.ok()) return s;
  std::lock_guard lock(tree_mutex_);
  auto existing = Lookup(dir, name);
  if (existing.ok()) return Status(Errc::kExists, Quoted(name) + " already exists");
  if (existing.status().code() != Errc::kNotFound) return existing.status();

  const std::string nfc = NormalizeNfc(name);
  auto ciphertext_name = EncryptName(nfc, dir.id);
  if (!ciphertext_name.ok()) return ciphertext_name.status();
  const bool shortened = names_.NeedsShortening(*ciphertext_name);
  const std::string node_name = names_.NodeName(*ciphertext_name);
  const std::string node_path = Join(dir.content_path, node_name);
  auto dir_id = NewDirectoryId();
  if (!dir_id.ok()) return dir_id.status();
  auto content_relative = names_.ContentDirPath(*dir_id);
  if (!content_relative.ok()) return content_relative.status();
  const std::string content_path = Join(path_, *content_relative);

  // Cryptomator's order (spec §9): node, dir.c9r, content directory,
  // dirid.c9r, name.c9s; undo dir.c9r if any later step fails.
  if (mkdir(node_path.c_str(), 0755) != 0) return Status::FromErrno(errno, "create " + node_path);
  s = WritePlainFile(Join(node_path, kDirFile), *dir_id, false);
  if (!s.ok()) {
    rmdir(node_path.c_str());
    return s;
  }
  const std::string bucket = content_path.substr(0, content_path.rfind('/'));
  if (mkdir(bucket.c_str(), 0755) != 0 && errno != EEXIST) {
    s = Status::FromErrno(errno, "create " + bucket);
  } else if (mkdir(content_path.c_str(), 0700) != 0) {
    s = Status::FromErrno(errno, "create " + content_path);
  } else {
    s = WriteSmallEncryptedFile(*cryptor_, Join(content_path, kDirIdBackupFile), *dir_id,
                                /*final_empty_chunk=*/true);
    if (s.ok() && chmod(content_path.c_str(), mode & 07777) != 0) {
      s = Status::FromErrno(errno, "chmod " + content_path);
    }
    if (s.ok() && shortened) s = WriteLongName(node_path, *ciphertext_name);
    if (!s.ok()) (void)RemoveAll(content_path);
  }
  if (!s.ok()) {
    (void)RemoveAll(node_path);
    return s;
  }
  return LoadNode(dir, node_name, nfc, shortened);
}

Result<Entry> Vault::MakeSymlink(const DirRef& dir, std::string_view name,
                                 std::string_view target) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (s.ok()) s = ValidateName(name);
  if (!s.ok()) return s;
  if (target.empty()) return Status(Errc::kInvalidArgument, "a symlink target may not be empty");
  if (target.size() > kMaxSymlinkTarget)
    return Status(Errc::kNameTooLong, "symlink target too long");
  std::lock_guard lock(tree_mutex_);
  auto existing = Lookup(dir, name);
  if (existing.ok()) return Status(Errc::kExists, Quoted(name) + " already exists");
  if (existing.status().code() != Errc::kNotFound) return existing.status();

  const std::string nfc = NormalizeNfc(name);
  auto ciphertext_name = EncryptName(nfc, dir.id);
  if (!ciphertext_name.ok()) return ciphertext_name.status();
  const bool shortened = names_.NeedsShortening(*ciphertext_name);
  const std::string node_name = names_.NodeName(*ciphertext_name);
  const std::string node_path = Join(dir.content_path, node_name);
  if (mkdir(node_path.c_str(), 0755) != 0) return Status::FromErrno(errno, "create " + node_path);
  s = WriteSmallEncryptedFile(*cryptor_, Join(node_path, kSymlinkFile), target,
                              /*final_empty_chunk=*/false);
  if (s.ok() && shortened) s = WriteLongName(node_path, *ciphertext_name);
  if (!s.ok()) {
    (void)RemoveAll(node_path);
    return s;
  }
  return LoadNode(dir, node_name, nfc, shortened);
}

Result<std::string> Vault::ReadLink(const Entry& entry) const {
  if (entry.kind() != NodeKind::kSymlink) {
    return Status(Errc::kInvalidArgument, Quoted(entry.name) + " is not a symlink");
  }
  return ReadSmallEncryptedFile(*cryptor_, entry.data_path(), kMaxSymlinkTarget);
}

Status Vault::RemoveNodeLocked(const Entry& entry) {
  if (entry.kind() == NodeKind::kFile && !entry.shortened) {
    if (unlink(entry.node_path.c_str()) != 0)
      return Status::FromErrno(errno, "remove " + entry.node_path);
    return Status::Ok();
  }
  return RemoveAll(entry.node_path);
}

Status Vault::Remove(const DirRef& dir, std::string_view name) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  std::lock_guard lock(tree_mutex_);
  auto entry = Lookup(dir, name);
  if (!entry.ok()) return entry.status();
  if (entry->kind() == NodeKind::kDirectory) {
    return Status(Errc::kIsDirectory, Quoted(entry->name) + " is a directory");
  }
  return RemoveNodeLocked(*entry);
}

Status Vault::RemoveDirectoryLocked(const Entry& entry) {
  // (1) The content directory, if it holds no visible node; whatever else
  // is in it (dirid.c9r, stray files, hidden broken nodes) goes with it.
  const DirRef self = entry.AsDir();
  DIR* d = opendir(self.content_path.c_str());
  if (d == nullptr) return Status::FromErrno(errno, "list " + self.content_path);
  std::vector<std::string> leftovers;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    leftovers.push_back(name);
  }
  closedir(d);
  for (const std::string& name : leftovers) {
    if (!LooksLikeNode(name)) continue;
    auto cleartext = DecryptNodeName(self, name);
    if (!cleartext.ok()) continue;
    auto child =
        LoadNode(self, name, std::move(cleartext).value(), name.ends_with(kShortenedSuffix));
    if (child.ok() || child.status().code() != Errc::kNotFound) {
      return Status(Errc::kNotEmpty, Quoted(entry.name) + " is not empty");
    }
  }
  for (const std::string& name : leftovers) {
    Status s = RemoveAll(Join(self.content_path, name));
    if (!s.ok()) return s;
  }
  if (rmdir(self.content_path.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) {
      return Status(Errc::kNotEmpty, Quoted(entry.name) + " is not empty");
    }
    return Status::FromErrno(errno, "remove " + self.content_path);
  }
  // (2) The node. A crash before this leaves a dir.c9r pointing nowhere,
  // which listings hide. The shared d/XX level stays (spec §9).
  {
    std::lock_guard lock(cache_mutex_);
    parent_of_.erase(entry.dir_id);
    content_path_cache_.erase(entry.dir_id);
  }
  return RemoveAll(entry.node_path);
}

Status Vault::RemoveDirectory(const DirRef& dir, std::string_view name) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  std::lock_guard lock(tree_mutex_);
  auto entry = Lookup(dir, name);
  if (!entry.ok()) return entry.status();
  if (entry->kind() != NodeKind::kDirectory) {
    return Status(Errc::kNotDirectory, Quoted(entry->name) + " is not a directory");
  }
  return RemoveDirectoryLocked(*entry);
}

Status Vault::Rename(const DirRef& from, std::string_view from_name, const DirRef& to,
                     std::string_view to_name) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (s.ok()) s = ValidateName(from_name);
  if (s.ok()) s = ValidateName(to_name);
  if (!s.ok()) return s;
  std::lock_guard lock(tree_mutex_);
  auto source = Lookup(from, from_name);
  if (!source.ok()) return source.status();
  const Entry& src = *source;

  // The target follows Lookup's policy: a node stored under exactly these
  // bytes (a non-NFC name written by another tool) first, else the NFC
  // form new nodes get. Always using NFC would make rename(x, x) of a
  // non-NFC node replace its NFC twin.
  std::string target_name = NormalizeNfc(to_name);
  if (target_name != to_name) {
    auto exact = LookupExact(to, to_name);
    if (exact.ok()) {
      target_name = std::string(to_name);
    } else if (exact.status().code() != Errc::kNotFound) {
      return exact.status();
    }
  }
  auto ciphertext_name = EncryptName(target_name, to.id);
  if (!ciphertext_name.ok()) return ciphertext_name.status();
  const bool shortened = names_.NeedsShortening(*ciphertext_name);
  const std::string node_name = names_.NodeName(*ciphertext_name);
  const std::string node_path = Join(to.content_path, node_name);
  if (node_path == src.node_path) return Status::Ok();  // renamed onto itself

  if (src.kind() == NodeKind::kDirectory && IsSameOrAncestor(src.dir_id, to.id)) {
    return Status(Errc::kInvalidArgument,
                  "cannot move \"" + src.name + "\" into itself or one of its subdirectories");
  }
  auto target = LoadNode(to, node_name, target_name, shortened);
  if (!target.ok() && target.status().code() != Errc::kNotFound) return target.status();
  if (target.ok()) {
    const Entry& dst = *target;
    if (src.kind() == NodeKind::kDirectory) {
      if (dst.kind() != NodeKind::kDirectory) {
        return Status(Errc::kNotDirectory, Quoted(dst.name) + " is not a directory");
      }
      s = RemoveDirectoryLocked(dst);  // fails unless empty
    } else if (dst.kind() == NodeKind::kDirectory) {
      return Status(Errc::kIsDirectory, Quoted(dst.name) + " is a directory");
    } else if (!(src.kind() == NodeKind::kFile && dst.kind() == NodeKind::kFile)) {
      s = RemoveNodeLocked(dst);  // kinds differ: no atomic replace exists
    }
    if (!s.ok()) return s;
  }

  if (src.kind() == NodeKind::kFile) {
    // Target name first, then the one atomic rename of the ciphertext,
    // then the old node directory (spec §9).
    std::string data_target = node_path;
    if (shortened) {
      if (mkdir(node_path.c_str(), 0755) != 0 && errno != EEXIST) {
        return Status::FromErrno(errno, "create " + node_path);
      }
      s = WriteLongName(node_path, *ciphertext_name);
      if (!s.ok()) return s;
      data_target = Join(node_path, kContentsFile);
    }
    if (rename(src.data_path().c_str(), data_target.c_str()) != 0) {
      return Status::FromErrno(errno, "rename " + src.data_path());
    }
    if (src.shortened) return RemoveAll(src.node_path);
    return Status::Ok();
  }

  // Directories and symlinks: the node directory moves in one rename; the
  // new long name is staged inside it first and switched in after.
  const std::string staged = Join(src.node_path, kStagedLongNameFile);
  if (shortened) {
    unlink(staged.c_str());
    s = WritePlainFile(staged, *ciphertext_name, true);
    if (!s.ok()) return s;
  }
  if (rename(src.node_path.c_str(), node_path.c_str()) != 0) {
    const int err = errno;
    if (shortened) unlink(staged.c_str());
    return Status::FromErrno(err, "rename " + src.node_path);
  }
  const std::string long_name = Join(node_path, kLongNameFile);
  if (shortened) {
    if (rename(Join(node_path, kStagedLongNameFile).c_str(), long_name.c_str()) != 0) {
      return Status::FromErrno(errno, "rename " + long_name);
    }
  } else if (unlink(long_name.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove " + long_name);
  }
  if (src.kind() == NodeKind::kDirectory) RememberParent(src.dir_id, to.id);
  return Status::Ok();
}

Status Vault::SetMode(const Entry& entry, uint32_t mode) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  if (chmod(entry.data_path().c_str(), mode & 07777) != 0) {
    return Status::FromErrno(errno, "chmod " + entry.data_path());
  }
  return Status::Ok();
}

Status Vault::SetTimes(const Entry& entry, std::optional<timespec> atime,
                       std::optional<timespec> mtime) {
  const AttributeCache::ChangeScope change(&attributes_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  timespec times[2];
  times[0] = atime.value_or(timespec{0, UTIME_OMIT});
  times[1] = mtime.value_or(timespec{0, UTIME_OMIT});
  if (utimensat(AT_FDCWD, entry.data_path().c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno(errno, "set times of " + entry.data_path());
  }
  return Status::Ok();
}

std::shared_ptr<EncryptedFile> Vault::FindOpenFile(const Entry& entry) {
  if (entry.kind() != NodeKind::kFile) return nullptr;
  const FileKey key{entry.attr.device, entry.attr.fileid};
  std::lock_guard lock(files_mutex_);
  auto it = open_files_.find(key);
  return it == open_files_.end() ? nullptr : it->second.lock();
}

Result<std::shared_ptr<EncryptedFile>> Vault::OpenFile(const Entry& entry) {
  if (entry.kind() != NodeKind::kFile) {
    return Status(
        entry.kind() == NodeKind::kDirectory ? Errc::kIsDirectory : Errc::kInvalidArgument,
        Quoted(entry.name) + " is not a regular file");
  }
  struct stat st;
  if (stat(entry.data_path().c_str(), &st) != 0)
    return Status::FromErrno(errno, "open " + entry.data_path());
  const FileKey key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  std::lock_guard lock(files_mutex_);
  if (auto it = open_files_.find(key); it != open_files_.end()) {
    if (auto file = it->second.lock()) return file;
  }
  auto mode = read_only_ ? EncryptedFile::Mode::kReadOnly : EncryptedFile::Mode::kReadWrite;
  auto file = EncryptedFile::Open(*cryptor_, entry.data_path(), mode);
  if (!file.ok() && file.status().code() == Errc::kPermission && !read_only_ &&
      st.st_uid == geteuid() && (st.st_mode & S_IWUSR) == 0) {
    // The owner of a read-only file may still write it through a
    // descriptor it holds: a program that creates a file 0444 (git objects,
    // cp of a read-only file) writes it next. NFS servers allow this (knfsd's
    // owner override); the mode bits are back in place at once.
    if (chmod(entry.data_path().c_str(), (st.st_mode & 07777) | S_IWUSR) == 0) {
      const AttributeCache::ChangeScope change(&attributes_);  // ctime moves
      file = EncryptedFile::Open(*cryptor_, entry.data_path(), mode);
      chmod(entry.data_path().c_str(), st.st_mode & 07777);
    }
  }
  if (!file.ok() && file.status().code() == Errc::kPermission && !read_only_) {
    file = EncryptedFile::Open(*cryptor_, entry.data_path(), EncryptedFile::Mode::kReadOnly);
  }
  if (!file.ok()) return file.status();
  return ShareLocked(key, std::move(file).value());
}

std::shared_ptr<EncryptedFile> Vault::ShareLocked(const FileKey& key,
                                                  std::unique_ptr<EncryptedFile> file) {
  std::shared_ptr<EncryptedFile> shared = std::move(file);
  shared->ReportChangesTo(&attributes_, key.inode);
  if (open_files_.size() > 1024) {
    std::erase_if(open_files_, [](const auto& kv) { return kv.second.expired(); });
  }
  open_files_[key] = shared;
  return shared;
}

}  // namespace vaultcore
