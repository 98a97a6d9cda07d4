// ls, mkdir, rm, mv, ln: commands on names and directories.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <set>

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

constexpr uint32_t kDirectoryMode = 0755;

// "a/b" + "c" -> "a/b/c", for paths relative to the listed directory.
std::string JoinPath(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  std::string out(prefix);
  out += '/';
  out += name;
  return out;
}

bool IsRoot(std::string_view path) { return BaseName(path).empty(); }

std::string ModeString(const Entry& entry) {
  std::string out;
  switch (entry.kind()) {
    case NodeKind::kDirectory:
      out += 'd';
      break;
    case NodeKind::kSymlink:
      out += 'l';
      break;
    case NodeKind::kFile:
      out += '-';
      break;
  }
  const char* const kLetters = "rwxrwxrwx";
  for (int bit = 0; bit < 9; ++bit) {
    out += (entry.attr.mode & (0400u >> bit)) != 0 ? kLetters[bit] : '-';
  }
  return out;
}

std::string TimeString(const timespec& time) {
  tm local{};
  const time_t seconds = time.tv_sec;
  char text[32] = "?";
  if (localtime_r(&seconds, &local) != nullptr) {
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M", &local);
  }
  return text;
}

struct ListOptions {
  bool long_format = false;
  bool recursive = false;
};

// Prints one entry as `shown` (its path relative to the listed directory).
int PrintEntry(const Vault& vault, const Entry& entry, const std::string& shown,
               const ListOptions& options) {
  if (!options.long_format) {
    std::printf("%s\n", shown.c_str());
    return kExitOk;
  }
  std::string line = ModeString(entry);
  char size[32];
  std::snprintf(size, sizeof(size), " %12" PRIu64 " ", entry.attr.size);
  line += size;
  line += TimeString(entry.attr.mtime);
  line += ' ';
  line += shown;
  if (entry.kind() == NodeKind::kSymlink) {
    auto target = vault.ReadLink(entry);
    if (!target.ok()) return Fail(target.status(), "ls: cannot read the symlink " + shown);
    line += " -> " + *target;
  }
  std::printf("%s\n", line.c_str());
  return kExitOk;
}

// Lists `dir` (shown as `prefix`), depth first when recursive. `visited`
// holds the directory ids on the way down: a damaged vault may contain a
// directory that is its own ancestor.
int ListDirectory(const Vault& vault, const DirRef& dir, const std::string& prefix,
                  const ListOptions& options, std::set<std::string>* visited) {
  if (!visited->insert(dir.id).second) {
    return Fail(Status(Errc::kCorrupt, "directory " + prefix + " contains itself"), "ls");
  }
  auto entries = vault.List(dir);
  if (!entries.ok()) return Fail(entries.status(), "ls " + DisplayPath(prefix));
  std::sort(entries->begin(), entries->end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (const Entry& entry : *entries) {
    const std::string shown = JoinPath(prefix, entry.name);
    if (int rc = PrintEntry(vault, entry, shown, options); rc != kExitOk) return rc;
    if (options.recursive && entry.kind() == NodeKind::kDirectory) {
      if (int rc = ListDirectory(vault, entry.AsDir(), shown, options, visited); rc != kExitOk) {
        return rc;
      }
    }
  }
  visited->erase(dir.id);
  return kExitOk;
}

// Removes the directory `entry` of `parent` and everything below it,
// children before their parents. `shown` names it in messages.
int RemoveTree(Vault& vault, const DirRef& parent, const Entry& entry, const std::string& shown,
               std::set<std::string>* visited) {
  if (!visited->insert(entry.dir_id).second) {
    return Fail(Status(Errc::kCorrupt, "directory " + shown + " contains itself"), "rm");
  }
  const DirRef dir = entry.AsDir();
  auto children = vault.List(dir);
  if (!children.ok()) return Fail(children.status(), "rm " + shown);
  for (const Entry& child : *children) {
    const std::string child_shown = JoinPath(shown, child.name);
    if (child.kind() == NodeKind::kDirectory) {
      if (int rc = RemoveTree(vault, dir, child, child_shown, visited); rc != kExitOk) return rc;
    } else if (Status s = vault.Remove(dir, child.name); !s.ok()) {
      return Fail(s, "rm " + child_shown);
    }
  }
  Status s = vault.RemoveDirectory(parent, entry.name);
  if (!s.ok()) return Fail(s, "rm " + shown);
  visited->erase(entry.dir_id);
  return kExitOk;
}

// mkdir -p: each missing component in turn; existing directories are fine.
int MakeParents(Vault& vault, const std::string& path) {
  DirRef dir = vault.Root();
  std::string done;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    const std::string name = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (name.empty() || name == ".") continue;
    done = JoinPath(done, name);
    if (name == "..") {
      auto parent = vault.Parent(dir);
      if (!parent.ok()) return Fail(parent.status(), "mkdir " + DisplayPath(done));
      dir = *parent;
      continue;
    }
    auto entry = vault.Lookup(dir, name);
    if (!entry.ok() && entry.status().code() == Errc::kNotFound) {
      entry = vault.MakeDirectory(dir, name, kDirectoryMode);
      // Someone else may have created it in the meantime.
      if (!entry.ok() && entry.status().code() == Errc::kExists) entry = vault.Lookup(dir, name);
    }
    if (!entry.ok()) return Fail(entry.status(), "mkdir " + DisplayPath(done));
    if (entry->kind() != NodeKind::kDirectory) {
      return Fail(Status(Errc::kNotDirectory, DisplayPath(done) + " exists and is not a directory"),
                  "mkdir");
    }
    dir = entry->AsDir();
  }
  return kExitOk;
}

}  // namespace

