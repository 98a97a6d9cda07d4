#include "server/node_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include "vaultcore/encrypted_file.h"
#include "vaultcore/vault_layout.h"

namespace server {

using vaultcore::Entry;
using vaultcore::Errc;
using vaultcore::NodeKind;
using vaultcore::Result;
using vaultcore::Status;

namespace {

// Parents of places, and removed inodes: past this many, start again.
constexpr size_t kMaxRemembered = 1 << 16;
constexpr size_t kMaxCachedListings = 64;
// A cached listing up to this long gets its attributes read again when they
// are past the attribute cache's TTL (a stat per entry, about 1 µs); a
// longer one would stall the I/O thread, and its pages refresh entry by
// entry instead.
constexpr size_t kMaxRereadEntries = 10'000;
// A stale handle must not make every request walk the whole tree.
constexpr auto kWalkInterval = std::chrono::seconds(2);
// File-system time stamps advance in ticks of a few milliseconds; a listing
// taken within this long of the directory's last change may miss a second
// change in the same tick that leaves the stat unchanged.
constexpr int64_t kRacyWindowNs = 100'000'000;
constexpr size_t kMaxDirIdFile = 4096;

std::string HashKey(const vaultcore::Sha1Digest& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool SameDirectoryState(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_nlink == b.st_nlink && SameTime(a.st_mtim, b.st_mtim) &&
         SameTime(a.st_ctim, b.st_ctim);
}

int64_t Nanoseconds(const timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

HandleKind KindOf(NodeKind kind) {
  switch (kind) {
    case NodeKind::kDirectory:
      return HandleKind::kDirectory;
    case NodeKind::kSymlink:
      return HandleKind::kSymlink;
    case NodeKind::kFile:
      break;
  }
  return HandleKind::kFile;
}

// FNV-1a: the verifier only has to change when the listing does.
void Mix(uint64_t& h, std::string_view bytes) {
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
}

uint64_t VerifierOf(const std::vector<ListedNode>& nodes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const ListedNode& node : nodes) {
    Mix(h, node.node_name);
    const uint64_t id = node.attr.fileid;
    Mix(h, std::string_view(reinterpret_cast<const char*>(&id), sizeof id));
  }
  return h == 0 ? 1 : h;  // a client's first READDIR sends 0
}

constexpr std::array<uint8_t, 8> kNoNonce{};

// Whether `path` is `dir`/`name`.
bool IsPathOf(std::string_view dir, std::string_view name, std::string_view path) {
  return path.size() == dir.size() + 1 + name.size() && path.starts_with(dir) &&
         path[dir.size()] == '/' && path.ends_with(name);
}

// `entry`, one of the nodes of the directory whose content path is
// `content_path`, as its listing keeps it.
ListedNode ToListedNode(Entry&& entry, std::string_view content_path) {
  ListedNode node;
  node.node_name = entry.node_path.substr(content_path.size() + 1);
  node.name = std::move(entry.name);
  if (entry.kind() == NodeKind::kDirectory) {
    node.subdirectory = std::make_shared<const vaultcore::DirRef>(
        vaultcore::DirRef{std::move(entry.dir_id), entry.data_path()});
  }
  node.shortened = entry.shortened;
  node.attr = entry.attr;
  return node;
}

}  // namespace

void Listing::Fill(const ListedNode& node, Entry& entry) const {
  using vaultcore::vault_layout::Join;
  entry.name.assign(node.name);
  entry.parent_id.assign(dir.id);
  entry.node_path.assign(dir.content_path).append("/").append(node.node_name);
  entry.shortened = node.shortened;
  entry.attr = node.attr;
  if (node.subdirectory) {
    entry.dir_id.assign(node.subdirectory->id);
    entry.set_data_path(node.subdirectory->content_path);
    return;
  }
  // Where the content is, by the rules of Vault::NodeEntry.
  entry.dir_id.clear();
  if (node.kind() == NodeKind::kSymlink) {
    entry.set_data_path(Join(entry.node_path, vaultcore::vault_layout::kSymlinkFile));
  } else if (node.shortened) {
    entry.set_data_path(Join(entry.node_path, vaultcore::vault_layout::kContentsFile));
  } else {
    entry.set_data_path({});
  }
}

Entry Listing::EntryOf(const ListedNode& node) const {
  Entry entry;
  Fill(node, entry);
  return entry;
}

std::shared_ptr<const vaultcore::DirRef> NodeTable::ParentLocked(const std::string& id,
                                                                 std::string_view content_path) {
  // Places hold their parents themselves: forgetting them all is safe.
  if (parents_.size() >= kMaxRemembered && !parents_.contains(id)) parents_.clear();
  std::shared_ptr<const vaultcore::DirRef>& parent = parents_[id];
  if (parent == nullptr) {
    parent =
        std::make_shared<const vaultcore::DirRef>(vaultcore::DirRef{id, std::string(content_path)});
  }
  return parent;
}

NodeTable::NodeNames::NodeNames(std::string_view node_name, std::string_view name, NodeKind kind,
                                bool shortened)
    : bytes_(new char[sizeof(Header) + node_name.size() + name.size()]) {
  const Header header{static_cast<uint16_t>(node_name.size()), static_cast<uint16_t>(name.size()),
                      static_cast<uint8_t>(kind), shortened};
  char* p = bytes_.get();
  std::memcpy(p, &header, sizeof header);
  std::memcpy(p + sizeof header, node_name.data(), node_name.size());
  std::memcpy(p + sizeof header + node_name.size(), name.data(), name.size());
}

NodeTable::NodeNames::Header NodeTable::NodeNames::header() const {
  Header header;
  std::memcpy(&header, bytes_.get(), sizeof header);
  return header;
}

std::string_view NodeTable::NodeNames::node_name() const {
  return {bytes_.get() + sizeof(Header), header().node_name_size};
}

std::string_view NodeTable::NodeNames::name() const {
  const Header h = header();
  return {bytes_.get() + sizeof(Header) + h.node_name_size, h.name_size};
}

const ListedNode* NodeTable::FileLocation::listed_node() const {
  const Listed* listed = std::get_if<Listed>(&where);
  return listed != nullptr ? listed->node : nullptr;
}

const FileHandle* NodeTable::FileLocation::reusable_handle() const {
  if (!issued || !std::ranges::equal(issued->nonce_prefix(), nonce)) return nullptr;
  return &*issued;
}

NodeTable::Place NodeTable::PlaceOfLocked(const Entry& entry) {
  const std::string_view node_path = entry.node_path;
  const size_t slash = node_path.rfind('/');
  return Place{ParentLocked(entry.parent_id, node_path.substr(0, slash)),
               NodeNames(node_path.substr(slash + 1), entry.name, entry.kind(), entry.shortened)};
}

// Whether `location` names the node of `entry`, as the same kind of
// object.
bool NodeTable::SamePlace(const FileLocation& location, const Entry& entry) {
  if (const Place* place = std::get_if<Place>(&location.where)) {
    return place->names.kind() == entry.kind() &&
           IsPathOf(place->parent->content_path, place->names.node_name(), entry.node_path);
  }
  const Listed* listed = std::get_if<Listed>(&location.where);
  return listed != nullptr && listed->node->kind() == entry.kind() &&
         IsPathOf(listed->listing->dir.content_path, listed->node->node_name, entry.node_path);
}

NodeTable::NodeTable(vaultcore::Vault& vault, size_t max_remembered_files,
                     size_t max_remembered_directories)
    : vault_(vault),
      codec_(vault.master_key()),
      max_remembered_files_(max_remembered_files),
      max_remembered_directories_(max_remembered_directories) {
  auto hash = vault_.names().DirectoryHash("");
  if (hash.ok()) root_hash_ = *hash;
  dir_ids_[HashKey(root_hash_)] = "";
  root_handle_ = codec_.Encode({HandleKind::kDirectory, root_hash_, 0, {}});
}

Result<std::array<uint8_t, 8>> NodeTable::NoncePrefix(const std::string& data_path) const {
  std::array<uint8_t, 8> prefix{};
  // O_NOATIME: the server looking at a header must not move the atime a
  // client set (CREATE EXCLUSIVE keeps its verifier there). Only the
  // file's owner (or root) may ask for it.
  int fd = open(data_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(data_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "open " + data_path);
  const ssize_t n = pread(fd, prefix.data(), prefix.size(), 0);
  const int err = errno;
  close(fd);
  if (n < 0) return Status::FromErrno(err, "read " + data_path);
  if (static_cast<size_t>(n) < prefix.size()) return kNoNonce;  // no header yet
  return prefix;
}

Result<std::array<uint8_t, 8>> NodeTable::NoncePrefixOf(const Entry& entry) const {
  // A file this server holds open (one it just created or wrote) has its
  // header in memory, and its inode cannot be reused while it is open.
  if (auto file = vault_.FindOpenFile(entry)) {
    if (auto header_nonce = file->header_nonce()) {
      std::array<uint8_t, 8> prefix{};
      std::copy_n(header_nonce->begin(), prefix.size(), prefix.begin());
      return prefix;
    }
  }
  return NoncePrefix(entry.data_path());
}

Result<vaultcore::Sha1Digest> NodeTable::HashOf(const std::string& dir_id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = hashes_.find(dir_id); it != hashes_.end()) return it->second;
  }
  auto hash = vault_.names().DirectoryHash(dir_id);
  if (!hash.ok()) return hash.status();
  std::lock_guard lock(mutex_);
  if (dir_ids_.size() >= max_remembered_directories_) {
    hashes_.clear();
    dir_ids_.clear();
    dir_ids_[HashKey(root_hash_)] = "";  // the root has no parent to find it in
  }
  hashes_[dir_id] = *hash;
  dir_ids_[HashKey(*hash)] = dir_id;
  return hash;
}

size_t NodeTable::RememberedDirectories() {
  std::lock_guard lock(mutex_);
  return dir_ids_.size();
}

void NodeTable::ListedHandles(std::span<const ListedNode> nodes,
                              std::span<std::optional<FileHandle>> handles) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ListedNode& node = nodes[i];
    auto it = files_.find(node.attr.fileid);
    const FileHandle* handle = nullptr;
    if (it != files_.end() && it->second.listed_node() == &node &&
        SameTime(it->second.ctime, node.attr.ctime)) {
      handle = it->second.reusable_handle();
    }
    if (handle == nullptr) {
      handles[i].reset();
    } else {
      handles[i] = *handle;
    }
  }
}

