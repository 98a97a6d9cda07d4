#include "vaultcore/status.h"

#include <cerrno>
#include <cstring>

namespace vaultcore {

std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kOk:
      return "ok";
    case Errc::kNotFound:
      return "not found";
    case Errc::kExists:
      return "already exists";
    case Errc::kNotDirectory:
      return "not a directory";
    case Errc::kIsDirectory:
      return "is a directory";
    case Errc::kNotEmpty:
      return "directory not empty";
    case Errc::kNameTooLong:
      return "name too long";
    case Errc::kInvalidArgument:
      return "invalid argument";
    case Errc::kPermission:
      return "permission denied";
    case Errc::kReadOnly:
      return "read-only";
    case Errc::kNoSpace:
      return "no space left";
    case Errc::kFileTooBig:
      return "file too big";
    case Errc::kCorrupt:
      return "corrupt or tampered data";
    case Errc::kWrongPassword:
      return "wrong password";
    case Errc::kNotAVault:
      return "not a vault";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kIo:
      return "I/O error";
  }
  return "unknown";
}

Errc ErrcFromErrno(int err) {
  switch (err) {
    case 0:
      return Errc::kOk;
    case ENOENT:
      return Errc::kNotFound;
    case EEXIST:
      return Errc::kExists;
    case ENOTDIR:
      return Errc::kNotDirectory;
    case EISDIR:
      return Errc::kIsDirectory;
    case ENOTEMPTY:
      return Errc::kNotEmpty;
    case ENAMETOOLONG:
      return Errc::kNameTooLong;
    case EINVAL:
      return Errc::kInvalidArgument;
    case EACCES:
    case EPERM:
      return Errc::kPermission;
    case EROFS:
      return Errc::kReadOnly;
    case ENOSPC:
    case EDQUOT:
      return Errc::kNoSpace;
    case EFBIG:
      return Errc::kFileTooBig;
    default:
      return Errc::kIo;
  }
}

Status Status::FromErrno(int err, std::string_view what) {
  std::string message(what);
  message += ": ";
  message +=
      std::strerror(err);  // NOLINT(concurrency-mt-unsafe): glibc's is thread-safe for known codes
  return Status(ErrcFromErrno(err), std::move(message));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_.empty() ? std::string(ErrcName(code_)) : message_;
}

}  // namespace vaultcore
