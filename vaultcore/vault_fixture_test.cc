// Every fixture vault in shared/fixtures/vaults decrypts exactly to its
// manifest: the same set of paths, kinds, sizes, sha256 sums and symlink
// targets, and nothing else.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/crypto.h"
#include "vaultcore/vault.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::FixturesDir;

struct Seen {
  std::string type;
  uint64_t size = 0;
  std::string sha256;
  std::string target;
};

std::string Sha256Hex(std::span<const uint8_t> data) { return EncodeHex(Sha256(data)); }

void Walk(Vault& vault, const DirRef& dir, const std::string& prefix,
          std::map<std::string, Seen>& seen) {
  auto entries = vault.List(dir);
  ASSERT_TRUE(entries.ok()) << prefix << ": " << entries.status().ToString();
  for (const Entry& e : *entries) {
    const std::string path = prefix + "/" + e.name;
    Seen s;
    switch (e.kind()) {
      case NodeKind::kDirectory:
        s.type = "dir";
        Walk(vault, e.AsDir(), path, seen);
        break;
      case NodeKind::kSymlink: {
        s.type = "symlink";
        auto target = vault.ReadLink(e);
        ASSERT_TRUE(target.ok()) << path << ": " << target.status().ToString();
        s.target = *target;
        s.size = e.attr.size;
        break;
      }
      case NodeKind::kFile: {
        s.type = "file";
        s.size = e.attr.size;
        auto file = vault.OpenFile(e);
        ASSERT_TRUE(file.ok()) << path << ": " << file.status().ToString();
        std::vector<uint8_t> content(e.attr.size + 10);
        auto got = (*file)->Read(0, content);
        ASSERT_TRUE(got.ok()) << path << ": " << got.status().ToString();
        content.resize(*got);
        s.sha256 = Sha256Hex(content);
        break;
      }
    }
    EXPECT_TRUE(seen.emplace(path, s).second) << "listed twice: " << path;
  }
}

class FixtureVaultTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureVaultTest, DecryptsExactlyToManifest) {
  const auto dir = FixturesDir() / "vaults";
  std::ifstream in(dir / (GetParam() + ".json"));
  const auto manifest = nlohmann::json::parse(in);
  auto vault = Vault::Open((dir / GetParam()).string(), manifest["password"].get<std::string>(),
                           {.read_only = true});
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ((*vault)->config().shortening_threshold,
            manifest["vault_config"]["shorteningThreshold"].get<int>());

  std::map<std::string, Seen> seen;
  Walk(**vault, (*vault)->Root(), "", seen);

  size_t expected_count = 0;
  for (const auto& want : manifest["entries"]) {
    const std::string path = want["path"];
    if (path == "/") continue;
    ++expected_count;
    auto it = seen.find(path);
    ASSERT_NE(it, seen.end()) << "missing: " << path;
    EXPECT_EQ(it->second.type, want["type"].get<std::string>()) << path;
    if (want.contains("size")) {
      EXPECT_EQ(it->second.size, want["size"].get<uint64_t>()) << path;
    }
    if (want.contains("sha256")) {
      EXPECT_EQ(it->second.sha256, want["sha256"].get<std::string>()) << path;
    }
    if (want.contains("target")) {
      EXPECT_EQ(it->second.target, want["target"].get<std::string>()) << path;
    }
  }
  EXPECT_EQ(seen.size(), expected_count);
}

TEST_P(FixtureVaultTest, EveryListedPathResolves) {
  const auto dir = FixturesDir() / "vaults";
  std::ifstream in(dir / (GetParam() + ".json"));
  const auto manifest = nlohmann::json::parse(in);
  auto vault = Vault::Open((dir / GetParam()).string(), manifest["password"].get<std::string>(),
                           {.read_only = true});
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  for (const auto& want : manifest["entries"]) {
    auto entry = (*vault)->ResolvePath(want["path"].get<std::string>());
    ASSERT_TRUE(entry.ok()) << want["path"] << ": " << entry.status().ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Vaults, FixtureVaultTest,
                         ::testing::Values("main", "small-threshold", "cryptomator-desktop-2024"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace vaultcore
