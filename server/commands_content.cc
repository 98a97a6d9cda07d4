// cat, put: file content, streamed in fixed-size pieces so that a file of
// any size passes through a bounded buffer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>

#include "server/commands.h"

namespace vaultnfs::cli {
namespace po = boost::program_options;

using vaultcore::DirRef;
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

}  // namespace vaultnfs::cli