Result<FileHandle> NodeTable::HandleFor(const Entry& entry, const ListedNode* listed) {
  if (entry.kind() == NodeKind::kDirectory) {
    auto hash = HashOf(entry.dir_id);
    if (!hash.ok()) return hash.status();
    return codec_.Encode({HandleKind::kDirectory, *hash, 0, {}});
  }
  {
    std::lock_guard lock(mutex_);
    auto it = files_.find(entry.attr.fileid);
    const FileHandle* handle = it == files_.end() ? nullptr : it->second.reusable_handle();
    if (handle != nullptr && SameTime(it->second.ctime, entry.attr.ctime) &&
        ((listed != nullptr && it->second.listed_node() == listed) ||
         SamePlace(it->second, entry))) {
      return *handle;
    }
  }
  // Every entry of a READDIRPLUS page needs its parent's hash: HashOf
  // computes it once (an AES-SIV encryption and a SHA-1).
  auto parent_hash = HashOf(entry.parent_id);
  if (!parent_hash.ok()) return parent_hash.status();
  std::array<uint8_t, 8> nonce = kNoNonce;
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    // The same inode and ctime under another name may be a new file on a
    // reused inode, made in the same clock tick (ext4's ctime moves every
    // few milliseconds): its nonce must come from its own header.
    auto it = files_.find(entry.attr.fileid);
    if (it != files_.end() && SameTime(it->second.ctime, entry.attr.ctime) &&
        SamePlace(it->second, entry) && it->second.nonce != kNoNonce) {
      nonce = it->second.nonce;
      known = true;
    }
  }
  if (!known) {
    auto read = NoncePrefixOf(entry);
    if (!read.ok()) return read.status();
    nonce = *read;
  }
  RememberFile(entry, nonce);
  HandleFields fields{KindOf(entry.kind()), IssuedHint(entry.attr.fileid, *parent_hash),
                      entry.attr.fileid, nonce};
  FileHandle handle = codec_.Encode(fields);
  std::lock_guard lock(mutex_);
  auto it = files_.find(entry.attr.fileid);
  if (it == files_.end() || it->second.nonce != nonce) return handle;
  FileLocation& location = it->second;
  if (location.issued && !std::ranges::equal(location.issued->dir_hash(), fields.dir_hash)) {
    // Another thread gave out a handle with another hint first (the file
    // was moved meanwhile): give out the same.
    std::ranges::copy(location.issued->dir_hash(), fields.dir_hash.begin());
    handle = codec_.Encode(fields);
  }
  location.issued = handle;
  return handle;
}

