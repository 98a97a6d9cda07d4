// Model-based test of Vault: thousands of random tree and content operations
// are applied both to a vault and to an in-memory model of what a POSIX
// file system would hold (path -> kind, bytes or target). After every step
// the parts the step touched must agree, including the error code of a
// refused operation; every so often and at the end the whole tree is
// compared and the ciphertext layout checked, and finally a fresh Vault
// object re-reads everything from disk.
//
// Reproduce or extend a run with
//   VAULTNFS_MODEL_SEED=<seed> VAULTNFS_MODEL_OPS=<count> vault_model_test
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/unicode.h"
#include "vaultcore/vault.h"

namespace vaultcore {
namespace {

namespace fs = std::filesystem;
using vaultnfs::testing::TempDir;

constexpr uint64_t kChunk = kCleartextChunkSize;
constexpr uint64_t kMaxFileSize = 320 * 1024;  // keeps full-tree reads cheap
constexpr size_t kNodeSoftLimit = 150;         // beyond it, removals get likelier
constexpr int kFullCheckEvery = 200;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): single-threaded
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

std::string ErrcText(Errc code) { return std::string(ErrcName(code)); }

// --------------------------------------------------------------------------
// The model

struct Node {
  NodeKind kind = NodeKind::kFile;
  std::string data;    // file content or symlink target
  std::string dir_id;  // directories: learned when created, never changes
  uint64_t fileid = 0;
};

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool IsInside(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (dir == "/" || path[dir.size()] == '/');
}

class Model {
 public:
  Model() { nodes_["/"] = Node{NodeKind::kDirectory, "", "", 0}; }

