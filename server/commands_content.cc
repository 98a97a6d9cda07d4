// cat, put, get: file content, streamed in fixed-size pieces so that a file
// of any size passes through a bounded buffer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <span>

#include "server/commands.h"

namespace vaultnfs::cli {
namespace po = boost::program_options;

using vaultcore::DirRef;
using vaultcore::Entry;
using vaultcore::Errc;
using vaultcore::NodeKind;
using vaultcore::Status;
using vaultcore::Vault;

namespace {

// 32 whole content chunks: a write never has to read-modify-write an edge.
constexpr size_t kIoSize = size_t{1} << 20;

// Fills `buffer` from `fd` unless the input ends first; returns how many
// bytes it got (fewer only at end of input).
vaultcore::Result<size_t> ReadFull(int fd, const std::string& name, std::span<uint8_t> buffer) {
  size_t got = 0;
  while (got < buffer.size()) {
    const ssize_t n = read(fd, buffer.data() + got, buffer.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "cannot read " + name);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// Permission bits for a new file, as open(2) would give it.
uint32_t NewFileMode(uint32_t requested) {
  const mode_t mask = umask(0);
  umask(mask);
  return requested & ~static_cast<uint32_t>(mask) & 0777;
}

// The local file `put` reads; closes it when done (never stdin).
class LocalInput {
 public:
  LocalInput() = default;
  ~LocalInput() {
    if (fd_ > STDIN_FILENO) close(fd_);
  }
  LocalInput(const LocalInput&) = delete;
  LocalInput& operator=(const LocalInput&) = delete;

  // "-" is standard input. Reports and returns the exit status on failure.
  int Open(const std::string& name) {
    if (name == "-") {
      fd_ = STDIN_FILENO;
      mode_ = NewFileMode(0666);
      return kExitOk;
    }
    fd_ = open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      return Fail(Status::FromErrno(errno, "cannot open " + name), "put",
                  "check the local file's path");
    struct stat st;
    if (fstat(fd_, &st) != 0) return Fail(Status::FromErrno(errno, "cannot stat " + name), "put");
    if (S_ISDIR(st.st_mode)) {
      return Fail(Status(Errc::kIsDirectory, name + " is a directory"), "put",
                  "put copies one file at a time");
    }
    mode_ = NewFileMode(st.st_mode);
    return kExitOk;
  }
  int fd() const { return fd_; }
  uint32_t mode() const { return mode_; }

 private:
  int fd_ = -1;
  uint32_t mode_ = 0644;
};

// Copies `input` (called `input_name`) into the new, empty file `entry`,
// then syncs it.
Status CopyInto(Vault& vault, const vaultcore::Entry& entry, int input,
                const std::string& input_name) {
  auto file = vault.OpenFile(entry);
  if (!file.ok()) return file.status();
  std::vector<uint8_t> buffer(kIoSize);
  uint64_t offset = 0;
  for (;;) {
    auto got = ReadFull(input, input_name, buffer);
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    Status s = (*file)->Write(offset, std::span(buffer).first(*got));
    if (!s.ok()) return s;
    offset += *got;
  }
  return (*file)->Sync();
}

// Copies the vault file `entry` to the new local file `local`, then gives it
// the entry's permissions and times. A copy that fails is removed: a partial
// file must not pass for the whole one.
Status CopyOut(Vault& vault, const Entry& entry, const std::string& local) {
  auto file = vault.OpenFile(entry);
  if (!file.ok()) return file.status();
  const int fd = open(local.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "cannot create " + local);
  std::vector<uint8_t> buffer(kIoSize);
  uint64_t offset = 0;
  Status s;
  while (s.ok()) {
    auto got = (*file)->Read(offset, buffer);
    if (!got.ok()) {
      s = got.status();
      break;
    }
    if (*got == 0) break;
    for (size_t done = 0; done < *got && s.ok();) {
      const ssize_t n = write(fd, buffer.data() + done, *got - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) s = Status::FromErrno(errno, "cannot write " + local);
      done += n > 0 ? static_cast<size_t>(n) : 0;
    }
    offset += *got;
  }
  if (s.ok() && fchmod(fd, entry.attr.mode & 07777) != 0) {
    s = Status::FromErrno(errno, "cannot set the mode of " + local);
  }
  const timespec times[2] = {entry.attr.atime, entry.attr.mtime};
  if (s.ok() && futimens(fd, times) != 0) {
    s = Status::FromErrno(errno, "cannot set the times of " + local);
  }
  if (close(fd) != 0 && s.ok()) s = Status::FromErrno(errno, "cannot write " + local);
  if (!s.ok()) unlink(local.c_str());
  return s;
}

// Copies `entry` (shown as `shown`) to the local path `local`, which must
// not exist: a file, a symlink with its target verbatim, or with
// `recursive` a directory and everything below it. Directories get their
// times last, after their content stopped changing them. `visited` holds
// the directory ids on the way down (a damaged vault may loop).
int GetEntry(Vault& vault, const Entry& entry, const std::string& shown, const std::string& local,
             bool recursive, std::set<std::string>* visited) {
  switch (entry.kind()) {
    case NodeKind::kFile: {
      Status s = CopyOut(vault, entry, local);
      return s.ok() ? kExitOk : Fail(s, "get " + shown);
    }
    case NodeKind::kSymlink: {
      auto target = vault.ReadLink(entry);
      if (!target.ok()) return Fail(target.status(), "get " + shown);
      if (symlink(target->c_str(), local.c_str()) != 0) {
        return Fail(Status::FromErrno(errno, "cannot create " + local), "get " + shown);
      }
      const timespec times[2] = {entry.attr.atime, entry.attr.mtime};
      (void)utimensat(AT_FDCWD, local.c_str(), times, AT_SYMLINK_NOFOLLOW);
      return kExitOk;
    }
    case NodeKind::kDirectory:
      break;
  }
  if (!recursive) {
    return Fail(Status(Errc::kIsDirectory, shown + " is a directory"), "get",
                "use -r to copy a directory and everything below it");
  }
  if (!visited->insert(entry.dir_id).second) {
    return Fail(Status(Errc::kCorrupt, "directory " + shown + " contains itself"), "get");
  }
  if (mkdir(local.c_str(), 0700) != 0) {
    return Fail(Status::FromErrno(errno, "cannot create " + local), "get " + shown);
  }
  auto children = vault.List(entry.AsDir());
  if (!children.ok()) return Fail(children.status(), "get " + shown);
  for (const Entry& child : *children) {
    const std::string child_shown = (shown == "/" ? "" : shown) + "/" + child.name;
    if (int rc = GetEntry(vault, child, child_shown, local + "/" + child.name, recursive, visited);
        rc != kExitOk) {
      return rc;
    }
  }
  visited->erase(entry.dir_id);
  const timespec times[2] = {entry.attr.atime, entry.attr.mtime};
  if (chmod(local.c_str(), entry.attr.mode & 07777) != 0 ||
      utimensat(AT_FDCWD, local.c_str(), times, 0) != 0) {
    return Fail(Status::FromErrno(errno, "cannot set the mode or times of " + local),
                "get " + shown);
  }
  return kExitOk;
}

}  // namespace

int RunCat(const Invocation& invocation) {
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, po::options_description(), 2, 2, &args)) return *rc;
  const std::string shown = DisplayPath(args.positional[1]);
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/true, &vault); rc != kExitOk) {
    return rc;
  }
  auto entry = vault->ResolvePath(args.positional[1]);
  if (!entry.ok()) return Fail(entry.status(), "cat " + shown);
  if (entry->kind() == NodeKind::kDirectory) {
    return Fail(Status(Errc::kIsDirectory, shown + " is a directory"), "cat",
                "give the path of a file ('vaultnfs ls' lists a directory)");
  }
  if (entry->kind() == NodeKind::kSymlink) {
    // Targets are cleartext paths of whoever mounts the vault; following
    // one here would be a guess.
    auto target = vault->ReadLink(*entry);
    if (!target.ok()) return Fail(target.status(), "cat " + shown);
    return Fail(Status(Errc::kInvalidArgument, shown + " is a symbolic link to " + *target), "cat",
                "cat the file it points to instead");
  }
  auto file = vault->OpenFile(*entry);
  if (!file.ok()) return Fail(file.status(), "cat " + shown);
  std::vector<uint8_t> buffer(kIoSize);
  uint64_t offset = 0;
  for (;;) {
    auto got = (*file)->Read(offset, buffer);
    if (!got.ok()) return Fail(got.status(), "cat " + shown);
    if (*got == 0) break;
    if (std::fwrite(buffer.data(), 1, *got, stdout) != *got) {
      return Report(kExitFailure,
                    "cat " + shown + ": cannot write to standard output: " + std::strerror(errno),
                    "check where the output is going");
    }
    offset += *got;
  }
  return kExitOk;
}