int RunLs(const Invocation& invocation) {
  po::options_description own("Options");
  own.add_options()("long,l", po::bool_switch(),
                    "show kind and permissions, size, modification time")(
      "recursive,R", po::bool_switch(), "list the whole tree below PATH");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 1, 2, &args)) return *rc;
  const std::string path = args.positional.size() > 1 ? args.positional[1] : "/";
  const ListOptions options{args.options["long"].as<bool>(), args.options["recursive"].as<bool>()};
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/true, &vault); rc != kExitOk) {
    return rc;
  }
  auto entry = vault->ResolvePath(path);
  if (!entry.ok()) return Fail(entry.status(), "ls " + DisplayPath(path));
  if (entry->kind() != NodeKind::kDirectory) {
    return PrintEntry(*vault, *entry, BaseName(path), options);
  }
  std::set<std::string> visited;
  return ListDirectory(*vault, entry->AsDir(), "", options, &visited);
}

int RunMkdir(const Invocation& invocation) {
  po::options_description own("Options");
  own.add_options()("parents,p", po::bool_switch(),
                    "create missing parents too; an existing directory is not an error");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 2, 2, &args)) return *rc;
  const std::string& path = args.positional[1];
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/false, &vault); rc != kExitOk) {
    return rc;
  }
  if (args.options["parents"].as<bool>()) return MakeParents(*vault, path);
  if (IsRoot(path)) {
    return Fail(Status(Errc::kExists, "the root directory always exists"), "mkdir /");
  }
  auto parent = vault->ResolveParent(path);
  if (!parent.ok()) return Fail(parent.status(), "mkdir " + DisplayPath(path));
  auto made = vault->MakeDirectory(parent->first, parent->second, kDirectoryMode);
  if (!made.ok()) {
    const bool exists = made.status().code() == Errc::kExists;
    return Fail(made.status(), "mkdir " + DisplayPath(path),
                exists ? "use -p to accept an existing directory" : "");
  }
  return kExitOk;
}

