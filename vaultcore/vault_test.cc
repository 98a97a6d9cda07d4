// Vault: creating and unlocking vaults, and every tree operation with the
// result checked twice: through the cleartext API (names, kinds, content,
// error codes) and on disk against Cryptomator's layout (spec §5, §6, §9),
// so a node we write is one Cryptomator can find.
#include "vaultcore/vault.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"
#include "vaultcore/unicode.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::HasCode;
using vaultnfs::testing::IsOk;

namespace fs = std::filesystem;
using vaultnfs::testing::TempDir;

constexpr std::string_view kPassword = "correct horse battery";
constexpr uint64_t kChunk = kCleartextChunkSize;

// The same name in both Unicode forms: "Zoë.txt".
const std::string kNfcName = "Zo\xC3\xAB.txt";   // U+00EB
const std::string kNfdName = "Zoe\xCC\x88.txt";  // e + U+0308

// Small scrypt parameters: the tests are about the tree, not the KDF.
CreateOptions FastOptions(int threshold = 220, CipherCombo combo = CipherCombo::kSivGcm) {
  return CreateOptions{
      .shortening_threshold = threshold, .cipher_combo = combo, .scrypt = {.n = 1024, .r = 8}};
}

std::string ReadPlain(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WritePlain(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Every file under `root` with its bytes and mtime: equal snapshots mean
// nothing was touched.
std::map<std::string, std::pair<std::string, fs::file_time_type>> Snapshot(const fs::path& root) {
  std::map<std::string, std::pair<std::string, fs::file_time_type>> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).string();
    out[rel] = {e.is_regular_file() ? ReadPlain(e.path()) : "<dir>", e.last_write_time()};
  }
  return out;
}

