// Helpers shared by the test suites: where the shared fixtures are, reading
// known-answer vectors, and scratch directories that clean up after
// themselves.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "vaultcore/codec.h"
#include "vaultcore/status.h"

namespace vaultnfs::testing {

// `../shared` next to the repository (or $VAULTNFS_SHARED). Fails the
// current test loudly if it is missing: the fixtures are not optional.
std::filesystem::path SharedDir();
std::filesystem::path FixturesDir();

// Parses shared/fixtures/vectors/<name>.
nlohmann::json LoadVectors(const std::string& name);

// A string member of a vector.
inline std::string Str(const nlohmann::json& v, const char* key) {
  return v.at(key).get<std::string>();
}

// Asserts an error code; on failure names the code we got and its message.
::testing::AssertionResult HasCode(const vaultcore::Status& status, vaultcore::Errc want);
template <typename T>
::testing::AssertionResult HasCode(const vaultcore::Result<T>& result, vaultcore::Errc want) {
  return HasCode(result.status(), want);
}
template <typename T>
::testing::AssertionResult IsOk(const T& status_or_result) {
  return HasCode(status_or_result, vaultcore::Errc::kOk);
}

// Hex or base64 fields of a vector as bytes.
vaultcore::Bytes Hex(const std::string& hex);
vaultcore::Bytes Base64(const std::string& b64);

// A fresh directory under $TMPDIR, removed with everything in it when the
// object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Copies a fixture vault into `dir` so a test may modify it (shared/ is
// read-only in CI); returns the copy's path.
std::filesystem::path CopyFixtureVault(const std::string& name, const TempDir& dir);

}  // namespace vaultnfs::testing