vaultcore::Sha1Digest NodeTable::IssuedHint(uint64_t inode, const vaultcore::Sha1Digest& current) {
  std::lock_guard lock(mutex_);
  auto it = files_.find(inode);
  if (it == files_.end() || !it->second.issued) return current;
  vaultcore::Sha1Digest hint;
  std::ranges::copy(it->second.issued->dir_hash(), hint.begin());
  return hint;
}

void NodeTable::KeepIssued(uint64_t inode, const FileHandle& handle) {
  std::lock_guard lock(mutex_);
  auto it = files_.find(inode);
  if (it != files_.end() && !it->second.issued) it->second.issued = handle;
}

Result<Entry> NodeTable::Resolve(std::span<const uint8_t> handle, bool from_cache) {
  auto fields = codec_.Decode(handle);
  if (!fields) return Status(Errc::kInvalidArgument, "not a file handle of this vault");
  if (fields->kind == HandleKind::kDirectory) return ResolveDirectory(*fields, from_cache);
  auto entry = ResolveFile(*fields, from_cache);
  if (entry.ok()) {
    FileHandle presented;
    std::copy(handle.begin(), handle.end(), presented.bytes.begin());
    KeepIssued(fields->inode, presented);
  }
  return entry;
}

std::string NodeTable::ContentPathOf(const vaultcore::Sha1Digest& hash) const {
  return vault_.path() + "/" + vaultcore::NameCipher::ContentDirPathOfHash(hash);
}

