// The fixture of the Vault tests (vault_test.cc, vault_rename_test.cc): a
// fresh vault per test with small scrypt parameters, helpers that assert as
// they go, and ExpectWellFormed(), which checks the whole ciphertext tree
// against Cryptomator's layout (spec §5, §6, §9).
#pragma once

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
#include "vaultcore/vault.h"

namespace vaultcore::vault_testing {

using vaultnfs::testing::HasCode;
using vaultnfs::testing::IsOk;

namespace fs = std::filesystem;
using vaultnfs::testing::TempDir;

constexpr std::string_view kPassword = "correct horse battery";
constexpr uint64_t kChunk = kCleartextChunkSize;

// The same name in both Unicode forms: "Zoë.txt".
inline const std::string kNfcName = "Zo\xC3\xAB.txt";   // U+00EB
inline const std::string kNfdName = "Zoe\xCC\x88.txt";  // e + U+0308

// Small scrypt parameters: the tests are about the tree, not the KDF.
inline CreateOptions FastOptions(int threshold = 220, CipherCombo combo = CipherCombo::kSivGcm) {
  return CreateOptions{
      .shortening_threshold = threshold, .cipher_combo = combo, .scrypt = {.n = 1024, .r = 8}};
}

inline std::string ReadPlain(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WritePlain(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Every file under `root` with its bytes and mtime: equal snapshots mean
// nothing was touched.
inline std::map<std::string, std::pair<std::string, fs::file_time_type>> Snapshot(
    const fs::path& root) {
  std::map<std::string, std::pair<std::string, fs::file_time_type>> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).string();
    out[rel] = {e.is_regular_file() ? ReadPlain(e.path()) : "<dir>", e.last_write_time()};
  }
  return out;
}

inline std::string RandomText(size_t n, std::mt19937& rng) {
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

}  // namespace vaultcore::vault_testing
