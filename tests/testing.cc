#include "tests/testing.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace vaultnfs::testing {

std::filesystem::path SharedDir() {
  std::filesystem::path dir;
  if (const char* env = std::getenv("VAULTNFS_SHARED")) {  // NOLINT(concurrency-mt-unsafe)
    dir = env;
  } else {
    dir = std::filesystem::path(VAULTNFS_SOURCE_DIR).parent_path() / "shared";
  }
  if (!std::filesystem::is_directory(dir / "fixtures")) {
    ADD_FAILURE() << "the shared fixtures are missing: expected " << dir
                  << "/fixtures (set VAULTNFS_SHARED to the shared folder)";
    std::abort();
  }
  return dir;
}

std::filesystem::path FixturesDir() { return SharedDir() / "fixtures"; }

nlohmann::json LoadVectors(const std::string& name) {
  std::ifstream in(FixturesDir() / "vectors" / name);
  EXPECT_TRUE(in.good()) << "cannot read vectors/" << name;
  return nlohmann::json::parse(in);
}

vaultcore::Bytes Hex(const std::string& hex) {
  auto bytes = vaultcore::DecodeHex(hex);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in vector: " << hex;
  return bytes.value_or(vaultcore::Bytes{});
}

vaultcore::Bytes Base64(const std::string& b64) {
  auto bytes = vaultcore::DecodeBase64(b64, vaultcore::Base64Alphabet::kStandard,
                                       vaultcore::Base64Padding::kPadded);
  EXPECT_TRUE(bytes.has_value()) << "bad base64 in vector: " << b64;
  return bytes.value_or(vaultcore::Bytes{});
}

::testing::AssertionResult HasCode(const vaultcore::Status& status, vaultcore::Errc want) {
  if (status.code() == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected \"" << vaultcore::ErrcName(want) << "\", got \""
         << vaultcore::ErrcName(status.code()) << "\": " << status.ToString();
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/vaultnfs-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path CopyFixtureVault(const std::string& name, const TempDir& dir) {
  auto target = dir.path() / name;
  std::filesystem::copy(FixturesDir() / "vaults" / name, target,
                        std::filesystem::copy_options::recursive);
  // Fixture files are read-only in CI; the copy must be writable.
  for (const auto& e : std::filesystem::recursive_directory_iterator(target)) {
    std::filesystem::permissions(e.path(), std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
  }
  std::filesystem::permissions(target, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  return target;
}

}  // namespace vaultnfs::testing

// libnfs 4.0 leaks a small allocation in every nfs_mount (the integration
// tests' client); libnfs has no frame pointers, so the module is what the
// stack shows. Nothing of vaultnfs allocates through libnfs. Every test
// binary links this file, so LeakSanitizer reads the list from here.
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "leak:libnfs.so\n";
}