std::string RandomText(size_t n, std::mt19937& rng) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override { NewVault(); }

  void NewVault(const CreateOptions& options = FastOptions()) {
    vault_.reset();
    path_ = (tmp_.path() / ("vault" + std::to_string(++vaults_))).string();
    ASSERT_TRUE(IsOk(Vault::Create(path_, kPassword, options)));
    Reopen();
  }

  void Reopen(const OpenOptions& options = {}) {
    vault_.reset();
    auto vault = Vault::Open(path_, kPassword, options);
    ASSERT_TRUE(IsOk(vault));
    vault_ = std::move(vault).value();
  }

  Vault& v() { return *vault_; }
  DirRef root() { return vault_->Root(); }

  Entry Lookup(const DirRef& dir, std::string_view name) {
    auto e = v().Lookup(dir, name);
    EXPECT_TRUE(IsOk(e)) << "lookup \"" << name << "\"";
    return e.ok() ? *e : Entry{};
  }

  Entry Resolve(std::string_view path) {
    auto e = v().ResolvePath(path);
    EXPECT_TRUE(IsOk(e)) << "resolve \"" << path << "\"";
    return e.ok() ? *e : Entry{};
  }

  Entry MakeFile(const DirRef& dir, std::string_view name, std::string_view content = {}) {
    auto e = v().CreateFile(dir, name, 0644);
    EXPECT_TRUE(IsOk(e)) << "create \"" << name << "\"";
    if (!e.ok()) return {};
    if (!content.empty()) Write(*e, content);
    return *e;
  }

  Entry MakeDir(const DirRef& dir, std::string_view name) {
    auto e = v().MakeDirectory(dir, name, 0755);
    EXPECT_TRUE(IsOk(e)) << "mkdir \"" << name << "\"";
    return e.ok() ? *e : Entry{};
  }

  Entry MakeLink(const DirRef& dir, std::string_view name, std::string_view target) {
    auto e = v().MakeSymlink(dir, name, target);
    EXPECT_TRUE(IsOk(e)) << "symlink \"" << name << "\"";
    return e.ok() ? *e : Entry{};
  }

  void Write(const Entry& e, std::string_view content, uint64_t offset = 0) {
    auto file = v().OpenFile(e);
    ASSERT_TRUE(IsOk(file));
    ASSERT_TRUE(IsOk((*file)->Write(offset, AsBytes(content))));
  }

  std::string Read(const Entry& e) {
    auto file = v().OpenFile(e);
    EXPECT_TRUE(IsOk(file)) << e.name;
    if (!file.ok()) return "<error>";
    std::string out(e.attr.size + kChunk, '\0');
    auto n = (*file)->Read(0, std::span(reinterpret_cast<uint8_t*>(out.data()), out.size()));
    EXPECT_TRUE(IsOk(n)) << e.name;
    out.resize(n.ok() ? *n : 0);
    return out;
  }

  std::string ReadLink(const Entry& e) {
    auto target = v().ReadLink(e);
    EXPECT_TRUE(IsOk(target)) << e.name;
    return target.ok() ? *target : "<error>";
  }

  std::vector<std::string> Names(const DirRef& dir) {
    auto entries = v().List(dir);
    EXPECT_TRUE(IsOk(entries));
    std::vector<std::string> names;
    if (entries.ok()) {
      for (const Entry& e : *entries) names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  bool Shortened(const DirRef& dir, std::string_view name) {
    auto ciphertext = v().names().EncryptName(NormalizeNfc(name), dir.id);
    return ciphertext.ok() && v().names().NeedsShortening(*ciphertext);
  }

  // The on-disk node of `name` in `dir`, as Cryptomator would compute it.
  fs::path NodePath(const DirRef& dir, std::string_view name) {
    auto ciphertext = v().names().EncryptName(name, dir.id);
    EXPECT_TRUE(IsOk(ciphertext));
    return fs::path(dir.content_path) / v().names().NodeName(ciphertext.ok() ? *ciphertext : "");
  }

  // The whole ciphertext tree is what Cryptomator itself would have
  // written for the cleartext tree we can list:
  //  - every content directory belongs to a reachable directory (nothing
  //    orphaned by rmdir or rename) and holds a dirid.c9r naming it;
  //  - every entry in a content directory is a node that lists (no stray
  //    temporary files, no invisible leftovers);
  //  - node directories hold exactly the files their kind needs, .c9s
  //    nodes a matching name.c9s, and names are shortened exactly when the
  //    threshold says so;
  //  - dir.c9r holds a v4 UUID;
  //  - the vault root holds only the two vault files, d/ and backups.
  void ExpectWellFormed() {
    const NameCipher& names = v().names();
    std::set<std::string> content_dirs;  // relative to the vault
    std::vector<DirRef> queue{root()};
    const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    while (!queue.empty()) {
      const DirRef dir = queue.back();
      queue.pop_back();
      content_dirs.insert(fs::relative(dir.content_path, path_).string());
      auto dirid = ReadSmallEncryptedFile(v().cryptor(), dir.content_path + "/dirid.c9r", 1000);
      EXPECT_TRUE(IsOk(dirid)) << dir.content_path;
      if (dirid.ok()) {
        EXPECT_EQ(*dirid, dir.id) << dir.content_path << "/dirid.c9r";
      }

      auto entries = v().List(dir);
      ASSERT_TRUE(IsOk(entries));
      std::set<std::string> listed;
      for (const Entry& e : *entries) {
        listed.insert(fs::path(e.node_path).filename().string());
        if (e.kind() == NodeKind::kDirectory) queue.push_back(e.AsDir());
      }
      for (const auto& item : fs::directory_iterator(dir.content_path)) {
        const std::string name = item.path().filename().string();
        if (name == "dirid.c9r") continue;
        EXPECT_TRUE(listed.count(name)) << "stray or invisible entry " << item.path();
        if (name.ends_with(".c9r") && item.is_regular_file()) {
          EXPECT_FALSE(names.NeedsShortening(name)) << "should be shortened: " << item.path();
          continue;
        }
        ASSERT_TRUE(item.is_directory()) << item.path();
        std::set<std::string> inside;
        for (const auto& f : fs::directory_iterator(item.path())) {
          inside.insert(f.path().filename().string());
        }
        std::string ciphertext_name = name;
        if (name.ends_with(".c9s")) {
          ASSERT_TRUE(inside.erase("name.c9s")) << "no name.c9s in " << item.path();
          ciphertext_name = ReadPlain(item.path() / "name.c9s");
          EXPECT_EQ(NameCipher::ShortenedName(ciphertext_name), name) << item.path();
          EXPECT_TRUE(names.NeedsShortening(ciphertext_name))
              << "needlessly shortened: " << item.path();
        } else {
          EXPECT_FALSE(names.NeedsShortening(name)) << "should be shortened: " << item.path();
        }
        EXPECT_TRUE(IsOk(names.DecryptName(ciphertext_name, dir.id))) << item.path();
        ASSERT_EQ(inside.size(), 1u) << "unexpected files in node " << item.path();
        const std::string kind_file = *inside.begin();
        if (kind_file == "dir.c9r") {
          EXPECT_TRUE(std::regex_match(ReadPlain(item.path() / "dir.c9r"), uuid)) << item.path();
        } else if (kind_file != "symlink.c9r") {
          EXPECT_EQ(kind_file, "contents.c9r") << item.path();
          EXPECT_TRUE(name.ends_with(".c9s")) << item.path();
        }
      }
    }
    std::set<std::string> on_disk;
    for (const auto& bucket : fs::directory_iterator(fs::path(path_) / "d")) {
      EXPECT_EQ(bucket.path().filename().string().size(), 2u) << bucket.path();
      for (const auto& dir : fs::directory_iterator(bucket.path())) {
        on_disk.insert(fs::relative(dir.path(), path_).string());
      }
    }
    EXPECT_EQ(on_disk, content_dirs) << "orphaned or missing content directories";
    for (const auto& item : fs::directory_iterator(path_)) {
      const std::string name = item.path().filename().string();
      EXPECT_TRUE(name == "d" || name == "vault.cryptomator" || name == "masterkey.cryptomator" ||
                  name.ends_with(".bkup"))
          << "stray file in the vault root: " << name;
    }
  }

  TempDir tmp_;
  int vaults_ = 0;
  std::string path_;
  std::unique_ptr<Vault> vault_;
  std::mt19937 rng_{4711};
};

// ---------------------------------------------------------------------------
// Creating, unlocking, password change

TEST_F(VaultTest, CreateWritesAnOpenableEmptyVault) {
  EXPECT_TRUE(fs::is_regular_file(fs::path(path_) / "vault.cryptomator"));
  EXPECT_TRUE(fs::is_regular_file(fs::path(path_) / "masterkey.cryptomator"));
  EXPECT_EQ(v().config().shortening_threshold, 220);
  EXPECT_EQ(v().config().cipher_combo, CipherCombo::kSivGcm);
  EXPECT_TRUE(Names(root()).empty());
  auto root_path = v().names().ContentDirPath("");
  ASSERT_TRUE(IsOk(root_path));
  EXPECT_EQ(root().content_path, (fs::path(path_) / *root_path).string());
  // The root's dirid.c9r holds the empty id, with the final empty chunk
  // current cryptolib writes (spec §6.3): 68 + 28 bytes.
  EXPECT_EQ(fs::file_size(root().content_path + "/dirid.c9r"), 96u);
  ExpectWellFormed();
}

TEST_F(VaultTest, CreateKeepsOptions) {
  NewVault(FastOptions(40, CipherCombo::kSivCtrMac));
  EXPECT_EQ(v().config().shortening_threshold, 40);
  EXPECT_EQ(v().config().cipher_combo, CipherCombo::kSivCtrMac);
  const Entry e = MakeFile(root(), "file", "content");
  EXPECT_EQ(Read(Lookup(root(), "file")), "content");
  EXPECT_EQ(fs::file_size(e.data_path), 88u + 7u + 48u);  // CTRMAC header and chunk
}

TEST_F(VaultTest, CreateRefusesNonEmptyDirectory) {
  const fs::path dir = tmp_.path() / "occupied";
  fs::create_directories(dir);
  WritePlain(dir / "something", "x");
  EXPECT_TRUE(HasCode(Vault::Create(dir.string(), kPassword, FastOptions()), Errc::kExists));
  // An existing empty directory is fine.
  const fs::path empty = tmp_.path() / "empty";
  fs::create_directories(empty);
  EXPECT_TRUE(IsOk(Vault::Create(empty.string(), kPassword, FastOptions())));
}

TEST_F(VaultTest, WrongPasswordIsReported) {
  EXPECT_TRUE(HasCode(Vault::Open(path_, "wrong"), Errc::kWrongPassword));
  EXPECT_TRUE(HasCode(Vault::Open(path_, ""), Errc::kWrongPassword));
}

TEST_F(VaultTest, PasswordIsNormalisedToNfc) {
  // A password typed in NFD (macOS) unlocks a vault created with NFC.
  const fs::path dir = tmp_.path() / "nfc";
  ASSERT_TRUE(IsOk(Vault::Create(dir.string(), "p" + kNfcName, FastOptions())));
  EXPECT_TRUE(IsOk(Vault::Open(dir.string(), "p" + kNfdName)));
}

TEST_F(VaultTest, MissingFilesMeanNotAVault) {
  vault_.reset();
  EXPECT_TRUE(
      HasCode(Vault::Open((tmp_.path() / "nowhere").string(), kPassword), Errc::kNotAVault));
  const fs::path empty = tmp_.path() / "empty";
  fs::create_directories(empty);
  EXPECT_TRUE(HasCode(Vault::Open(empty.string(), kPassword), Errc::kNotAVault));

  const fs::path vault(path_);
  fs::rename(vault / "masterkey.cryptomator", vault / "masterkey.moved");
  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kNotAVault));
  fs::rename(vault / "masterkey.moved", vault / "masterkey.cryptomator");

  fs::rename(vault / "vault.cryptomator", vault / "vault.moved");
  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kNotAVault));
  fs::rename(vault / "vault.moved", vault / "vault.cryptomator");

  // Cryptomator refuses a vault without its root content directory.
  fs::rename(vault / "d", vault / "d.moved");
  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kNotAVault));
  fs::rename(vault / "d.moved", vault / "d");
  EXPECT_TRUE(IsOk(Vault::Open(path_, kPassword)));
}