Result<Entry> NodeTable::ResolveDirectory(const HandleFields& fields, bool from_cache) {
  auto id = DirectoryIdOf(fields.dir_hash);
  if (!id.ok()) return id.status();
  // The hash names the content directory: no need to derive it from the
  // id again, and the stat of Refresh is what tells a removed directory.
  const vaultcore::DirRef dir{std::move(id).value(), ContentPathOf(fields.dir_hash)};
  Entry entry = DirectoryEntry(dir);
  Status s = from_cache ? vault_.Refresh(entry) : vault_.RefreshFromDisk(entry);
  if (!s.ok()) {
    if (s.code() == Errc::kNotFound) return Status(Errc::kNotFound, "directory was removed");
    return s;
  }
  return entry;
}

Result<std::string> NodeTable::DirectoryIdOf(const vaultcore::Sha1Digest& hash) {
  const std::string key = HashKey(hash);
  {
    std::lock_guard lock(mutex_);
    if (auto it = dir_ids_.find(key); it != dir_ids_.end()) return it->second;
  }
  // Not seen since this process started: every directory keeps an
  // encrypted copy of its own id (spec §6.4); trust it only if it hashes
  // back to the handle's location.
  const std::string content = ContentPathOf(hash);
  struct stat st;
  if (stat(content.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(Errc::kNotFound, "directory was removed");
  }
  auto id =
      vaultcore::ReadSmallEncryptedFile(vault_.cryptor(), content + "/dirid.c9r", kMaxDirIdFile);
  if (id.ok()) {
    auto check = vault_.names().DirectoryHash(*id);
    if (check.ok() && *check == hash) {
      RememberDirectory(*id);
      return std::move(id).value();
    }
  }
  WalkTree();  // no usable backup: find it the long way
  std::lock_guard lock(mutex_);
  if (auto it = dir_ids_.find(key); it != dir_ids_.end()) return it->second;
  return Status(Errc::kNotFound, "directory is no longer in the tree");
}

std::optional<Result<Entry>> NodeTable::CheckFileAt(Entry entry, const timespec& ctime,
                                                    const std::array<uint8_t, 8>& known_nonce,
                                                    const HandleFields& fields, bool from_cache) {
  const Status s = from_cache ? vault_.Refresh(entry) : vault_.RefreshFromDisk(entry);
  if (!s.ok() || entry.attr.fileid != fields.inode) return std::nullopt;
  if (fields.nonce_prefix == kNoNonce) return Result<Entry>(std::move(entry));
  std::array<uint8_t, 8> nonce = known_nonce;
  if (nonce == kNoNonce || !SameTime(ctime, entry.attr.ctime)) {
    auto read = NoncePrefixOf(entry);
    if (!read.ok()) return Result<Entry>(read.status());
    nonce = *read;
    RememberFile(entry, nonce);
  }
  // A file that has lost its header altogether cannot be told apart.
  if (nonce != kNoNonce && nonce != fields.nonce_prefix) {
    return Result<Entry>(Status(Errc::kNotFound, "the file was removed and its inode reused"));
  }
  return Result<Entry>(std::move(entry));
}

std::optional<Result<Entry>> NodeTable::ResolveFileIn(const std::shared_ptr<const Listing>& listing,
                                                      const HandleFields& fields, bool from_cache) {
  for (const ListedNode& node : listing->nodes) {
    if (node.kind() != NodeKind::kDirectory && node.attr.fileid == fields.inode) {
      Entry entry = listing->EntryOf(node);
      Remember(entry, /*moved=*/false);
      return CheckFileAt(std::move(entry), {}, kNoNonce, fields, from_cache);
    }
  }
  return std::nullopt;
}

Result<Entry> NodeTable::ResolveFile(const HandleFields& fields, bool from_cache) {
  auto remembered = [&]() -> std::optional<Result<Entry>> {
    Entry entry;
    timespec ctime{};
    std::array<uint8_t, 8> nonce{};
    {
      std::lock_guard lock(mutex_);
      auto it = files_.find(fields.inode);
      if (it == files_.end()) return std::nullopt;
      entry = EntryAt(fields.inode, it->second);
      ctime = it->second.ctime;
      nonce = it->second.nonce;
    }
    return CheckFileAt(std::move(entry), ctime, nonce, fields, from_cache);
  };
  if (auto entry = remembered()) return std::move(*entry);
  {
    std::lock_guard lock(mutex_);
    if (removed_.contains(fields.inode)) return Status(Errc::kNotFound, "file was removed");
  }
  // Renamed, or not seen since a restart: the directory it was made in is
  // the best guess, then the whole tree. Both use the cached listings, so
  // a client retrying a stale handle costs a stat per directory, not a
  // decryption of every name in it.
  if (auto parent_id = DirectoryIdOf(fields.dir_hash); parent_id.ok()) {
    if (auto dir = vault_.Directory(*parent_id); dir.ok()) {
      if (auto listing = List(DirectoryEntry(*dir)); listing.ok()) {
        if (auto entry = ResolveFileIn(*listing, fields, from_cache)) return std::move(*entry);
      }
    }
  }
  std::optional<Result<Entry>> found;
  WalkTree([&](const std::shared_ptr<const Listing>& listing) {
    if (!found) found = ResolveFileIn(listing, fields, from_cache);
  });
  if (found) return std::move(*found);
  // Too soon after another walk to make one: that walk may have found it.
  if (auto entry = remembered()) return std::move(*entry);
  return Status(Errc::kNotFound, "file was removed");
}

Entry NodeTable::EntryAt(uint64_t inode, const FileLocation& location) {
  if (const Listed* listed = std::get_if<Listed>(&location.where)) {
    return listed->listing->EntryOf(*listed->node);
  }
  const Place& place = std::get<Place>(location.where);
  Entry entry = vaultcore::Vault::NodeEntry(
      std::string(place.names.name()), place.parent->id,
      vaultcore::vault_layout::Join(place.parent->content_path, place.names.node_name()),
      place.names.kind(), place.names.shortened());
  entry.attr.fileid = inode;  // lets Refresh take the cache's attributes of this object only
  return entry;
}

void NodeTable::RememberFile(const Entry& entry, const std::array<uint8_t, 8>& nonce) {
  std::lock_guard lock(mutex_);
  RememberFileLocked(entry, nonce, {});
}

void NodeTable::RememberFileLocked(const Entry& entry, const std::array<uint8_t, 8>& nonce,
                                   Listed listed) {
  if (files_.size() >= max_remembered_files_) files_.clear();
  removed_.erase(entry.attr.fileid);  // the inode has been reused
  FileLocation& location = files_[entry.attr.fileid];
  // Another file on a reused inode (another header) gets handles of its
  // own, though its nonce was not known when its ctime was seen to move.
  if (location.issued && nonce != kNoNonce &&
      !std::ranges::equal(location.issued->nonce_prefix(), kNoNonce) &&
      !std::ranges::equal(location.issued->nonce_prefix(), nonce)) {
    location.issued.reset();
  }
  if (listed) {
    location.where = std::move(listed);
  } else if (!SamePlace(location, entry)) {
    location.where = PlaceOfLocked(entry);
  }
  location.ctime = entry.attr.ctime;
  location.nonce = nonce;
}

void NodeTable::RememberDirectory(const std::string& dir_id) { (void)HashOf(dir_id); }

void NodeTable::Remember(const Entry& entry, bool moved) {
  if (entry.kind() == NodeKind::kDirectory) {
    RememberDirectory(entry.dir_id);
    return;
  }
  std::lock_guard lock(mutex_);
  RememberLocked(entry, moved, {});
}

void NodeTable::RememberLocked(const Entry& entry, bool moved, Listed listed) {
  // Keep a nonce already known: for a file this server moved (a rename
  // changes ctime, not the content), or one whose ctime has not changed.
  std::array<uint8_t, 8> nonce = kNoNonce;
  auto it = files_.find(entry.attr.fileid);
  if (it != files_.end() && (moved || SameTime(it->second.ctime, entry.attr.ctime))) {
    nonce = it->second.nonce;
  }
  RememberFileLocked(entry, nonce, std::move(listed));
}

void NodeTable::RememberListed(const std::shared_ptr<const Listing>& listing,
                               const std::string& dir_id) {
  std::vector<const std::string*> child_dirs;
  {
    std::lock_guard lock(mutex_);
    // Only a cached listing is pointed into: DetachLocked lets go of it
    // when it leaves the cache.
    auto cached = listings_.find(dir_id);
    const bool point_into = cached != listings_.end() && cached->second.listing == listing;
    Entry entry;  // each node in turn, its strings' memory reused
    for (const ListedNode& node : listing->nodes) {
      if (node.subdirectory) {
        child_dirs.push_back(&node.subdirectory->id);
      } else {
        listing->Fill(node, entry);
        RememberLocked(entry, /*moved=*/false, point_into ? Listed{listing, &node} : Listed{});
      }
    }
  }
  for (const std::string* id : child_dirs) RememberDirectory(*id);  // HashOf takes the lock
}

void NodeTable::DetachLocked(const Listing& listing) {
  for (const ListedNode& node : listing.nodes) {
    if (node.subdirectory) continue;
    auto it = files_.find(node.attr.fileid);
    if (it != files_.end() && it->second.listed_node() == &node) {
      it->second.where = Place{ParentLocked(listing.dir.id, listing.dir.content_path),
                               NodeNames(node.node_name, node.name, node.kind(), node.shortened)};
    }
  }
}

void NodeTable::ForgetListingLocked(std::unordered_map<std::string, CachedListing>::iterator it) {
  DetachLocked(*it->second.listing);
  listing_lru_.erase(it->second.lru);
  listings_.erase(it);
}

Result<Entry> NodeTable::Parent(const Entry& dir) {
  auto up = vault_.Parent(dir.AsDir());
  if (!up.ok()) return up.status();
  Entry parent = DirectoryEntry(*up);
  Status s = vault_.Refresh(parent);
  if (!s.ok()) return s;
  return parent;
}

Entry NodeTable::DirectoryEntry(const vaultcore::DirRef& dir) {
  Entry entry;
  entry.dir_id = dir.id;
  entry.node_path = dir.content_path;
  entry.set_data_path(dir.content_path);
  entry.attr.kind = NodeKind::kDirectory;
  return entry;
}

void NodeTable::WalkTree(const std::function<void(const std::shared_ptr<const Listing>&)>& visit) {
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (last_walk_ != std::chrono::steady_clock::time_point{} && now - last_walk_ < kWalkInterval) {
      return;
    }
    last_walk_ = now;
  }
  // Cached listings of unchanged directories are reused, and every entry
  // remembered again (the remembered locations may have been dropped).
  std::deque<vaultcore::DirRef> queue{vault_.Root()};
  while (!queue.empty()) {
    vaultcore::DirRef dir = std::move(queue.front());
    queue.pop_front();
    auto listing = List(DirectoryEntry(dir));
    if (!listing.ok()) continue;
    RememberListed(*listing, dir.id);
    if (visit) visit(*listing);
    for (const ListedNode& node : (*listing)->nodes) {
      if (node.subdirectory) queue.push_back(*node.subdirectory);
    }
  }
}