int RunRm(const Invocation& invocation) {
  po::options_description own("Options");
  own.add_options()("recursive,r", po::bool_switch(), "remove a directory and everything below it");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 2, 2, &args)) return *rc;
  const std::string& path = args.positional[1];
  const std::string shown = DisplayPath(path);
  if (IsRoot(path)) {
    return Report(kExitFailure, "rm /: refusing to remove the vault's root directory",
                  "remove the entries inside it instead");
  }
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/false, &vault); rc != kExitOk) {
    return rc;
  }
  auto parent = vault->ResolveParent(path);
  if (!parent.ok()) return Fail(parent.status(), "rm " + shown);
  const auto& [dir, name] = *parent;
  auto entry = vault->Lookup(dir, name);
  if (!entry.ok()) return Fail(entry.status(), "rm " + shown);
  if (entry->kind() == NodeKind::kDirectory) {
    if (!args.options["recursive"].as<bool>()) {
      return Fail(Status(Errc::kIsDirectory, shown + " is a directory"), "rm",
                  "use 'vaultnfs rm -r' to remove it and everything below it");
    }
    std::set<std::string> visited;
    return RemoveTree(*vault, dir, *entry, shown, &visited);
  }
  Status s = vault->Remove(dir, entry->name);
  if (!s.ok()) return Fail(s, "rm " + shown);
  return kExitOk;
}

int RunMv(const Invocation& invocation) {
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, po::options_description(), 3, 3, &args)) return *rc;
  const std::string& from = args.positional[1];
  const std::string& to = args.positional[2];
  std::string what = "mv " + DisplayPath(from) + " " + DisplayPath(to);
  if (IsRoot(from)) {
    return Report(kExitFailure, what + ": the root directory cannot be moved",
                  "move the entries inside it instead");
  }
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/false, &vault); rc != kExitOk) {
    return rc;
  }
  auto source_parent = vault->ResolveParent(from);
  if (!source_parent.ok()) return Fail(source_parent.status(), what);
  const DirRef& source_dir = source_parent->first;
  auto source = vault->Lookup(source_dir, source_parent->second);
  if (!source.ok()) return Fail(source.status(), what);

  DirRef target_dir;
  std::string target_name;
  auto target = vault->ResolvePath(to);
  if (target.ok() && target->kind() == NodeKind::kDirectory) {
    target_dir = target->AsDir();  // like mv: into the directory
    target_name = source->name;
    what =
        "mv " + DisplayPath(from) + " " + (IsRoot(to) ? "" : DisplayPath(to)) + "/" + target_name;
  } else if (target.ok() || target.status().code() == Errc::kNotFound) {
    auto target_parent = vault->ResolveParent(to);
    if (!target_parent.ok()) return Fail(target_parent.status(), what);
    target_dir = target_parent->first;
    target_name = target_parent->second;
  } else {
    return Fail(target.status(), what);
  }
  Status s = vault->Rename(source_dir, source->name, target_dir, target_name);
  if (s.code() == Errc::kIsDirectory) {
    return Fail(s, what, "a file cannot replace a directory; choose another target");
  }
  if (!s.ok()) return Fail(s, what);
  return kExitOk;
}

int RunLn(const Invocation& invocation) {
  po::options_description own("Options");
  own.add_options()("symbolic,s", po::bool_switch(), "create a symbolic link (required)");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 3, 3, &args)) return *rc;
  if (!args.options["symbolic"].as<bool>()) {
    return UsageError(invocation.command, "ln needs -s: a vault holds only symbolic links");
  }
  const std::string& target = args.positional[1];
  const std::string& path = args.positional[2];
  if (target.empty()) return UsageError(invocation.command, "the link target is empty");
  std::unique_ptr<Vault> vault;
  if (int rc = OpenVault(args, args.positional[0], /*read_only=*/false, &vault); rc != kExitOk) {
    return rc;
  }
  auto parent = vault->ResolveParent(path);
  if (!parent.ok()) return Fail(parent.status(), "ln -s " + DisplayPath(path));
  auto link = vault->MakeSymlink(parent->first, parent->second, target);
  if (!link.ok()) return Fail(link.status(), "ln -s " + DisplayPath(path));
  return kExitOk;
}

}  // namespace vaultnfs::cli