TEST_F(VaultTest, ChangePassword) {
  const Entry dir = MakeDir(root(), "dir");
  MakeFile(dir.AsDir(), "file", "secret content");
  vault_.reset();
  const fs::path vault(path_);
  const std::string old_masterkey = ReadPlain(vault / "masterkey.cryptomator");
  const auto content_before = Snapshot(vault / "d");
  const std::string config_before = ReadPlain(vault / "vault.cryptomator");

  ASSERT_TRUE(IsOk(Vault::ChangePassword(path_, kPassword, "new password")));

  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kWrongPassword));
  auto reopened = Vault::Open(path_, "new password");
  ASSERT_TRUE(IsOk(reopened));
  vault_ = std::move(reopened).value();
  EXPECT_EQ(Read(Resolve("/dir/file")), "secret content");

  // The old file is kept as Cryptomator names it: <file>.<SHA-256 prefix>.bkup.
  const Sha256Digest digest = Sha256(AsBytes(old_masterkey));
  std::string tag = EncodeHex(std::span(digest).first(4));
  std::transform(tag.begin(), tag.end(), tag.begin(), ::toupper);
  const fs::path backup = vault / ("masterkey.cryptomator." + tag + ".bkup");
  ASSERT_TRUE(fs::exists(backup)) << backup;
  EXPECT_EQ(ReadPlain(backup), old_masterkey);
  EXPECT_TRUE(Snapshot(vault / "d") == content_before) << "a password change touched d/";
  EXPECT_EQ(ReadPlain(vault / "vault.cryptomator"), config_before);
  EXPECT_FALSE(fs::exists(vault / "masterkey.cryptomator.tmp"));
}

TEST_F(VaultTest, ChangePasswordWithWrongPasswordChangesNothing) {
  vault_.reset();
  const auto before = Snapshot(path_);
  EXPECT_TRUE(HasCode(Vault::ChangePassword(path_, "wrong", "new"), Errc::kWrongPassword));
  EXPECT_TRUE(Snapshot(path_) == before);
  EXPECT_TRUE(HasCode(Vault::ChangePassword((tmp_.path() / "nowhere").string(), "a", "b"),
                      Errc::kNotAVault));
}

// ---------------------------------------------------------------------------
// Creating nodes

TEST_F(VaultTest, CreateFileAndReadBack) {
  const Entry e = MakeFile(root(), "hello.txt");
  EXPECT_EQ(e.name, "hello.txt");
  EXPECT_EQ(e.kind(), NodeKind::kFile);
  EXPECT_EQ(e.attr.size, 0u);
  EXPECT_FALSE(e.shortened);
  // A non-shortened file is the regular file X.c9r, just a header so far.
  EXPECT_EQ(fs::path(e.node_path), NodePath(root(), "hello.txt"));
  EXPECT_TRUE(fs::is_regular_file(e.node_path));
  EXPECT_EQ(fs::file_size(e.node_path), 68u);

  const std::string content = RandomText(2 * kChunk + 17, rng_);
  Write(e, content);
  const Entry again = Lookup(root(), "hello.txt");
  EXPECT_EQ(again.attr.size, content.size());
  EXPECT_EQ(again.attr.fileid, e.attr.fileid);
  EXPECT_EQ(Read(again), content);
  EXPECT_EQ(Names(root()), std::vector<std::string>{"hello.txt"});
  ExpectWellFormed();
}

TEST_F(VaultTest, CreateFileExclusiveAndNot) {
  const Entry e = MakeFile(root(), "f", "keep me");
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "f", 0644), Errc::kExists));
  auto existing = v().CreateFile(root(), "f", 0644, /*exclusive=*/false);
  ASSERT_TRUE(IsOk(existing));
  EXPECT_EQ(existing->attr.fileid, e.attr.fileid);
  EXPECT_EQ(Read(*existing), "keep me");  // not truncated

  MakeDir(root(), "d");
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "d", 0644), Errc::kExists));
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "d", 0644, false), Errc::kIsDirectory));
  EXPECT_TRUE(HasCode(v().MakeDirectory(root(), "f", 0755), Errc::kExists));
  EXPECT_TRUE(HasCode(v().MakeSymlink(root(), "d", "x"), Errc::kExists));
  ExpectWellFormed();
}

TEST_F(VaultTest, InvalidNamesAreRefused) {
  for (std::string_view bad : {std::string_view(""), std::string_view("."), std::string_view(".."),
                               std::string_view("a/b"), std::string_view("a\0b", 3)}) {
    SCOPED_TRACE(std::string(bad));
    EXPECT_TRUE(HasCode(v().CreateFile(root(), bad, 0644), Errc::kInvalidArgument));
    EXPECT_TRUE(HasCode(v().MakeDirectory(root(), bad, 0755), Errc::kInvalidArgument));
    EXPECT_TRUE(HasCode(v().MakeSymlink(root(), bad, "t"), Errc::kInvalidArgument));
    EXPECT_TRUE(HasCode(v().Lookup(root(), bad), Errc::kInvalidArgument));
  }
  MakeFile(root(), "ok");
  EXPECT_TRUE(HasCode(v().Rename(root(), "ok", root(), ".."), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().Rename(root(), "ok", root(), "a/b"), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().MakeSymlink(root(), "link", ""), Errc::kInvalidArgument));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"ok"});
  ExpectWellFormed();
}

TEST_F(VaultTest, MakeDirectoryLayout) {
  const Entry a = MakeDir(root(), "a");
  EXPECT_EQ(a.kind(), NodeKind::kDirectory);
  // X.c9r/dir.c9r holds the new id: a v4 UUID in canonical form.
  const fs::path node = NodePath(root(), "a");
  EXPECT_EQ(fs::path(a.node_path), node);
  const std::string id = ReadPlain(node / "dir.c9r");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id, a.dir_id);
  EXPECT_EQ(fs::directory_iterator(node)->path().filename(), "dir.c9r");
  // Its content directory is d/XX/YYYY… of that id, with dirid.c9r.
  auto content = v().names().ContentDirPath(id);
  ASSERT_TRUE(IsOk(content));
  EXPECT_EQ(a.data_path, (fs::path(path_) / *content).string());
  EXPECT_TRUE(fs::is_directory(a.data_path));
  auto dirid = ReadSmallEncryptedFile(v().cryptor(), a.data_path + "/dirid.c9r", 100);
  ASSERT_TRUE(IsOk(dirid));
  EXPECT_EQ(*dirid, id);
  EXPECT_EQ(fs::file_size(a.data_path + "/dirid.c9r"), 68u + 36u + 28u);

  const Entry b = MakeDir(a.AsDir(), "b");
  EXPECT_NE(b.dir_id, a.dir_id);
  MakeFile(b.AsDir(), "deep", "x");
  EXPECT_EQ(Read(Resolve("/a/b/deep")), "x");
  EXPECT_EQ(Names(a.AsDir()), std::vector<std::string>{"b"});
  auto again = v().Directory(a.dir_id);
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(again->content_path, a.data_path);
  ExpectWellFormed();
}

