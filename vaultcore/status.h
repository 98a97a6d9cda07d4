// Errors returned as values. Every fallible vaultcore call returns a Status
// or a Result<T>; nothing in vaultcore throws for an expected failure
// (a missing file, a wrong password, tampered ciphertext).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vaultcore {

// What went wrong, coarse enough for a caller to choose an NFS status or a
// CLI exit code from it. The message says the rest.
enum class Errc {
  kOk = 0,
  kNotFound,         // no such file or directory
  kExists,           // target already exists
  kNotDirectory,     // a path component or operand is not a directory
  kIsDirectory,      // a file operation on a directory
  kNotEmpty,         // rmdir or rename over a non-empty directory
  kNameTooLong,      // a name the vault or the client cannot hold
  kInvalidArgument,  // a malformed name or a request that makes no sense
  kPermission,       // the operating system refused (EACCES / EPERM)
  kReadOnly,         // the vault or the file system is read-only
  kNoSpace,          // disk full or quota exceeded
  kFileTooBig,       // beyond the largest size we serve
  kCorrupt,          // authentication failed or structure broken: never data
  kWrongPassword,    // the masterkey did not unwrap
  kNotAVault,        // missing or malformed vault files
  kUnsupported,      // a vault feature we refuse to guess at
  kIo,               // any other operating-system error
};

std::string_view ErrcName(Errc code);

// Maps an errno value to the closest Errc.
Errc ErrcFromErrno(int err);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // An error for a failed system call: `what` names the call and the path.
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return code_ == Errc::kOk; }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Errc code_ = Errc::kOk;
  std::string message_;
};

// A value or the Status that says why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace vaultcore
