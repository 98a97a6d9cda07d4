#include "vaultcore/plain_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace vaultcore {

Result<std::string> ReadPlainFile(const std::string& path, size_t max_size) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  std::string content(max_size + 1, '\0');
  size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return Status::FromErrno(err, "read " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got > max_size)
    return Status(Errc::kCorrupt, path + " is larger than " + std::to_string(max_size) + " bytes");
  content.resize(got);
  return content;
}

Status WritePlainFile(const std::string& path, std::string_view content, bool sync, uint32_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      unlink(path.c_str());
      return Status::FromErrno(err, "write " + path);
    }
    done += static_cast<size_t>(n);
  }
  if (sync && fsync(fd) != 0) {
    const int err = errno;
    close(fd);
    return Status::FromErrno(err, "fsync " + path);
  }
  if (close(fd) != 0) return Status::FromErrno(errno, "close " + path);
  return Status::Ok();
}

Status ReplacePlainFile(const std::string& path, std::string_view content, bool durable) {
  const std::string tmp = path + ".tmp";
  unlink(tmp.c_str());
  Status s = WritePlainFile(tmp, content, durable);
  if (!s.ok()) return s;
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return Status::FromErrno(err, "rename " + tmp);
  }
  if (!durable) return Status::Ok();
  // Without this a crash may bring back the old file (for the masterkey: a
  // password change that silently did not happen).
  const std::string dir = path.substr(0, path.rfind('/'));
  const int dir_fd = open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return Status::Ok();
}

}  // namespace vaultcore