TEST_F(VaultTest, MakeSymlinkAndReadLink) {
  // Targets are stored verbatim: relative, absolute, dangling, non-NFC.
  const std::vector<std::string> targets = {"file.txt", "../up/x", "/abs/path",
                                            "dangling", kNfdName,  std::string(5000, 't')};
  int i = 0;
  for (const std::string& target : targets) {
    const std::string name = "link" + std::to_string(i++);
    const Entry e = MakeLink(root(), name, target);
    EXPECT_EQ(e.kind(), NodeKind::kSymlink);
    EXPECT_EQ(e.attr.size, target.size());
    EXPECT_EQ(ReadLink(Lookup(root(), name)), target);
    EXPECT_TRUE(fs::is_regular_file(NodePath(root(), name) / "symlink.c9r"));
  }
  const Entry file = MakeFile(root(), "file");
  EXPECT_TRUE(HasCode(v().ReadLink(file), Errc::kInvalidArgument));
  EXPECT_FALSE(v().OpenFile(Lookup(root(), "link0")).ok());
  ExpectWellFormed();
}

TEST_F(VaultTest, ShortenedNodesLayout) {
  // Threshold 220: 146 bytes give exactly 220 characters (kept), 147 are
  // shortened (spec §5.4).
  const std::string n146(146, 'a'), n147(147, 'b'), n200(200, 'c');
  EXPECT_FALSE(Shortened(root(), n146));
  EXPECT_TRUE(Shortened(root(), n147));
  const Entry f146 = MakeFile(root(), n146, "146");
  const Entry f147 = MakeFile(root(), n147, "147");
  const Entry d200 = MakeDir(root(), n200);
  const Entry l200 = MakeLink(d200.AsDir(), n200, "target");
  EXPECT_FALSE(f146.shortened);
  EXPECT_TRUE(f147.shortened);
  EXPECT_TRUE(d200.shortened);
  EXPECT_TRUE(l200.shortened);

  auto expect_c9s = [&](const DirRef& dir, const std::string& name, const char* kind_file) {
    auto ciphertext = v().names().EncryptName(name, dir.id);
    ASSERT_TRUE(IsOk(ciphertext));
    const fs::path node = fs::path(dir.content_path) / NameCipher::ShortenedName(*ciphertext);
    EXPECT_EQ(node.filename().string().size(), 32u);
    EXPECT_TRUE(fs::is_directory(node)) << name.size();
    EXPECT_EQ(ReadPlain(node / "name.c9s"), *ciphertext);
    EXPECT_TRUE(fs::is_regular_file(node / kind_file)) << kind_file;
  };
  expect_c9s(root(), n147, "contents.c9r");
  expect_c9s(root(), n200, "dir.c9r");
  expect_c9s(d200.AsDir(), n200, "symlink.c9r");
  EXPECT_TRUE(fs::is_regular_file(NodePath(root(), n146)));

  EXPECT_EQ(Read(Lookup(root(), n147)), "147");
  EXPECT_EQ(ReadLink(Lookup(d200.AsDir(), n200)), "target");
  EXPECT_EQ(Names(root()), (std::vector<std::string>{n146, n147, n200}));
  ExpectWellFormed();
}

TEST_F(VaultTest, SmallThresholdShortensShortNames) {
  NewVault(FastOptions(40));
  // 4·⌈(16+n)/3⌉ + 4 > 40 from n = 12 on.
  EXPECT_FALSE(Shortened(root(), std::string(11, 'x')));
  EXPECT_TRUE(Shortened(root(), std::string(12, 'x')));
  const Entry d = MakeDir(root(), "directory-name");
  MakeFile(d.AsDir(), "a-longer-file-name", "content");
  MakeLink(d.AsDir(), "short", "t");
  EXPECT_TRUE(d.shortened);
  EXPECT_EQ(Read(Resolve("directory-name/a-longer-file-name")), "content");
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Removing nodes

TEST_F(VaultTest, RemoveFilesAndSymlinks) {
  const Entry f = MakeFile(root(), "f", "x");
  MakeFile(root(), std::string(180, 'l'), "long");
  MakeLink(root(), "l", "target");
  MakeLink(root(), std::string(180, 's'), "target");
  const Entry d = MakeDir(root(), "d");
  EXPECT_TRUE(IsOk(v().Remove(root(), "f")));
  EXPECT_TRUE(IsOk(v().Remove(root(), std::string(180, 'l'))));
  EXPECT_TRUE(IsOk(v().Remove(root(), "l")));
  EXPECT_TRUE(IsOk(v().Remove(root(), std::string(180, 's'))));
  EXPECT_TRUE(HasCode(v().Remove(root(), "f"), Errc::kNotFound));
  EXPECT_TRUE(HasCode(v().Lookup(root(), "f"), Errc::kNotFound));
  EXPECT_TRUE(HasCode(v().Remove(root(), "d"), Errc::kIsDirectory));
  EXPECT_FALSE(fs::exists(f.node_path));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"d"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RemoveDirectory) {
  const Entry d = MakeDir(root(), "d");
  const Entry sub = MakeDir(d.AsDir(), "sub");
  MakeFile(sub.AsDir(), "f");
  MakeFile(root(), "file");
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "d"), Errc::kNotEmpty));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(d.AsDir(), "sub"), Errc::kNotEmpty));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "file"), Errc::kNotDirectory));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "missing"), Errc::kNotFound));
  EXPECT_EQ(Read(Resolve("d/sub/f")), "");  // nothing was removed

  ASSERT_TRUE(IsOk(v().Remove(sub.AsDir(), "f")));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(d.AsDir(), "sub")));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), "d")));
  // Content directory and node are gone; the shared d/XX level stays.
  EXPECT_FALSE(fs::exists(d.data_path));
  EXPECT_FALSE(fs::exists(sub.data_path));
  EXPECT_FALSE(fs::exists(d.node_path));
  EXPECT_TRUE(fs::exists(fs::path(d.data_path).parent_path()));
  EXPECT_TRUE(HasCode(v().Directory(d.dir_id), Errc::kNotFound));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"file"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RemoveShortenedDirectory) {
  const std::string name(200, 'd');
  const Entry d = MakeDir(root(), name);
  MakeFile(d.AsDir(), "f");
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), name), Errc::kNotEmpty));
  ASSERT_TRUE(IsOk(v().Remove(d.AsDir(), "f")));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), name)));
  EXPECT_FALSE(fs::exists(d.node_path));
  EXPECT_TRUE(Names(root()).empty());
  ExpectWellFormed();
}

