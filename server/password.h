// Password input for the command line. A password never comes from an
// argument (it would show in `ps` and shell history): it is read from a
// file, an environment variable, or the terminal without echo, in that
// order of preference.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "vaultcore/status.h"

namespace vaultnfs::cli {

// A password in memory, wiped when it dies. Its buffer is reserved once so
// that appending never leaves a stale copy behind on the heap.
class Secret {
 public:
  static constexpr size_t kMaxSize = 4096;

  Secret();
  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  std::string_view view() const { return value_; }
  bool empty() const { return value_.empty(); }
  // False (and nothing appended) once the password would exceed kMaxSize.
  bool Append(char c);
  void PopBack();
  void Clear();

 private:
  std::string value_;
};

// Where one password may come from.
struct PasswordSource {
  std::optional<std::string> file;  // first line, trailing "\n" / "\r\n" stripped
  const char* env_name = nullptr;   // used when set (even to "")
  const char* prompt = nullptr;     // shown on /dev/tty, e.g. "Password: "
  bool confirm = false;             // interactive only: ask twice, must match
};

// Reads a password from the first available source into *out. Errors:
// Errc::kInvalidArgument when there is no source at all (no file, no
// variable, no terminal) or the two entries differ; the file's own error
// when it cannot be read; Errc::kIo for a terminal failure. Messages say
// what happened; callers add what to do.
vaultcore::Status ReadPassword(const PasswordSource& source, Secret* out);

// Whether ReadPassword would ask on the terminal (no file, no variable).
bool WillPrompt(const PasswordSource& source);

}  // namespace vaultnfs::cli
