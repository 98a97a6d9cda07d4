// Every fixture vault of shared/fixtures/vaults, read back through NFS and
// compared with its manifest (<name>.json: every cleartext entry with its
// path, type, size and SHA-256, or symlink target): the tree as READDIRPLUS
// shows it (nfs_opendir / nfs_readdir), every file's bytes, every symlink's
// target. The 1,000-entry directory of `main` is also listed with raw
// READDIR and READDIRPLUS in small pages, each name exactly once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/nfs_harness.h"
#include "tests/nfs_raw.h"
#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"

namespace vaultnfs::testing {
namespace {

namespace fs = std::filesystem;

struct Expected {
  std::string type;  // "file", "dir", "symlink"
  uint64_t size = 0;
  std::string sha256;  // files
  std::string target;  // symlinks
};

std::map<std::string, Expected> LoadManifest(const nlohmann::json& manifest) {
  std::map<std::string, Expected> out;
  for (const auto& e : manifest.at("entries")) {
    Expected expected;
    expected.type = e.at("type").get<std::string>();
    if (e.contains("size")) expected.size = e.at("size").get<uint64_t>();
    if (e.contains("sha256")) expected.sha256 = e.at("sha256").get<std::string>();
    if (e.contains("target")) expected.target = e.at("target").get<std::string>();
    const auto path = e.at("path").get<std::string>();
    EXPECT_TRUE(out.emplace(path, expected).second) << "manifest lists " << path << " twice";
  }
  return out;
}

struct Seen {
  std::string type;
  uint64_t size = 0;
  uint64_t fileid = 0;
};

const char* TypeName(uint32_t type) {
  switch (type) {
    case NF3REG:
      return "file";
    case NF3DIR:
      return "dir";
    case NF3LNK:
      return "symlink";
    default:
      return "other";
  }
}

// Lists the tree under `path` with nfs_opendir (READDIRPLUS), recording
// every entry once.
void Walk(nfs_context* nfs, const std::string& path, std::map<std::string, Seen>* seen) {
  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(nfs, path.c_str(), &dir), 0) << path << ": " << nfs_get_error(nfs);
  std::vector<std::string> subdirs;
  while (nfsdirent* e = nfs_readdir(nfs, dir)) {
    const std::string name = e->name;
    if (name == "." || name == "..") continue;
    const std::string child = (path == "/" ? "" : path) + "/" + name;
    Seen s;
    s.type = TypeName(e->type);
    s.size = e->size;
    s.fileid = e->inode;
    EXPECT_TRUE(seen->emplace(child, s).second) << child << " listed twice";
    if (e->type == NF3DIR) subdirs.push_back(child);
  }
  nfs_closedir(nfs, dir);
  for (const std::string& sub : subdirs) Walk(nfs, sub, seen);
}

// Reads a file expected to hold `size` bytes: one READ of size + 1 bytes
// (so a longer file shows), continued if the server returned less. The
// count is kept near the size because the server prepares a reply buffer
// of `count` bytes, which in a Debug build costs ~80 ms per MiB.
bool ReadFile(nfs_context* nfs, const std::string& path, uint64_t size, std::string* content) {
  nfsfh* fh = nullptr;
  if (nfs_open(nfs, path.c_str(), O_RDONLY, &fh) != 0) return false;
  content->clear();
  std::string buffer(size + 1, '\0');
  int rc = 0;
  while (content->size() <= size) {
    rc = nfs_pread(nfs, fh, content->size(), size + 1 - content->size(), buffer.data());
    if (rc <= 0) break;
    content->append(buffer.data(), static_cast<size_t>(rc));
  }
  nfs_close(nfs, fh);
  return rc >= 0;
}

std::vector<std::string> FixtureNames() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(FixturesDir() / "vaults")) {
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class NfsFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NfsFixtureTest, ReadsBackEveryEntry) {
  const std::string name = GetParam();
  std::ifstream in(FixturesDir() / "vaults" / (name + ".json"));
  ASSERT_TRUE(in.good());
  const nlohmann::json manifest = nlohmann::json::parse(in);
  const std::map<std::string, Expected> expected = LoadManifest(manifest);
  ASSERT_FALSE(expected.empty());

  TempDir dir;
  const fs::path vault = CopyFixtureVault(name, dir);
  TestServerOptions options;
  options.read_only = true;  // reading must not need to write
  TestServer server(vault.string(), manifest.at("password").get<std::string>(), options);
  NfsClient client(server);
  ASSERT_TRUE(client.ok()) << client.error();
  nfs_context* nfs = client.get();

  std::map<std::string, Seen> seen;
  seen["/"] = Seen{"dir", 0, 0};
  Walk(nfs, "/", &seen);

  // The same set of paths, with the same types.
  for (const auto& [path, e] : expected) {
    auto it = seen.find(path);
    if (it == seen.end()) {
      ADD_FAILURE() << "missing through NFS: " << path;
      continue;
    }
    EXPECT_EQ(it->second.type, e.type) << path;
    if (e.type != "dir") {
      EXPECT_EQ(it->second.size, e.size) << path;
    }
  }
  for (const auto& [path, s] : seen) {
    EXPECT_TRUE(expected.contains(path)) << "not in the manifest: " << path;
  }

  // fileids: unique over the whole tree.
  std::map<uint64_t, std::string> by_fileid;
  for (const auto& [path, s] : seen) {
    if (path == "/") continue;
    EXPECT_NE(s.fileid, 0U) << path;
    auto [it, inserted] = by_fileid.emplace(s.fileid, path);
    EXPECT_TRUE(inserted) << path << " and " << it->second << " share fileid " << s.fileid;
  }

  // Every file byte for byte (by its SHA-256), every symlink's target.
  size_t files = 0, links = 0;
  for (const auto& [path, e] : expected) {
    if (e.type == "file") {
      std::string content;
      ASSERT_TRUE(ReadFile(nfs, path, e.size, &content)) << path << ": " << client.error();
      EXPECT_EQ(content.size(), e.size) << path;
      EXPECT_EQ(vaultcore::EncodeHex(vaultcore::Sha256(vaultcore::AsBytes(content))), e.sha256)
          << path;
      ++files;
    } else if (e.type == "symlink") {
      std::vector<char> buffer(4096, '\0');
      ASSERT_EQ(nfs_readlink(nfs, path.c_str(), buffer.data(), static_cast<int>(buffer.size())), 0)
          << path << ": " << client.error();
      EXPECT_EQ(std::string(buffer.data()), e.target) << path;
      ++links;
    }
  }
  std::cout << name << ": " << seen.size() << " entries, " << files << " files read, " << links
            << " symlinks read\n";
}