TEST_F(VaultTest, RemoveDirectoryIgnoresUnknownFiles) {
  // Stray files (sync tool litter) do not make a directory "non-empty".
  const Entry d = MakeDir(root(), "d");
  WritePlain(fs::path(d.data_path) / ".DS_Store", "junk");
  WritePlain(fs::path(d.data_path) / "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.c9r", "not a node");
  EXPECT_TRUE(Names(d.AsDir()).empty());
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), "d")));
  EXPECT_FALSE(fs::exists(d.data_path));
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Renaming

TEST_F(VaultTest, RenameFileWithinDirectory) {
  const Entry f = MakeFile(root(), "old", "content");
  ASSERT_TRUE(IsOk(v().Rename(root(), "old", root(), "new")));
  EXPECT_TRUE(HasCode(v().Lookup(root(), "old"), Errc::kNotFound));
  const Entry moved = Lookup(root(), "new");
  EXPECT_EQ(Read(moved), "content");
  EXPECT_EQ(moved.attr.fileid, f.attr.fileid);
  EXPECT_EQ(Names(root()), std::vector<std::string>{"new"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameFileAcrossDirectories) {
  const Entry a = MakeDir(root(), "a");
  const Entry b = MakeDir(root(), "b");
  const Entry f = MakeFile(a.AsDir(), "f", "content");
  ASSERT_TRUE(IsOk(v().Rename(a.AsDir(), "f", b.AsDir(), "g")));
  EXPECT_TRUE(Names(a.AsDir()).empty());
  EXPECT_EQ(Names(b.AsDir()), std::vector<std::string>{"g"});
  EXPECT_EQ(Read(Resolve("b/g")), "content");
  EXPECT_EQ(Resolve("b/g").attr.fileid, f.attr.fileid);
  // And back up to the root under the same name.
  ASSERT_TRUE(IsOk(v().Rename(b.AsDir(), "g", root(), "g")));
  EXPECT_EQ(Read(Resolve("g")), "content");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameFileOverExistingFile) {
  const Entry src = MakeFile(root(), "src", "new content");
  MakeFile(root(), "dst", "old content that is longer");
  ASSERT_TRUE(IsOk(v().Rename(root(), "src", root(), "dst")));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"dst"});
  const Entry dst = Lookup(root(), "dst");
  EXPECT_EQ(Read(dst), "new content");
  EXPECT_EQ(dst.attr.fileid, src.attr.fileid);
  // Over a shortened file, from a shortened file.
  const std::string long1(160, 'x'), long2(170, 'y');
  MakeFile(root(), long1, "one");
  MakeFile(root(), long2, "two");
  ASSERT_TRUE(IsOk(v().Rename(root(), long1, root(), long2)));
  EXPECT_EQ(Read(Lookup(root(), long2)), "one");
  ASSERT_TRUE(IsOk(v().Rename(root(), long2, root(), "dst")));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"dst"});
  EXPECT_EQ(Read(Lookup(root(), "dst")), "one");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameDirectoryOverEmptyDirectory) {
  const Entry src = MakeDir(root(), "src");
  MakeFile(src.AsDir(), "child", "c");
  const Entry dst = MakeDir(root(), "dst");
  ASSERT_TRUE(IsOk(v().Rename(root(), "src", root(), "dst")));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"dst"});
  const Entry moved = Lookup(root(), "dst");
  EXPECT_EQ(moved.dir_id, src.dir_id);
  EXPECT_EQ(Read(Resolve("dst/child")), "c");
  // The replaced directory is gone, content directory included.
  EXPECT_FALSE(fs::exists(dst.data_path));
  EXPECT_TRUE(HasCode(v().Directory(dst.dir_id), Errc::kNotFound));
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameDirectoryOverNonEmptyDirectory) {
  MakeDir(root(), "src");
  const Entry dst = MakeDir(root(), "dst");
  MakeFile(dst.AsDir(), "keep", "k");
  EXPECT_TRUE(HasCode(v().Rename(root(), "src", root(), "dst"), Errc::kNotEmpty));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"dst", "src"}));
  EXPECT_EQ(Read(Resolve("dst/keep")), "k");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameDirectoryIntoItsOwnSubtree) {
  const Entry a = MakeDir(root(), "a");
  const Entry b = MakeDir(a.AsDir(), "b");
  const Entry c = MakeDir(b.AsDir(), "c");
  EXPECT_TRUE(HasCode(v().Rename(root(), "a", a.AsDir(), "x"), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().Rename(root(), "a", c.AsDir(), "a"), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().Rename(a.AsDir(), "b", c.AsDir(), "b"), Errc::kInvalidArgument));
  // Also when the vault learned nothing about the tree yet.
  Reopen();
  auto c_dir = v().Directory(c.dir_id);
  ASSERT_TRUE(IsOk(c_dir));
  EXPECT_TRUE(HasCode(v().Rename(root(), "a", *c_dir, "a"), Errc::kInvalidArgument));
  // Moving a directory up out of itself is fine.
  EXPECT_TRUE(IsOk(v().Rename(b.AsDir(), "c", root(), "c")));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"a", "c"}));
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameOverItsOwnParent) {
  // rename("a/b", "a"): the target is not empty (it holds the source).
  const Entry a = MakeDir(root(), "a");
  MakeDir(a.AsDir(), "b");
  EXPECT_TRUE(HasCode(v().Rename(a.AsDir(), "b", root(), "a"), Errc::kNotEmpty));
  EXPECT_EQ(Names(a.AsDir()), std::vector<std::string>{"b"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameKindMismatches) {
  MakeFile(root(), "file", "f");
  MakeDir(root(), "dir");
  MakeDir(root(), "dir2");
  MakeLink(root(), "link", "t");
  EXPECT_TRUE(HasCode(v().Rename(root(), "file", root(), "dir"), Errc::kIsDirectory));
  EXPECT_TRUE(HasCode(v().Rename(root(), "link", root(), "dir"), Errc::kIsDirectory));
  EXPECT_TRUE(HasCode(v().Rename(root(), "dir", root(), "file"), Errc::kNotDirectory));
  EXPECT_TRUE(HasCode(v().Rename(root(), "dir", root(), "link"), Errc::kNotDirectory));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"dir", "dir2", "file", "link"}));
  EXPECT_EQ(Read(Lookup(root(), "file")), "f");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameReplacesAcrossFileAndSymlink) {
  MakeFile(root(), "file", "f");
  MakeLink(root(), "link", "target");
  MakeFile(root(), "file2", "f2");
  ASSERT_TRUE(IsOk(v().Rename(root(), "link", root(), "file")));  // symlink over file
  EXPECT_EQ(Lookup(root(), "file").kind(), NodeKind::kSymlink);
  EXPECT_EQ(ReadLink(Lookup(root(), "file")), "target");
  ASSERT_TRUE(IsOk(v().Rename(root(), "file2", root(), "file")));  // file over symlink
  EXPECT_EQ(Lookup(root(), "file").kind(), NodeKind::kFile);
  EXPECT_EQ(Read(Lookup(root(), "file")), "f2");
  MakeLink(root(), "l1", "one");
  MakeLink(root(), "l2", "two");
  ASSERT_TRUE(IsOk(v().Rename(root(), "l1", root(), "l2")));  // symlink over symlink
  EXPECT_EQ(ReadLink(Lookup(root(), "l2")), "one");
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"file", "l2"}));
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameSymlinkAcrossDirectories) {
  const Entry d = MakeDir(root(), "d");
  const Entry l = MakeLink(root(), "link", "../somewhere");
  ASSERT_TRUE(IsOk(v().Rename(root(), "link", d.AsDir(), "moved")));
  const Entry moved = Lookup(d.AsDir(), "moved");
  EXPECT_EQ(moved.kind(), NodeKind::kSymlink);
  EXPECT_EQ(ReadLink(moved), "../somewhere");  // verbatim, not rewritten
  EXPECT_EQ(moved.attr.fileid, l.attr.fileid);
  EXPECT_TRUE(Names(root()) == std::vector<std::string>{"d"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameOntoItselfChangesNothing) {
  MakeFile(root(), "f", "x");
  MakeDir(root(), "d");
  const auto before = Snapshot(path_);
  EXPECT_TRUE(IsOk(v().Rename(root(), "f", root(), "f")));
  EXPECT_TRUE(IsOk(v().Rename(root(), "d", root(), "d")));
  EXPECT_TRUE(Snapshot(path_) == before);
}

TEST_F(VaultTest, RenameMissingSource) {
  MakeDir(root(), "d");
  EXPECT_TRUE(HasCode(v().Rename(root(), "nope", root(), "x"), Errc::kNotFound));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"d"});
}