  const Node* Find(const std::string& path) const {
    auto it = nodes_.find(path);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  Node* Find(const std::string& path) {
    auto it = nodes_.find(path);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  void Put(const std::string& path, Node node) { nodes_[path] = std::move(node); }
  size_t size() const { return nodes_.size(); }
  const std::map<std::string, Node>& nodes() const { return nodes_; }

  // Direct children by name.
  std::map<std::string, const Node*> Children(const std::string& dir) const {
    std::map<std::string, const Node*> out;
    for (auto it = nodes_.upper_bound(dir); it != nodes_.end(); ++it) {
      if (!IsInside(it->first, dir)) {
        // Siblings such as "/a b" sort between "/a" and "/a/…"; keep going
        // while the prefix still matches.
        if (it->first.compare(0, dir.size(), dir) != 0) break;
        continue;
      }
      const std::string rest = it->first.substr(dir == "/" ? 1 : dir.size() + 1);
      if (rest.find('/') == std::string::npos) out[rest] = &it->second;
    }
    return out;
  }
  bool HasChildren(const std::string& dir) const { return !Children(dir).empty(); }

  std::vector<std::string> Paths(std::optional<NodeKind> kind) const {
    std::vector<std::string> out;
    for (const auto& [path, node] : nodes_) {
      if (!kind || node.kind == *kind) out.push_back(path);
    }
    return out;
  }

  // Removes `path` and everything below it; returns the removed fileids.
  std::vector<uint64_t> Erase(const std::string& path) {
    std::vector<uint64_t> ids;
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (it->first == path || IsInside(it->first, path)) {
        ids.push_back(it->second.fileid);
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
    return ids;
  }

  // Moves `from` and its subtree to `to` (which must be free).
  void Move(const std::string& from, const std::string& to) {
    std::vector<std::pair<std::string, Node>> moved;
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (it->first == from || IsInside(it->first, from)) {
        moved.emplace_back(to + it->first.substr(from.size()), std::move(it->second));
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [path, node] : moved) nodes_[path] = std::move(node);
  }

 private:
  std::map<std::string, Node> nodes_;
};

// --------------------------------------------------------------------------
// Random names and sizes

// Pieces of names: ASCII, characters with an NFC and an NFD spelling, and
// multi-byte characters that NFC leaves alone.
struct Spelling {
  const char* nfc;
  const char* other;  // another spelling with the same NFC form
};
const Spelling kSpellings[] = {
    {"\xC3\xA9", "e\xCC\x81"},                                 // é
    {"\xC3\x85", "A\xCC\x8A"},                                 // Å
    {"\xC3\x85", "\xE2\x84\xAB"},                              // Å / ANGSTROM SIGN
    {"\xED\x95\x9C", "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"},  // 한 / jamo
};
const char* const kPlainPieces[] = {
    "\xE6\x97\xA5", "\xF0\x9F\x98\x80", "\xEF\xAC\x81", "\xC3\x9F", " ", "-", ".", "_", "(1)", "~"};

// Another spelling of `name` with the same NFC form (or `name` itself).
std::string Respell(const std::string& name, std::mt19937& rng) {
  std::string out = name;
  for (const Spelling& s : kSpellings) {
    const std::string from = s.nfc;
    for (size_t pos = out.find(from); pos != std::string::npos; pos = out.find(from, pos + 1)) {
      if (rng() % 2) out.replace(pos, from.size(), s.other);
    }
  }
  return out;
}

class Generator {
 public:
  Generator(uint64_t seed, int threshold) : rng_(static_cast<std::mt19937::result_type>(seed)) {
    // The byte length at which names start to be shortened (spec §5.4).
    const size_t limit = static_cast<size_t>(threshold);
    for (cutover_ = 1; 4 * ((16 + cutover_ + 2) / 3) + 4 <= limit; ++cutover_) {
    }
  }

  std::mt19937& rng() { return rng_; }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }

  std::string Name() {
    size_t target;
    switch (Below(4)) {
      case 0:  // around the shortening cut-over, where the layout flips
        target = cutover_ - 3 + Below(6);
        break;
      case 1:  // long
        target = cutover_ + Below(std::max<size_t>(60, 220 - cutover_));
        break;
      default:
        target = 1 + Below(10);
    }
    std::string name;
    while (name.size() < target) {
      const uint64_t kind = Below(10);
      if (kind < 6) {
        name += static_cast<char>('a' + Below(26));
      } else if (kind < 8) {
        const Spelling& s = kSpellings[Below(std::size(kSpellings))];
        name += OneIn(2) ? s.nfc : s.other;
      } else {
        name += kPlainPieces[Below(std::size(kPlainPieces))];
      }
    }
    if (name == "." || name == "..") name += "x";
    return name;
  }

  // Sizes and offsets cluster at chunk boundaries, where read-modify-write
  // and the size arithmetic change behaviour.
  uint64_t Size() {
    switch (Below(5)) {
      case 0:
        return kChunk - 4 + Below(9);
      case 1:
        return 2 * kChunk - 4 + Below(9);
      case 2:
        return Below(64);
      default:
        return Below(100 * 1024 + 1);
    }
  }

  uint64_t Offset(uint64_t file_size) {
    switch (Below(5)) {
      case 0:
        return file_size;  // append
      case 1: {
        const uint64_t boundary = Below(file_size / kChunk + 2) * kChunk;
        return boundary < 4 ? boundary : boundary - 4 + Below(9);
      }
      case 2:
        return file_size + Below(70000);  // leaves a hole to zero-fill
      default:
        return Below(file_size + 1);
    }
  }

 private:
  std::mt19937 rng_;
  size_t cutover_ = 0;
};

// --------------------------------------------------------------------------
// The test

struct Params {
  int threshold;
  CipherCombo combo;
  uint64_t seed;
};

class VaultModelTest : public ::testing::TestWithParam<Params> {
 protected:
  void SetUp() override {
    seed_ = EnvOr("VAULTNFS_MODEL_SEED", GetParam().seed);
    ops_ = EnvOr("VAULTNFS_MODEL_OPS", 3000);
    gen_ = std::make_unique<Generator>(seed_, GetParam().threshold);
    path_ = (tmp_.path() / "vault").string();
    CreateOptions options{.shortening_threshold = GetParam().threshold,
                          .cipher_combo = GetParam().combo,
                          .scrypt = {.n = 1024, .r = 8}};
    ASSERT_TRUE(Vault::Create(path_, "pw", options).ok());
    OpenVault();
  }

  void OpenVault() {
    handles_.clear();
    handle_order_.clear();
    vault_.reset();
    auto vault = Vault::Open(path_, "pw");
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    vault_ = std::move(vault).value();
  }

  // Records a step; printed when a step fails so it can be read back.
  void Log(std::string line) {
    history_.push_back(std::to_string(step_) + ": " + std::move(line));
    if (history_.size() > 25) history_.pop_front();
  }

  std::string History() const {
    std::string out = "seed " + std::to_string(seed_) +
                      " (VAULTNFS_MODEL_SEED=" + std::to_string(seed_) + "), last steps:\n";
    for (const std::string& line : history_) out += "  " + line + "\n";
    return out;
  }

  // The DirRef of a model directory, through its id as an NFS server
  // would hold it (ids survive renames).
  DirRef Dir(const std::string& path) {
    const Node* node = model_.Find(path);
    if (node == nullptr || node->kind != NodeKind::kDirectory) {
      ADD_FAILURE() << "model has no directory " << path;
      return vault_->Root();
    }
    auto dir = vault_->Directory(node->dir_id);
    EXPECT_TRUE(dir.ok()) << path << ": " << dir.status().ToString();
    return dir.ok() ? *dir : vault_->Root();
  }

  template <typename T>
  void ExpectCode(const Result<T>& got, Errc want, const std::string& what) {
    ExpectCode(got.status(), want, what);
  }
  void ExpectCode(const Status& got, Errc want, const std::string& what) {
    ++stats_[what + ": " + ErrcText(want)];
    EXPECT_EQ(ErrcText(got.code()), ErrcText(want)) << what << ": " << got.ToString() << "\n"
                                                    << History();
  }

  std::string RandomPath(std::optional<NodeKind> kind, bool allow_root = false) {
    std::vector<std::string> paths = model_.Paths(kind);
    if (!allow_root) std::erase(paths, std::string("/"));
    if (paths.empty()) return "";
    return paths[gen_->Below(paths.size())];
  }

  // A name in `dir`: mostly new, sometimes an existing one (in another
  // spelling), so "exists" and replacement paths get their share.
  std::string NameIn(const std::string& dir) {
    const auto children = model_.Children(dir);
    if (!children.empty() && gen_->OneIn(4)) {
      auto it = children.begin();
      std::advance(it, static_cast<ptrdiff_t>(gen_->Below(children.size())));
      return Respell(it->first, gen_->rng());
    }
    return gen_->Name();
  }

  // --- comparisons -------------------------------------------------------

  void CompareEntry(const std::string& path, const Entry& e, const Node& node) {
    SCOPED_TRACE(path);
    ASSERT_EQ(static_cast<int>(e.kind()), static_cast<int>(node.kind)) << History();
    EXPECT_EQ(e.attr.fileid, node.fileid) << "fileid changed\n" << History();
    if (node.kind == NodeKind::kDirectory) {
      EXPECT_EQ(e.dir_id, node.dir_id) << History();
    } else {
      EXPECT_EQ(e.attr.size, node.data.size()) << History();
    }
  }

  void CompareContent(const std::string& path, const Entry& e, const Node& node) {
    SCOPED_TRACE(path);
    if (node.kind == NodeKind::kSymlink) {
      auto target = vault_->ReadLink(e);
      ASSERT_TRUE(target.ok()) << target.status().ToString() << "\n" << History();
      EXPECT_TRUE(*target == node.data) << "symlink target differs\n" << History();
    } else if (node.kind == NodeKind::kFile) {
      auto file = vault_->OpenFile(e);
      ASSERT_TRUE(file.ok()) << file.status().ToString() << "\n" << History();
      std::string got(node.data.size() + 100, '\0');
      auto n = (*file)->Read(0, std::span(reinterpret_cast<uint8_t*>(got.data()), got.size()));
      ASSERT_TRUE(n.ok()) << n.status().ToString() << "\n" << History();
      got.resize(*n);
      ASSERT_TRUE(got == node.data)
          << "content differs: " << got.size() << " bytes, model " << node.data.size() << "\n"
          << History();
      // No empty final chunk, ever (spec §7.3).
      EXPECT_EQ(fs::file_size(e.data_path()), vault_->cryptor().CiphertextSize(node.data.size()))
          << History();
    }
  }

  // The listing of `dir` equals the model's children: names, kinds,
  // identities, sizes.
  void CompareDir(const std::string& dir) {
    SCOPED_TRACE("directory " + dir);
    auto entries = vault_->List(Dir(dir));
    ASSERT_TRUE(entries.ok()) << entries.status().ToString() << "\n" << History();
    const auto want = model_.Children(dir);
    std::map<std::string, const Entry*> got;
    for (const Entry& e : *entries) {
      EXPECT_TRUE(got.emplace(e.name, &e).second) << "listed twice: " << e.name << "\n"
                                                  << History();
    }
    std::vector<std::string> got_names, want_names;
    for (const auto& [name, entry] : got) got_names.push_back(name);
    for (const auto& [name, node] : want) want_names.push_back(name);
    ASSERT_EQ(got_names, want_names) << History();
    for (const auto& [name, node] : want) CompareEntry(Join(dir, name), *got[name], *node);
  }

  // One node by path, through ResolvePath (which walks names, not ids).
  void ComparePath(const std::string& path, bool content) {
    const Node* node = model_.Find(path);
    auto e = vault_->ResolvePath(path);
    if (node == nullptr) {
      EXPECT_EQ(ErrcText(e.status().code()), ErrcText(Errc::kNotFound)) << path << "\n"
                                                                        << History();
      return;
    }
    ASSERT_TRUE(e.ok()) << path << ": " << e.status().ToString() << "\n" << History();
    if (path != "/") CompareEntry(path, *e, *node);
    if (content) CompareContent(path, *e, *node);
  }

  // Everything: a recursive listing, every file's content, every link
  // target, every directory's parent, and the ciphertext layout.
  void CompareAll() {
    std::set<std::string> seen;
    std::vector<std::pair<std::string, DirRef>> queue{{"/", vault_->Root()}};
    while (!queue.empty()) {
      auto [path, ref] = queue.back();
      queue.pop_back();
      seen.insert(path);
      auto entries = vault_->List(ref);
      ASSERT_TRUE(entries.ok()) << path << ": " << entries.status().ToString();
      for (const Entry& e : *entries) {
        const std::string child = Join(path, e.name);
        seen.insert(child);
        const Node* node = model_.Find(child);
        ASSERT_NE(node, nullptr) << "not in the model: " << child << "\n" << History();
        CompareEntry(child, e, *node);
        CompareContent(child, e, *node);
        if (e.kind() == NodeKind::kDirectory) {
          auto parent = vault_->Parent(e.AsDir());
          ASSERT_TRUE(parent.ok()) << child << ": " << parent.status().ToString();
          EXPECT_EQ(parent->id, ref.id) << "parent of " << child << "\n" << History();
          queue.emplace_back(child, e.AsDir());
        }
      }
    }
    for (const auto& [path, node] : model_.nodes()) {
      EXPECT_TRUE(seen.count(path)) << "missing from the vault: " << path << "\n" << History();
    }
    ExpectWellFormed();
  }

  // The ciphertext tree is what Cryptomator would write (see vault_test):
  // no orphaned content directory, no stray or temporary file, node
  // directories with exactly the files their kind needs, names shortened
  // exactly when the threshold says so.
  void ExpectWellFormed() {
    const NameCipher& names = vault_->names();
    std::set<std::string> content_dirs;
    std::vector<DirRef> queue{vault_->Root()};
    while (!queue.empty()) {
      const DirRef dir = queue.back();
      queue.pop_back();
      content_dirs.insert(dir.content_path);
      auto dirid = ReadSmallEncryptedFile(vault_->cryptor(), dir.content_path + "/dirid.c9r", 100);
      EXPECT_TRUE(dirid.ok() && *dirid == dir.id) << dir.content_path << "\n" << History();
      auto entries = vault_->List(dir);
      ASSERT_TRUE(entries.ok());
      std::set<std::string> listed;
      for (const Entry& e : *entries) {
        listed.insert(fs::path(e.node_path).filename().string());
        if (e.kind() == NodeKind::kDirectory) queue.push_back(e.AsDir());
      }
      for (const auto& item : fs::directory_iterator(dir.content_path)) {
        const std::string name = item.path().filename().string();
        if (name == "dirid.c9r") continue;
        EXPECT_TRUE(listed.count(name)) << "stray entry " << item.path() << "\n" << History();
        if (!item.is_directory()) {
          EXPECT_TRUE(name.ends_with(".c9r") && !names.NeedsShortening(name)) << item.path();
          continue;
        }
        std::set<std::string> inside;
        for (const auto& f : fs::directory_iterator(item.path())) {
          inside.insert(f.path().filename().string());
        }
        if (name.ends_with(".c9s")) {
          EXPECT_TRUE(inside.erase("name.c9s")) << item.path() << "\n" << History();
          std::ifstream in(item.path() / "name.c9s");
          const std::string long_name(std::istreambuf_iterator<char>(in), {});
          EXPECT_EQ(NameCipher::ShortenedName(long_name), name) << History();
          EXPECT_TRUE(names.NeedsShortening(long_name)) << item.path() << "\n" << History();
        } else {
          EXPECT_FALSE(names.NeedsShortening(name)) << item.path() << "\n" << History();
        }
        EXPECT_EQ(inside.size(), 1u) << "unexpected files in " << item.path() << "\n" << History();
        for (const std::string& f : inside) {
          EXPECT_TRUE(f == "dir.c9r" || f == "symlink.c9r" ||
                      (f == "contents.c9r" && name.ends_with(".c9s")))
              << item.path() / f << "\n"
              << History();
        }
      }
    }
    std::set<std::string> on_disk;
    for (const auto& bucket : fs::directory_iterator(fs::path(path_) / "d")) {
      for (const auto& dir : fs::directory_iterator(bucket.path())) {
        on_disk.insert(dir.path().string());
      }
    }
    EXPECT_EQ(on_disk, content_dirs) << "orphaned or missing content directories\n" << History();
  }

  // --- operations ----------------------------------------------------------

  // An open file for `path`, sometimes one kept from earlier steps (an NFS
  // client writes through a handle that outlives renames).
  std::shared_ptr<EncryptedFile> FileFor(const std::string& path) {
    const Node* node = model_.Find(path);
    auto e = vault_->ResolvePath(Respell(path, gen_->rng()));
    EXPECT_TRUE(e.ok()) << path << ": " << e.status().ToString() << "\n" << History();
    if (!e.ok()) return nullptr;
    auto file = vault_->OpenFile(*e);
    EXPECT_TRUE(file.ok()) << path << ": " << file.status().ToString() << "\n" << History();
    if (!file.ok()) return nullptr;
    // Draw before branching: the random sequence must not depend on inode
    // numbers, or a seed would not reproduce a run.
    const bool keep = gen_->OneIn(3);
    auto held = handles_.find(node->fileid);
    if (held != handles_.end()) {
      // Vault shares one EncryptedFile per ciphertext file: two would race.
      EXPECT_EQ(held->second.get(), file->get()) << path << "\n" << History();
    } else if (keep) {
      handles_[node->fileid] = *file;
      handle_order_.push_back(node->fileid);
      if (handle_order_.size() > 16) {
        handles_.erase(handle_order_.front());
        handle_order_.pop_front();
      }
    }
    return *file;
  }

  void Forget(const std::vector<uint64_t>& fileids) {
    for (uint64_t id : fileids) {
      handles_.erase(id);
      std::erase(handle_order_, id);
    }
  }

  void OpCreate(NodeKind kind) {
    const std::string dir = RandomPath(NodeKind::kDirectory, true);
    const std::string name = NameIn(dir);
    const std::string path = Join(dir, NormalizeNfc(name));
    const Node* existing = model_.Find(path);
    // Non-exclusive creation (NFS UNCHECKED) returns an existing file or
    // refuses a directory; what it should do with a symlink is the
    // server's business, so the model does not try it.
    const bool exclusive = kind != NodeKind::kFile || !gen_->OneIn(4) ||
                           (existing != nullptr && existing->kind == NodeKind::kSymlink);
    std::string target;
    if (kind == NodeKind::kSymlink) {
      target = gen_->OneIn(3) ? gen_->Name() : "../" + gen_->Name() + "/" + gen_->Name();
    }
    const char* what = kind == NodeKind::kFile        ? "create"
                       : kind == NodeKind::kDirectory ? "mkdir"
                                                      : "symlink";
    Log(std::string(what) + (exclusive ? "" : " (non-exclusive)") + " " + Join(dir, name));
    Result<Entry> got =
        kind == NodeKind::kFile        ? vault_->CreateFile(Dir(dir), name, 0644, exclusive)
        : kind == NodeKind::kDirectory ? vault_->MakeDirectory(Dir(dir), name, 0755)
                                       : vault_->MakeSymlink(Dir(dir), name, target);
    if (existing != nullptr) {
      if (!exclusive && existing->kind == NodeKind::kFile) {
        ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << History();
        CompareEntry(path, *got, *existing);  // the existing file, unchanged
      } else {
        ExpectCode(got, exclusive ? Errc::kExists : Errc::kIsDirectory, what);
      }
    } else {
      ASSERT_TRUE(got.ok()) << what << ": " << got.status().ToString() << "\n" << History();
      ++stats_[std::string(what) + (got->shortened ? " (shortened)" : "") + ": ok"];
      EXPECT_EQ(got->name, NormalizeNfc(name)) << History();
      Node node{kind, target, got->dir_id, got->attr.fileid};
      model_.Put(path, node);
    }
    CompareDir(dir);
  }

  void OpWrite() {
    const std::string path = RandomPath(NodeKind::kFile);
    if (path.empty()) return;
    Node& node = *model_.Find(path);
    uint64_t offset = gen_->Offset(node.data.size());
    uint64_t length = gen_->Size();
    if (offset > kMaxFileSize) offset = gen_->Below(node.data.size() + 1);
    length = std::min(length, kMaxFileSize - offset);
    std::string data(length, '\0');
    for (char& c : data) c = static_cast<char>(gen_->rng()());
    ++stats_["write"];
    Log("write " + path + " at " + std::to_string(offset) + " length " + std::to_string(length) +
        " (size " + std::to_string(node.data.size()) + ")");
    auto file = FileFor(path);
    ASSERT_NE(file, nullptr);
    Status s = file->Write(offset, AsBytes(data));
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << History();
    if (length > 0) {
      if (node.data.size() < offset + length) node.data.resize(offset + length, '\0');
      node.data.replace(offset, length, data);
    }
    ComparePath(path, true);
  }

  void OpTruncate() {
    const std::string path = RandomPath(NodeKind::kFile);
    if (path.empty()) return;
    Node& node = *model_.Find(path);
    uint64_t size;
    switch (gen_->Below(4)) {
      case 0:
        size = 0;
        break;
      case 1:
        size = gen_->Below(node.data.size() + 1);
        break;
      case 2:
        size = std::min(kMaxFileSize, node.data.size() + gen_->Below(70000));
        break;
      default:
        size = std::min(kMaxFileSize, gen_->Below(6) * kChunk + gen_->Below(9));
        size = size < 4 ? size : size - 4;
    }
    ++stats_[size < node.data.size() ? "truncate (shrink)" : "truncate (grow or same)"];
    Log("truncate " + path + " to " + std::to_string(size) + " (size " +
        std::to_string(node.data.size()) + ")");
    auto file = FileFor(path);
    ASSERT_NE(file, nullptr);
    Status s = file->Truncate(size);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << History();
    node.data.resize(size, '\0');
    ComparePath(path, true);
  }

  void OpRead() {
    const std::string path = RandomPath(NodeKind::kFile);
    if (path.empty()) return;
    const Node& node = *model_.Find(path);
    const uint64_t offset = gen_->Offset(node.data.size());
    const uint64_t length = gen_->Size();
    ++stats_["read"];
    Log("read " + path + " at " + std::to_string(offset) + " length " + std::to_string(length));
    auto file = FileFor(path);
    ASSERT_NE(file, nullptr);
    std::string got(length, '\0');
    auto n = file->Read(offset, std::span(reinterpret_cast<uint8_t*>(got.data()), got.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString() << "\n" << History();
    const std::string want =
        offset >= node.data.size() ? std::string() : node.data.substr(offset, length);
    got.resize(*n);
    ASSERT_TRUE(got == want) << "read returned " << got.size() << " bytes, expected " << want.size()
                             << "\n"
                             << History();
  }

  void OpRemove(bool directory) {
    // Mostly nodes of the right kind, some of any kind (wrong kinds give
    // errors), now and then a name that does not exist.
    const NodeKind right = directory ? NodeKind::kDirectory : NodeKind::kFile;
    std::string path = RandomPath(gen_->OneIn(3) ? std::nullopt : std::optional(right));
    if (path.empty() || gen_->OneIn(10)) {
      path = Join(RandomPath(NodeKind::kDirectory, true), gen_->Name());
    }
    const std::string dir = ParentOf(path);
    const std::string name = Respell(BaseName(path), gen_->rng());
    path = Join(dir, NormalizeNfc(BaseName(path)));
    const Node* node = model_.Find(path);
    Log(std::string(directory ? "rmdir " : "remove ") + Join(dir, name));
    Status s = directory ? vault_->RemoveDirectory(Dir(dir), name) : vault_->Remove(Dir(dir), name);
    Errc want = Errc::kOk;
    if (node == nullptr) {
      want = Errc::kNotFound;
    } else if (directory && node->kind != NodeKind::kDirectory) {
      want = Errc::kNotDirectory;
    } else if (directory && model_.HasChildren(path)) {
      want = Errc::kNotEmpty;
    } else if (!directory && node->kind == NodeKind::kDirectory) {
      want = Errc::kIsDirectory;
    }
    ExpectCode(s, want, directory ? "rmdir" : "remove");
    if (want == Errc::kOk && s.ok()) Forget(model_.Erase(path));
    CompareDir(dir);
  }

  // Empties and removes a whole subtree through the vault, to keep the
  // tree from growing without bound (rmdir alone rarely succeeds).
  void OpRemoveTree() {
    const std::string top = RandomPath(NodeKind::kDirectory);
    if (top.empty()) return;
    Log("remove tree " + top);
    std::vector<std::string> paths;
    for (const auto& [path, node] : model_.nodes()) {
      if (path == top || IsInside(path, top)) paths.push_back(path);
    }
    // Deepest first: children before their directories.
    std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
      return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
    });
    for (const std::string& path : paths) {
      const Node* node = model_.Find(path);
      Status s = node->kind == NodeKind::kDirectory
                     ? vault_->RemoveDirectory(Dir(ParentOf(path)), BaseName(path))
                     : vault_->Remove(Dir(ParentOf(path)), BaseName(path));
      ASSERT_TRUE(s.ok()) << path << ": " << s.ToString() << "\n" << History();
      Forget(model_.Erase(path));
    }
    CompareDir(ParentOf(top));
  }

  void OpRename() {
    const std::string from = RandomPath(std::nullopt);
    if (from.empty()) return;
    const std::string to_dir = RandomPath(NodeKind::kDirectory, true);
    // Same name elsewhere, a name already in the target, or a new one; for
    // directories also an empty directory to replace.
    std::string to_name = gen_->OneIn(5) ? Respell(BaseName(from), gen_->rng()) : NameIn(to_dir);
    if (model_.Find(from)->kind == NodeKind::kDirectory && gen_->OneIn(3)) {
      for (const auto& [name, node] : model_.Children(to_dir)) {
        if (node->kind == NodeKind::kDirectory && !model_.HasChildren(Join(to_dir, name))) {
          to_name = Respell(name, gen_->rng());
          break;
        }
      }
    }
    const std::string to = Join(to_dir, NormalizeNfc(to_name));
    const std::string from_dir = ParentOf(from);
    const std::string from_name = Respell(BaseName(from), gen_->rng());
    Log("rename " + from + " -> " + Join(to_dir, to_name));

    const Node src = *model_.Find(from);
    const Node* dst = model_.Find(to);
    Errc want = Errc::kOk;
    if (to == from) {
      want = Errc::kOk;
    } else if (src.kind == NodeKind::kDirectory && (to_dir == from || IsInside(to_dir, from))) {
      want = Errc::kInvalidArgument;
    } else if (dst != nullptr) {
      if (src.kind == NodeKind::kDirectory) {
        if (dst->kind != NodeKind::kDirectory) {
          want = Errc::kNotDirectory;
        } else if (model_.HasChildren(to)) {
          want = Errc::kNotEmpty;
        }
      } else if (dst->kind == NodeKind::kDirectory) {
        want = Errc::kIsDirectory;
      }
    }
    Status s = vault_->Rename(Dir(from_dir), from_name, Dir(to_dir), to_name);
    ExpectCode(s, want,
               std::string(src.kind == NodeKind::kDirectory ? "rename dir" : "rename non-dir") +
                   (dst != nullptr && to != from ? " over existing" : ""));
    if (want == Errc::kOk && s.ok() && to != from) {
      if (dst != nullptr) Forget(model_.Erase(to));
      model_.Move(from, to);
    }
    CompareDir(from_dir);
    if (to_dir != from_dir) CompareDir(to_dir);
    if (HasFailure()) return;
    const std::string moved = s.ok() ? to : from;
    ComparePath(moved, true);
    if (src.kind == NodeKind::kDirectory) {
      // Its children moved with it; its parent is the new one.
      CompareDir(moved);
      auto parent = vault_->Parent(Dir(moved));
      ASSERT_TRUE(parent.ok()) << parent.status().ToString() << "\n" << History();
      EXPECT_EQ(parent->id, model_.Find(ParentOf(moved))->dir_id) << History();
    }
  }

  void Step() {
    const bool crowded = model_.size() > kNodeSoftLimit;
    const uint64_t roll = gen_->Below(100);
    if (crowded && roll < 3) return OpRemoveTree();
    if (roll < 12) return OpCreate(NodeKind::kFile);
    if (roll < 18) return OpCreate(NodeKind::kDirectory);
    if (roll < 23) return OpCreate(NodeKind::kSymlink);
    if (roll < 43) return OpWrite();
    if (roll < 51) return OpTruncate();
    if (roll < 56) return OpRead();
    if (roll < (crowded ? 70 : 63)) return OpRemove(false);
    if (roll < (crowded ? 78 : 69)) return OpRemove(true);
    return OpRename();
  }

  TempDir tmp_;
  std::string path_;
  uint64_t seed_ = 0;
  uint64_t ops_ = 0;
  uint64_t step_ = 0;
  std::unique_ptr<Generator> gen_;
  std::unique_ptr<Vault> vault_;
  Model model_;
  std::map<uint64_t, std::shared_ptr<EncryptedFile>> handles_;  // fileid -> open file
  std::deque<uint64_t> handle_order_;                           // oldest first
  std::deque<std::string> history_;
  std::map<std::string, int> stats_;  // operation outcomes, to see what a run covered
};

TEST_P(VaultModelTest, RandomOperationsMatchModel) {
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (set VAULTNFS_MODEL_SEED to reproduce)");
  for (step_ = 1; step_ <= ops_; ++step_) {
    Step();
    if (HasFailure()) {
      FAIL() << "stopped at step " << step_ << "\n" << History();
    }
    if (step_ % kFullCheckEvery == 0) {
      CompareAll();
      if (HasFailure()) FAIL() << "full comparison failed after step " << step_;
    }
  }
  CompareAll();
  if (HasFailure()) return;

  // Everything must also be on disk: a fresh Vault (empty caches, parents
  // learned by indexing) sees the same tree.
  Log("re-open");
  OpenVault();
  CompareAll();

  size_t files = 0, dirs = 0, links = 0;
  for (const auto& [path, node] : model_.nodes()) {
    files += node.kind == NodeKind::kFile;
    dirs += node.kind == NodeKind::kDirectory;
    links += node.kind == NodeKind::kSymlink;
  }
  std::cout << "[ seed " << seed_ << " ] " << ops_ << " operations; final tree: " << files
            << " files, " << dirs - 1 << " directories, " << links << " symlinks\n";
  for (const auto& [what, count] : stats_) std::cout << "    " << what << ": " << count << "\n";
}

INSTANTIATE_TEST_SUITE_P(Vaults, VaultModelTest,
                         ::testing::Values(Params{40, CipherCombo::kSivGcm, 1},
                                           Params{220, CipherCombo::kSivGcm, 2},
                                           Params{220, CipherCombo::kSivCtrMac, 3}),
                         [](const auto& info) {
                           return "Threshold" + std::to_string(info.param.threshold) +
                                  (info.param.combo == CipherCombo::kSivGcm ? "Gcm" : "CtrMac");
                         });

}  // namespace
}  // namespace vaultcore