int RunPut(const Invocation& invocation) {
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, po::options_description(), 3, 3, &args)) return *rc;
  const std::string& local = args.positional[1];
  const std::string& path = args.positional[2];
  // The local side first: a typo there should not cost a password prompt.
  LocalInput input;
  if (int rc = input.Open(local); rc != kExitOk) return rc;
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/false, &vault); rc != kExitOk) {
    return rc;
  }

  // Where the file goes: PATH, or PATH/<local name> when PATH is a directory.
  std::string shown = DisplayPath(path);
  DirRef dir;
  std::string name;
  auto existing = vault->ResolvePath(path);
  if (existing.ok() && existing->kind() == NodeKind::kDirectory) {
    if (local == "-") {
      return Fail(Status(Errc::kIsDirectory, shown + " is a directory"), "put",
                  "give the name of the new file, e.g. " + (shown == "/" ? "" : shown) + "/NAME");
    }
    dir = existing->AsDir();
    name = BaseName(local);
    shown = (shown == "/" ? "" : shown) + "/" + name;
    existing = vault->Lookup(dir, name);
  } else if (existing.ok() || existing.status().code() == Errc::kNotFound) {
    auto parent = vault->ResolveParent(path);
    if (!parent.ok()) return Fail(parent.status(), "put " + shown);
    dir = parent->first;
    name = parent->second;
  } else {
    return Fail(existing.status(), "put " + shown);
  }
  uint32_t mode = input.mode();
  if (existing.ok()) {
    if (existing->kind() == NodeKind::kDirectory) {
      return Fail(Status(Errc::kIsDirectory, shown + " is a directory"), "put");
    }
    if (existing->kind() == NodeKind::kFile) mode = existing->attr.mode;  // as cp keeps it
  } else if (existing.status().code() != Errc::kNotFound) {
    return Fail(existing.status(), "put " + shown);
  }

  // Written under a temporary name and renamed over PATH when complete, so
  // a failed or interrupted copy never replaces a good file. The copy is
  // owner-writable until it is complete: a read-only mode from the start
  // would keep it from being opened for writing.
  constexpr uint32_t kWritableMode = 0600;
  const std::string temporary = "." + name + ".vaultnfs-put-" + std::to_string(getpid());
  auto created = vault->CreateFile(dir, temporary, kWritableMode, /*exclusive=*/true);
  if (!created.ok() && created.status().code() == Errc::kExists) {
    // Left behind by an earlier put that died (and had our pid).
    Status removed = vault->Remove(dir, temporary);
    created = removed.ok() ? vault->CreateFile(dir, temporary, kWritableMode, /*exclusive=*/true)
                           : vaultcore::Result<vaultcore::Entry>(removed);
  }
  if (!created.ok()) return Fail(created.status(), "put " + shown);
  Status s = CopyInto(*vault, *created, input.fd(), local == "-" ? "standard input" : local);
  if (s.ok()) s = vault->SetMode(*created, mode);
  if (s.ok()) s = vault->Rename(dir, temporary, dir, name);
  if (!s.ok()) {
    (void)vault->Remove(dir, temporary);
    return Fail(s, "put " + local + " " + shown);
  }
  return kExitOk;
}

int RunGet(const Invocation& invocation) {
  po::options_description own("Options");
  own.add_options()("recursive,r", po::bool_switch(), "copy a directory and everything below it");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 3, 3, &args)) return *rc;
  const std::string& path = args.positional[1];
  std::string local = args.positional[2];
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/true, &vault); rc != kExitOk) {
    return rc;
  }
  const std::string shown = DisplayPath(path);
  auto entry = vault->ResolvePath(path);
  if (!entry.ok()) return Fail(entry.status(), "get " + shown);
  struct stat st;
  if (stat(local.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    const std::string name = BaseName(path);
    if (name.empty()) {
      return Fail(Status(Errc::kExists, local + " exists"), "get /",
                  "give a new directory to copy the whole vault into");
    }
    local += "/" + name;
  }
  if (lstat(local.c_str(), &st) == 0) {
    return Fail(Status(Errc::kExists, local + " exists"), "get " + shown,
                "remove it first or give a new name");
  }
  std::set<std::string> visited;
  return GetEntry(*vault, *entry, shown, local, args.options["recursive"].as<bool>(), &visited);
}

}  // namespace vaultnfs::cli