// Every kind moves between shortened and non-shortened names, both ways and
// across directories, with its content (or children) intact.
class ShorteningRenameTest : public VaultTest, public ::testing::WithParamInterface<NodeKind> {};

TEST_P(ShorteningRenameTest, BetweenShortenedAndNot) {
  const Entry other = MakeDir(root(), "other");
  // 146 bytes: kept; 147 and 200 bytes: shortened; then a CJK name of 200
  // bytes (but 68 characters) and back to short.
  std::string cjk;
  while (cjk.size() < 198) cjk += "\xE6\x97\xA5";  // 日
  cjk += "ab";
  ASSERT_EQ(cjk.size(), 200u);
  struct Hop {
    std::string name;
    bool into_other;
  };
  const std::vector<Hop> hops = {{std::string(146, 'a'), false},
                                 {std::string(147, 'b'), false},
                                 {std::string(200, 'c'), true},
                                 {std::string(146, 'd'), true},
                                 {cjk, false},
                                 {std::string(147, 'e'), true},
                                 {"short", false}};
  DirRef where = root();
  std::string name = "start";
  Entry original;
  switch (GetParam()) {
    case NodeKind::kFile:
      original = MakeFile(where, name, "file content");
      break;
    case NodeKind::kDirectory:
      original = MakeDir(where, name);
      MakeFile(original.AsDir(), "child", "child content");
      MakeDir(original.AsDir(), std::string(150, 's'));
      break;
    case NodeKind::kSymlink:
      original = MakeLink(where, name, "link target");
      break;
  }
  for (const Hop& hop : hops) {
    SCOPED_TRACE(std::to_string(hop.name.size()) + " bytes");
    const DirRef to = hop.into_other ? other.AsDir() : root();
    ASSERT_TRUE(IsOk(v().Rename(where, name, to, hop.name)));
    EXPECT_TRUE(HasCode(v().Lookup(where, name), Errc::kNotFound));
    where = to;
    name = hop.name;
    const Entry e = Lookup(where, name);
    EXPECT_EQ(e.kind(), GetParam());
    EXPECT_EQ(e.shortened, Shortened(where, name));
    EXPECT_EQ(e.attr.fileid, original.attr.fileid);
    switch (GetParam()) {
      case NodeKind::kFile:
        EXPECT_EQ(Read(e), "file content");
        break;
      case NodeKind::kDirectory: {
        EXPECT_EQ(e.dir_id, original.dir_id);
        EXPECT_EQ(Read(Lookup(e.AsDir(), "child")), "child content");
        EXPECT_EQ(Names(e.AsDir()), (std::vector<std::string>{"child", std::string(150, 's')}));
        auto parent = v().Parent(e.AsDir());
        ASSERT_TRUE(IsOk(parent));
        EXPECT_EQ(parent->id, where.id);
        break;
      }
      case NodeKind::kSymlink:
        EXPECT_EQ(ReadLink(e), "link target");
        break;
    }
    // Exactly one node moved: no copy left behind, nothing lost.
    EXPECT_EQ(Names(root()).size(), where.id.empty() ? 2u : 1u);
    EXPECT_EQ(Names(other.AsDir()).size(), where.id.empty() ? 0u : 1u);
    ExpectWellFormed();
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ShorteningRenameTest,
                         ::testing::Values(NodeKind::kFile, NodeKind::kDirectory,
                                           NodeKind::kSymlink),
                         [](const auto& info) {
                           switch (info.param) {
                             case NodeKind::kFile:
                               return "File";
                             case NodeKind::kDirectory:
                               return "Directory";
                             case NodeKind::kSymlink:
                               return "Symlink";
                           }
                           return "Unknown";
                         });

// ---------------------------------------------------------------------------
// Unicode normalisation (spec §5.3)

TEST_F(VaultTest, NewNodesAreStoredInNfc) {
  const Entry f = MakeFile(root(), kNfdName, "x");
  EXPECT_EQ(f.name, kNfcName);
  EXPECT_TRUE(fs::exists(NodePath(root(), kNfcName)));
  EXPECT_FALSE(fs::exists(NodePath(root(), kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{kNfcName});
  // Lookup of either form finds the one node.
  EXPECT_EQ(Lookup(root(), kNfdName).attr.fileid, f.attr.fileid);
  EXPECT_EQ(Lookup(root(), kNfcName).attr.fileid, f.attr.fileid);
  EXPECT_TRUE(HasCode(v().CreateFile(root(), kNfcName, 0644), Errc::kExists));

  const Entry d = MakeDir(root(), "d" + kNfdName);
  EXPECT_EQ(d.name, "d" + kNfcName);
  EXPECT_TRUE(fs::exists(NodePath(root(), "d" + kNfcName)));
  const Entry l = MakeLink(root(), "l" + kNfdName, kNfdName);
  EXPECT_EQ(l.name, "l" + kNfcName);
  EXPECT_EQ(ReadLink(l), kNfdName);  // targets are not normalised

  // Rename to an NFD name stores NFC; rename from the NFD spelling works.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfdName, root(), "r" + kNfdName)));
  EXPECT_TRUE(fs::exists(NodePath(root(), "r" + kNfcName)));
  EXPECT_EQ(Read(Lookup(root(), "r" + kNfcName)), "x");
  ASSERT_TRUE(IsOk(v().Remove(root(), "r" + kNfdName)));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), "d" + kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"l" + kNfcName});
  ExpectWellFormed();
}