Result<std::shared_ptr<const Listing>> NodeTable::List(const Entry& dir) {
  struct stat before;
  if (stat(dir.data_path().c_str(), &before) != 0) {
    if (errno == ENOENT) return Status(Errc::kNotFound, "directory was removed");
    return Status::FromErrno(errno, "stat " + dir.data_path());
  }
  // A listing that no longer holds: the locations that point into it are
  // pointed at the new one first, so that only names gone since are
  // detached.
  std::shared_ptr<const Listing> replaced;
  bool names_hold = false;
  {
    std::lock_guard lock(mutex_);
    auto it = listings_.find(dir.dir_id);
    if (it != listings_.end()) {
      names_hold = SameDirectoryState(it->second.validated, before);
      if (names_hold) {
        listing_lru_.splice(listing_lru_.begin(), listing_lru_, it->second.lru);
        if (!AttributesToReread(*it->second.listing)) return it->second.listing;
      }
      replaced = std::move(it->second.listing);
      listing_lru_.erase(it->second.lru);
      listings_.erase(it);
    }
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  std::shared_ptr<const Listing> shared = names_hold ? RereadAttributes(*replaced) : nullptr;
  if (shared == nullptr) {
    auto listing = std::make_shared<Listing>();
    listing->dir = dir.AsDir();
    listing->attributes_read = vault_.attributes().Now();
    // Node by node: the listing never holds a whole Entry for each.
    std::vector<ListedNode>& nodes = listing->nodes;
    Status s = vault_.ListEach(
        listing->dir, [&](size_t names) { nodes.reserve(names); },
        [&](Entry&& entry) {
          nodes.push_back(ToListedNode(std::move(entry), listing->dir.content_path));
        });
    if (!s.ok()) return s;
    std::sort(nodes.begin(), nodes.end(),
              [](const ListedNode& a, const ListedNode& b) { return a.node_name < b.node_name; });
    listing->verifier = VerifierOf(nodes);
    shared = std::move(listing);
  }

  const bool racy = Nanoseconds(now) - Nanoseconds(before.st_mtim) < kRacyWindowNs ||
                    Nanoseconds(now) - Nanoseconds(before.st_ctim) < kRacyWindowNs;
  if (!racy) {
    std::lock_guard lock(mutex_);
    if (auto it = listings_.find(dir.dir_id); it != listings_.end()) ForgetListingLocked(it);
    if (listings_.size() >= kMaxCachedListings) {
      ForgetListingLocked(listings_.find(listing_lru_.back()));
    }
    listing_lru_.push_front(dir.dir_id);
    CachedListing& cached = listings_[dir.dir_id];
    cached.listing = shared;
    cached.validated = before;
    cached.lru = listing_lru_.begin();
  }
  RememberListed(shared, dir.dir_id);
  if (replaced) {
    std::lock_guard lock(mutex_);
    DetachLocked(*replaced);
  }
  return shared;
}

bool NodeTable::AttributesToReread(const Listing& listing) const {
  const vaultcore::AttributeCache& cache = vault_.attributes();
  return cache.enabled() && listing.nodes.size() <= kMaxRereadEntries &&
         !cache.IsFresh(listing.attributes_read);
}

std::shared_ptr<const Listing> NodeTable::RereadAttributes(const Listing& old) {
  auto listing = std::make_shared<Listing>(old);
  // Writes elsewhere in the vault are what mostly ends the attributes'
  // freshness (bench/RESULTS.md, step 32): read again only what changed.
  std::vector<uint64_t> changed;
  const auto caught_up = vault_.attributes().CatchUp(old.attributes_read, &changed);
  listing->attributes_read = caught_up ? *caught_up : vault_.attributes().Now();
  std::sort(changed.begin(), changed.end());
  Entry entry;
  for (ListedNode& node : listing->nodes) {
    if (caught_up && !std::binary_search(changed.begin(), changed.end(), node.attr.fileid)) {
      continue;
    }
    listing->Fill(node, entry);
    // Gone or replaced, though the directory looks unchanged: list it again.
    if (!vault_.RefreshFromDisk(entry).ok() || entry.attr.fileid != node.attr.fileid) {
      return nullptr;
    }
    node.attr = entry.attr;
  }
  return listing;
}

void NodeTable::Removed(const Entry& entry) {
  if (entry.kind() == NodeKind::kDirectory) return;  // its content directory is gone: STALE anyway
  {
    std::lock_guard lock(mutex_);
    files_.erase(entry.attr.fileid);
    if (removed_.size() >= kMaxRemembered) removed_.clear();
    removed_.insert(entry.attr.fileid);
  }
  if (removal_listener_) removal_listener_(entry);
}

void NodeTable::DirectoryChanged(const std::string& dir_id) {
  std::lock_guard lock(mutex_);
  // Never served again; kept until the next List of the directory, which
  // points the remembered files at its new listing first (detaching all of
  // a large listing on every CREATE in it would copy every entry).
  if (auto it = listings_.find(dir_id); it != listings_.end()) it->second.validated = {};
}

}  // namespace server