INSTANTIATE_TEST_SUITE_P(Vaults, NfsFixtureTest, ::testing::ValuesIn(FixtureNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string out;
                           for (char c : info.param) out += std::isalnum(c) != 0 ? c : '_';
                           return out;
                         });

// The largest directory of any fixture, listed in pages small enough that
// the listing takes many round trips: every name exactly once, with both
// READDIR and READDIRPLUS.
TEST(NfsFixtureLargeDirectoryTest, EveryNameOnceInSmallPages) {
  std::string fixture, largest;
  std::set<std::string> names;
  for (const std::string& name : FixtureNames()) {
    std::ifstream in(FixturesDir() / "vaults" / (name + ".json"));
    const nlohmann::json manifest = nlohmann::json::parse(in);
    std::map<std::string, std::set<std::string>> children;
    for (const auto& [path, e] : LoadManifest(manifest)) {
      if (path == "/") continue;
      const size_t slash = path.rfind('/');
      children[slash == 0 ? "/" : path.substr(0, slash)].insert(path.substr(slash + 1));
    }
    for (auto& [dir, set] : children) {
      if (set.size() > names.size()) {
        fixture = name;
        largest = dir;
        names = set;
      }
    }
  }
  ASSERT_GE(names.size(), 1000U) << "expected a fixture with a 1,000-entry directory";

  std::ifstream in(FixturesDir() / "vaults" / (fixture + ".json"));
  const nlohmann::json manifest = nlohmann::json::parse(in);
  TempDir dir;
  const fs::path vault = CopyFixtureVault(fixture, dir);
  TestServer server(vault.string(), manifest.at("password").get<std::string>());
  NfsClient client(server);
  ASSERT_TRUE(client.ok()) << client.error();
  RawNfs raw(client.raw());
  const MountResult root = raw.Mnt("/");
  ASSERT_EQ(root.status, MNT3_OK);
  const LookupResult found = raw.LookupPath(root.fh, largest);
  ASSERT_EQ(found.status, NFS3_OK) << largest;
  const Fh& handle = found.fh;

  auto check = [&](const std::vector<DirEntry>& entries, const char* how) {
    SCOPED_TRACE(how);
    std::map<std::string, int> count;
    std::set<uint64_t> cookies;
    for (const DirEntry& e : entries) {
      ++count[e.name];
      EXPECT_TRUE(cookies.insert(e.cookie).second) << "cookie " << e.cookie << " repeats";
    }
    for (const std::string& name : names) {
      EXPECT_EQ(count[name], 1) << name;
    }
    for (const auto& [name, n] : count) {
      if (name != "." && name != "..") {
        EXPECT_TRUE(names.contains(name)) << "extra: " << name;
      }
    }
  };
  const DirListing plain = raw.ListDir(handle, 1024);
  ASSERT_EQ(plain.status, NFS3_OK) << raw.error();
  EXPECT_GT(plain.pages, 10U);
  check(plain.entries, "READDIR count 1024");
  const DirListing plus = raw.ListDirPlus(handle, 512, 4096);
  ASSERT_EQ(plus.status, NFS3_OK) << raw.error();
  EXPECT_GT(plus.pages, 10U);
  check(plus.entries, "READDIRPLUS maxcount 4096");
  for (const DirEntry& e : plus.entries) {
    if (e.name == "." || e.name == "..") continue;
    EXPECT_TRUE(e.attr.has_value()) << e.name;
    EXPECT_FALSE(e.fh.value_or(Fh()).empty()) << e.name;
  }
  std::cout << fixture << ":" << largest << ": " << names.size() << " names, " << plus.pages
            << " READDIRPLUS pages\n";
}

}  // namespace
}  // namespace vaultnfs::testing