TEST_F(VaultTest, ForeignNfdNamesAreListedAsDecrypted) {
  // Another tool stored an NFD name (pycryptomator does).
  auto ciphertext = v().names().EncryptName(kNfdName, "");
  ASSERT_TRUE(IsOk(ciphertext));
  {
    auto file = EncryptedFile::Create(v().cryptor(), root().content_path + "/" + *ciphertext, 0644);
    ASSERT_TRUE(IsOk(file));
    ASSERT_TRUE(IsOk((*file)->Write(0, AsBytes("nfd"))));
  }
  EXPECT_EQ(Names(root()), std::vector<std::string>{kNfdName});
  const Entry nfd = Lookup(root(), kNfdName);
  EXPECT_EQ(nfd.name, kNfdName);
  EXPECT_EQ(Read(nfd), "nfd");
  // Its NFC spelling finds nothing, exactly like Cryptomator, so an NFC twin
  // can be created; both are listed and each spelling finds its own node.
  EXPECT_TRUE(HasCode(v().Lookup(root(), kNfcName), Errc::kNotFound));
  EXPECT_TRUE(HasCode(v().CreateFile(root(), kNfdName, 0644), Errc::kExists));
  MakeFile(root(), kNfcName, "nfc");
  EXPECT_EQ(Names(root()), (std::vector<std::string>{kNfdName, kNfcName}));
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "nfd");
  EXPECT_EQ(Read(Lookup(root(), kNfcName)), "nfc");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameTargetsFollowLookupPolicy) {
  // NFC/NFD twins from another tool: each spelling names its own node, for
  // the target of a rename just as for a lookup. Otherwise renaming onto
  // one twin would silently replace the other.
  auto ciphertext = v().names().EncryptName(kNfdName, "");
  ASSERT_TRUE(IsOk(ciphertext));
  auto make_nfd = [&] {
    auto file = EncryptedFile::Create(v().cryptor(), root().content_path + "/" + *ciphertext, 0644);
    ASSERT_TRUE(IsOk(file));
    ASSERT_TRUE(IsOk((*file)->Write(0, AsBytes("nfd"))));
  };
  make_nfd();
  MakeFile(root(), kNfcName, "nfc");
  // Onto itself: nothing happens (POSIX), the NFC twin survives.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfdName, root(), kNfdName)));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{kNfdName, kNfcName}));
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "nfd");
  EXPECT_EQ(Read(Lookup(root(), kNfcName)), "nfc");
  // Onto the NFD twin: the NFD twin is replaced, the NFC one moved.
  MakeFile(root(), "other", "other");
  ASSERT_TRUE(IsOk(v().Rename(root(), "other", root(), kNfdName)));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{kNfdName, kNfcName}));
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "other");
  EXPECT_EQ(Read(Lookup(root(), kNfcName)), "nfc");
  // From one twin onto the other.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfcName, root(), kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{kNfdName});
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "nfc");
  // Without an exact match the NFC form is the target, as for new nodes.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfdName, root(), "x" + kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"x" + kNfcName});
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Parents and identities

TEST_F(VaultTest, ParentOfNestedDirectories) {
  const Entry a = MakeDir(root(), "a");
  const Entry b = MakeDir(a.AsDir(), "b");
  const Entry c = MakeDir(b.AsDir(), std::string(180, 'c'));
  auto expect_parent = [&](const std::string& child_id, const std::string& parent_id) {
    auto child = v().Directory(child_id);
    ASSERT_TRUE(IsOk(child));
    auto parent = v().Parent(*child);
    ASSERT_TRUE(IsOk(parent));
    EXPECT_EQ(parent->id, parent_id);
  };
  expect_parent(c.dir_id, b.dir_id);
  expect_parent(b.dir_id, a.dir_id);
  expect_parent(a.dir_id, "");
  expect_parent("", "");  // the root is its own parent
  EXPECT_EQ(Resolve("a/b/..").dir_id, a.dir_id);

  // A fresh Vault knows nothing of the tree: it finds parents by indexing.
  Reopen();
  expect_parent(c.dir_id, b.dir_id);
  Reopen();
  expect_parent(b.dir_id, a.dir_id);
  expect_parent(a.dir_id, "");

  // After a move the new parent is reported, also after re-opening.
  ASSERT_TRUE(IsOk(v().Rename(a.AsDir(), "b", root(), "b")));
  expect_parent(b.dir_id, "");
  expect_parent(c.dir_id, b.dir_id);
  Reopen();
  expect_parent(b.dir_id, "");
  ExpectWellFormed();
}

TEST_F(VaultTest, FileIdsAreStableAcrossRenameAndReopen) {
  const Entry d1 = MakeDir(root(), "d1");
  const Entry d2 = MakeDir(root(), "d2");
  const Entry f = MakeFile(d1.AsDir(), "f", "x");
  const Entry d = MakeDir(d1.AsDir(), "d");
  const Entry l = MakeLink(d1.AsDir(), "l", "t");
  // Distinct nodes have distinct ids.
  const std::set<uint64_t> ids = {f.attr.fileid, d.attr.fileid, l.attr.fileid, d1.attr.fileid,
                                  d2.attr.fileid};
  EXPECT_EQ(ids.size(), 5u);
  const std::string long_name(190, 'n');
  for (const auto& [name, original] :
       std::vector<std::pair<std::string, Entry>>{{"f", f}, {"d", d}, {"l", l}}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(IsOk(v().Rename(d1.AsDir(), name, d2.AsDir(), long_name)));
    EXPECT_EQ(Lookup(d2.AsDir(), long_name).attr.fileid, original.attr.fileid);
    ASSERT_TRUE(IsOk(v().Rename(d2.AsDir(), long_name, d1.AsDir(), name + "2")));
    EXPECT_EQ(Lookup(d1.AsDir(), name + "2").attr.fileid, original.attr.fileid);
  }
  Write(Lookup(d1.AsDir(), "f2"), std::string(3 * kChunk, 'w'));
  Reopen();
  EXPECT_EQ(Resolve("d1/f2").attr.fileid, f.attr.fileid);
  EXPECT_EQ(Resolve("d1/d2").attr.fileid, d.attr.fileid);
  EXPECT_EQ(Resolve("d1/l2").attr.fileid, l.attr.fileid);
  EXPECT_EQ(Resolve("d1").attr.fileid, d1.attr.fileid);
  ExpectWellFormed();
}

TEST_F(VaultTest, DirectoryRefsSurviveRenames) {
  // A DirRef is the id and content directory, neither of which a rename
  // changes: an NFS handle held across a rename keeps working.
  const Entry a = MakeDir(root(), "a");
  const DirRef ref = a.AsDir();
  ASSERT_TRUE(IsOk(v().Rename(root(), "a", root(), std::string(200, 'z'))));
  MakeFile(ref, "created-after-rename", "ok");
  EXPECT_EQ(Read(Resolve(std::string(200, 'z') + "/created-after-rename")), "ok");
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Read-only vaults

TEST_F(VaultTest, ReadOnlyVaultRefusesMutations) {
  const Entry d = MakeDir(root(), "d");
  MakeFile(root(), "f", "content");
  MakeLink(root(), "l", "t");
  Reopen({.read_only = true});
  EXPECT_TRUE(v().read_only());
  const auto before = Snapshot(path_);
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "new", 0644), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "f", 0644, false), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().MakeDirectory(root(), "new", 0755), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().MakeSymlink(root(), "new", "t"), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().Remove(root(), "f"), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "d"), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().Rename(root(), "f", root(), "g"), Errc::kReadOnly));
  const Entry f = Lookup(root(), "f");
  EXPECT_TRUE(HasCode(v().SetMode(f, 0600), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().SetTimes(f, timespec{1, 0}, timespec{1, 0}), Errc::kReadOnly));
  // Reading still works; the file is opened read-only, so writes fail.
  EXPECT_EQ(Read(f), "content");
  auto file = v().OpenFile(f);
  ASSERT_TRUE(IsOk(file));
  EXPECT_FALSE((*file)->Write(0, AsBytes("x")).ok());
  EXPECT_FALSE((*file)->Truncate(0).ok());
  EXPECT_EQ(ReadLink(Lookup(root(), "l")), "t");
  EXPECT_TRUE(Snapshot(path_) == before) << "a read-only vault changed on disk";
}

// ---------------------------------------------------------------------------
// Attributes

TEST_F(VaultTest, SetModeAndTimes) {
  const Entry f = MakeFile(root(), "f", "x");
  ASSERT_TRUE(IsOk(v().SetMode(f, 0600)));
  const timespec mtime{1'600'000'000, 123};
  ASSERT_TRUE(IsOk(v().SetTimes(f, std::nullopt, mtime)));
  const Entry again = Lookup(root(), "f");
  EXPECT_EQ(again.attr.mode, 0600u);
  EXPECT_EQ(again.attr.mtime.tv_sec, mtime.tv_sec);
  EXPECT_EQ(again.attr.mtime.tv_nsec, mtime.tv_nsec);
  const Entry d = MakeDir(root(), "d");
  ASSERT_TRUE(IsOk(v().SetMode(d, 0700)));
  EXPECT_EQ(Lookup(root(), "d").attr.mode, 0700u);
}

// ---------------------------------------------------------------------------
// Thread safety

TEST_F(VaultTest, ConcurrentCreateWriteRead) {
  constexpr int kThreads = 4;
  constexpr int kFilesPerThread = 8;
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  auto fail = [&](const std::string& what, const Status& s) {
    ADD_FAILURE() << what << ": " << s.ToString();
    ++failures;
  };
  auto content_for = [](int t, int i) {
    // Sizes around chunk boundaries so writes do read-modify-write.
    const size_t size =
        (static_cast<size_t>(i) * 9973 + static_cast<size_t>(t) * kChunk) % (3 * kChunk + 5);
    std::string s(size, '\0');
    for (size_t k = 0; k < size; ++k) s[k] = static_cast<char>('a' + (k * 7 + t + i) % 26);
    return s;
  };
  auto worker = [&](int t) {
    // Every thread creates in the root (contended) and in its own dir.
    auto dir = v().MakeDirectory(root(), "t" + std::to_string(t), 0755);
    if (!dir.ok()) return fail("mkdir", dir.status());
    for (int i = 0; i < kFilesPerThread; ++i) {
      const DirRef where = i % 2 ? root() : dir->AsDir();
      const std::string name = "f" + std::to_string(t) + "-" + std::to_string(i) +
                               (i % 3 == 0 ? std::string(160, 'L') : "");
      auto e = v().CreateFile(where, name, 0644);
      if (!e.ok()) return fail("create " + name, e.status());
      auto file = v().OpenFile(*e);
      if (!file.ok()) return fail("open " + name, file.status());
      const std::string content = content_for(t, i);
      // Two writes, the second overlapping the first's end.
      const size_t half = content.size() / 2;
      Status s = (*file)->Write(0, AsBytes(std::string_view(content).substr(0, half + 1)));
      if (s.ok()) s = (*file)->Write(half, AsBytes(std::string_view(content).substr(half)));
      if (!s.ok()) return fail("write " + name, s);
      auto again = v().Lookup(where, name);
      if (!again.ok()) return fail("lookup " + name, again.status());
      auto reread = v().OpenFile(*again);
      if (!reread.ok()) return fail("reopen " + name, reread.status());
      std::string got(content.size() + 10, '\0');
      auto n = (*reread)->Read(0, std::span(reinterpret_cast<uint8_t*>(got.data()), got.size()));
      if (!n.ok()) return fail("read " + name, n.status());
      got.resize(*n);
      if (got != content) return fail("content of " + name, Status(Errc::kCorrupt, "differs"));
    }
  };
  // Meanwhile another thread keeps listing and resolving.
  std::thread lister([&] {
    while (!done.load()) {
      auto entries = v().List(root());
      if (!entries.ok()) return fail("list", entries.status());
      for (const Entry& e : *entries) {
        if (e.kind() == NodeKind::kDirectory && !v().List(e.AsDir()).ok()) {
          return fail("list " + e.name, Status(Errc::kIo, "failed"));
        }
      }
    }
  });
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  done = true;
  lister.join();
  ASSERT_EQ(failures.load(), 0);

  Reopen();
  size_t in_root = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kFilesPerThread; ++i) {
      const std::string name = "f" + std::to_string(t) + "-" + std::to_string(i) +
                               (i % 3 == 0 ? std::string(160, 'L') : "");
      const std::string path = (i % 2 ? "" : "t" + std::to_string(t) + "/") + name;
      EXPECT_EQ(Read(Resolve(path)), content_for(t, i)) << path;
      if (i % 2) ++in_root;
    }
  }
  EXPECT_EQ(Names(root()).size(), in_root + kThreads);
  ExpectWellFormed();
}

}  // namespace
}  // namespace vaultcore
