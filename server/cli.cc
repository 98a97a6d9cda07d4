#include "server/cli.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>

#include "server/commands.h"
#include "vaultcore/log.h"

namespace vaultnfs::cli {
namespace po = boost::program_options;

using vaultcore::Errc;
using vaultcore::Status;

namespace {

constexpr const char* kPasswordHelp =
    "Password: --password-file FILE (its first line), else $VAULTNFS_PASSWORD, else a prompt\n"
    "on the terminal. It is never taken from an argument.\n";

constexpr const char* kExitHelp =
    "Exit status: 0 success, 1 failure, 2 usage error, 3 wrong password or not a vault,\n"
    "4 path not found.\n";

// Guessing abbreviated long options would make a typo silently mean
// something else.
constexpr int kParseStyle =
    po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

const std::array kCommands = {
    Command{"serve", "VAULT [--listen ADDR:PORT] [--read-only] [--insecure] [--register]",
            "serve the vault over NFSv3",
            "Unlocks VAULT and serves it as an NFSv3 file system (NFS and MOUNT on one\n"
            "port) until SIGINT or SIGTERM, then writes out every buffered write before\n"
            "exiting. It listens on 127.0.0.1 only unless --listen names another address\n"
            "together with --allow, and accepts only clients on reserved source ports\n"
            "(the kernel client's) unless --insecure. On start it prints the mount\n"
            "commands for Linux, macOS and Docker. SIGUSR1 logs the calls answered so\n"
            "far by procedure (how many, how many failed, the mean handler time); the\n"
            "same report ends the log when it stops.",
            RunServe},
    Command{"init", "VAULT [--shortening-threshold N] [--cipher-combo SIV_GCM|SIV_CTRMAC]",
            "create a new, empty vault",
            "Creates a new, empty vault in the directory VAULT, which must not exist or be\n"
            "empty. The password is asked twice when it comes from the terminal.",
            RunInit},
    Command{"ls", "VAULT [PATH] [-l] [-R]", "list a directory",
            "Lists the directory PATH of the vault (default: the root), one name per line,\n"
            "sorted. With -l each line shows the kind (d directory, - file, l symlink) and\n"
            "permissions, the size, the modification time and the name (and \"-> target\"\n"
            "for a symlink). With -R the whole tree below PATH is listed, depth first, each\n"
            "entry as a path relative to PATH. A PATH naming a file lists just that file.",
            RunLs},
    Command{"cat", "VAULT PATH", "write a file's content to stdout",
            "Decrypts the file PATH and writes its content to standard output.", RunCat},
    Command{"put", "VAULT LOCAL_FILE PATH", "copy a local file into the vault",
            "Copies LOCAL_FILE (\"-\" for standard input) to PATH in the vault, creating it\n"
            "or replacing an existing file. If PATH is a directory the file keeps its local\n"
            "name inside it. The content is written under a temporary name and renamed into\n"
            "place once complete, so PATH never holds a partial copy (an interrupted put\n"
            "may leave a hidden .NAME.vaultnfs-put-PID file behind). A new file gets the\n"
            "local file's permissions; a replaced one keeps its own.",
            RunPut},
    Command{"get", "VAULT PATH LOCAL [-r]", "copy a file or tree out of the vault",
            "Copies PATH out of the vault to the local path LOCAL, decrypted, with its\n"
            "permissions and times (symlinks as symlinks, targets verbatim). A directory\n"
            "needs -r, which copies everything below it. If LOCAL is an existing directory\n"
            "the copy keeps its vault name inside it; anything else at LOCAL is an error,\n"
            "never overwritten. A file that cannot be read whole (for example a tampered\n"
            "chunk) is reported and its partial copy removed.",
            RunGet},
    Command{"mkdir", "VAULT PATH [-p]", "create a directory",
            "Creates the directory PATH. With -p missing parents are created too and an\n"
            "existing directory is not an error.",
            RunMkdir},
    Command{"rm", "VAULT PATH [-r]", "remove a file, symlink or directory",
            "Removes the file or symlink PATH. A directory needs -r, which removes it and\n"
            "everything below it (depth first).",
            RunRm},
    Command{"mv", "VAULT FROM TO", "rename or move",
            "Renames FROM to TO. If TO is an existing directory, FROM is moved into it under\n"
            "its own name. An existing file TO is replaced; an existing directory TO must be\n"
            "empty.",
            RunMv},
    Command{"ln", "-s VAULT TARGET PATH", "create a symbolic link",
            "Creates the symbolic link PATH pointing to TARGET (stored verbatim; it need not\n"
            "exist). Only symbolic links exist in a vault, so -s is required.",
            RunLn},
    Command{"passwd", "VAULT [--new-password-file FILE]", "change the vault's password",
            "Changes the password of the vault. The old password comes from the usual\n"
            "sources; the new one from --new-password-file FILE, else $VAULTNFS_NEW_PASSWORD,\n"
            "else the terminal (asked twice). As Cryptomator does, the previous key file is\n"
            "kept as masterkey.cryptomator.<hash>.bkup: it still opens with the OLD password,\n"
            "so delete it if that password may be known to someone else.",
            RunPasswd},
    Command{"info", "VAULT", "show the vault's format and settings",
            "Shows the vault format, cipher combo, name shortening threshold and vault id.\n"
            "Keys are never shown.",
            RunInfo},
};

po::options_description CommonOptions() {
  po::options_description common("Common options");
  common.add_options()("password-file", po::value<std::string>()->value_name("FILE"),
                       "read the password from the first line of FILE")(
      "verbose,v", po::bool_switch(), "log what the vault layer does")("help,h", po::bool_switch(),
                                                                       "show this help");
  return common;
}

// Keeps a report on its single line even if a message carries a newline.
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

void PrintProgramHelp(FILE* out) {
  std::fprintf(out,
               "usage: vaultnfs COMMAND VAULT [ARGUMENTS] [OPTIONS]\n\n"
               "Works on a Cryptomator vault (format 8) without mounting it. VAULT is the\n"
               "vault's directory; paths inside it are '/'-separated, with or without a\n"
               "leading '/'.\n\nCommands:\n");
  for (const Command& command : kCommands) {
    std::fprintf(out, "  %-7s %s\n", command.name, command.summary);
  }
  std::fprintf(out,
               "\nRun 'vaultnfs COMMAND --help' for a command's arguments and options.\n\n%s%s",
               kPasswordHelp, kExitHelp);
}

// The shared object that provides malloc to this process: proof that the
// allocator we link is the one in use.
std::string AllocatorLibrary() {
  void* malloc_address = dlsym(RTLD_DEFAULT, "malloc");
  Dl_info info{};
  if (malloc_address == nullptr || dladdr(malloc_address, &info) == 0 ||
      info.dli_fname == nullptr) {
    return "unknown";
  }
  return info.dli_fname;
}

int RunCommand(const Command& command, std::vector<std::string> args) {
  const Invocation invocation{&command, std::move(args)};
  try {
    return command.run(invocation);
  } catch (const std::exception& e) {
    // Only library code we do not control throws (Boost, allocation).
    return Report(kExitFailure, std::string("internal error: ") + e.what(),
                  "please report this as a bug");
  }
}

}  // namespace

std::span<const Command> Commands() { return kCommands; }

const Command* FindCommand(std::string_view name) {
  for (const Command& command : kCommands) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  if (args.empty()) return UsageError(nullptr, "no command given");
  const std::string name = args.front();
  args.erase(args.begin());

  int status;
  if (name == "--help" || name == "-h" || (name == "help" && args.empty())) {
    PrintProgramHelp(stdout);
    status = kExitOk;
  } else if (name == "--version") {
    // The libcrypto loaded at run time, not the headers built against: its
    // version decides how fast AES-GCM runs (bench/RESULTS.md, step 30).
    std::printf("vaultnfs (Cryptomator vault format 8)\nmalloc: %s\ncrypto: %s\n",
                AllocatorLibrary().c_str(), OpenSSL_version(OPENSSL_VERSION));
    status = kExitOk;
  } else if (name == "help") {
    const Command* command = FindCommand(args.front());
    if (command == nullptr) return UsageError(nullptr, "unknown command '" + args.front() + "'");
    status = RunCommand(*command, {"--help"});
  } else if (const Command* command = FindCommand(name)) {
    status = RunCommand(*command, std::move(args));
  } else {
    return UsageError(nullptr, "unknown command '" + name + "'");
  }
  // Output that never reached its file (a full disk, a closed pipe) is a
  // failure even if the command itself succeeded.
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    if (status == kExitOk) {
      status = Report(kExitFailure,
                      std::string("cannot write to standard output: ") + std::strerror(errno),
                      "check where the output is going");
    }
  }
  return status;
}

void PrintCommandHelp(const Command& command, const po::options_description& own) {
  std::printf("usage: vaultnfs %s %s\n\n%s\n\n", command.name, command.synopsis,
              command.description);
  std::ostringstream options;
  if (!own.options().empty()) options << own << "\n";
  options << CommonOptions() << "\n";
  std::printf("%s%s%s", options.str().c_str(), kPasswordHelp, kExitHelp);
}

std::optional<int> ParseArgs(const Invocation& invocation, const po::options_description& own,
                             size_t min_positional, size_t max_positional, ParsedArgs* out) {
  const Command& command = *invocation.command;
  po::options_description hidden;
  hidden.add_options()("positional", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(own).add(CommonOptions()).add(hidden);
  po::positional_options_description positional;
  positional.add("positional", -1);
  try {
    po::store(po::command_line_parser(invocation.args)
                  .options(all)
                  .positional(positional)
                  .style(kParseStyle)
                  .run(),
              out->options);
    po::notify(out->options);
  } catch (const po::error& e) {
    return UsageError(&command, e.what());
  }
  const po::variables_map& vm = out->options;
  if (vm["help"].as<bool>()) {
    PrintCommandHelp(command, own);
    return kExitOk;
  }
  if (vm.count("positional") != 0)
    out->positional = vm["positional"].as<std::vector<std::string>>();
  if (out->positional.size() < min_positional) {
    return UsageError(&command,
                      "missing arguments (expected " + std::string(command.synopsis) + ")");
  }
  if (out->positional.size() > max_positional) {
    return UsageError(&command, "unexpected argument '" + out->positional[max_positional] + "'");
  }
  if (vm.count("password-file") != 0) out->password_file = vm["password-file"].as<std::string>();
  if (vm["verbose"].as<bool>()) vaultcore::SetLogLevel(vaultcore::LogLevel::kDebug);
  return std::nullopt;
}

int ExitCodeFor(Errc code) {
  switch (code) {
    case Errc::kOk:
      return kExitOk;
    case Errc::kWrongPassword:
    case Errc::kNotAVault:
    case Errc::kUnsupported:
      return kExitVault;
    case Errc::kNotFound:
      return kExitNotFound;
    default:
      return kExitFailure;
  }
}

std::string_view HintFor(Errc code) {
  switch (code) {
    case Errc::kOk:
      return "";
    case Errc::kNotFound:
      return "check the path ('vaultnfs ls VAULT DIR' lists a directory)";
    case Errc::kExists:
      return "choose another name or remove the existing one first";
    case Errc::kNotDirectory:
      return "check the path: one of its components is not a directory";
    case Errc::kIsDirectory:
      return "give the path of a file";
    case Errc::kNotEmpty:
      return "remove its contents first (or use 'vaultnfs rm -r')";
    case Errc::kNameTooLong:
      return "choose a shorter name";
    case Errc::kInvalidArgument:
      return "check the arguments (see --help)";
    case Errc::kPermission:
      return "check the permissions of the vault's files";
    case Errc::kReadOnly:
      return "make the vault's files writable";
    case Errc::kNoSpace:
      return "free some disk space and try again";
    case Errc::kFileTooBig:
      return "the file is too large for the vault's file system";
    case Errc::kCorrupt:
      return "the vault is damaged or was tampered with; restore the affected file from a backup";
    case Errc::kWrongPassword:
      return "check the password (or --password-file)";
    case Errc::kNotAVault:
      return "give the directory that holds vault.cryptomator and masterkey.cryptomator";
    case Errc::kUnsupported:
      return "open this vault with Cryptomator instead";
    case Errc::kIo:
      return "check the disk and try again";
  }
  return "";
}

int Report(int exit_code, std::string_view what, std::string_view hint) {
  std::string line = "vaultnfs: " + OneLine(what);
  if (!hint.empty()) line += "; " + OneLine(hint);
  std::fflush(stdout);  // keep stdout and stderr in order on a terminal
  std::fprintf(stderr, "%s\n", line.c_str());
  return exit_code;
}

int Fail(const Status& status, std::string_view what, std::string_view hint) {
  std::string message(what);
  if (!message.empty()) message += ": ";
  message += status.ToString();
  return Report(ExitCodeFor(status.code()), message, hint.empty() ? HintFor(status.code()) : hint);
}

int UsageError(const Command* command, std::string_view message) {
  const std::string hint = command == nullptr
                               ? std::string("run 'vaultnfs --help' for the list of commands")
                               : "see 'vaultnfs " + std::string(command->name) + " --help'";
  return Report(kExitUsage, message, hint);
}

int GetPassword(const PasswordSource& source, std::string_view option, Secret* out) {
  Status status = ReadPassword(source, out);
  if (status.ok()) return kExitOk;
  std::string hint;
  if (source.file) {
    hint = "check the file given to " + std::string(option);
  } else {
    hint = "pass " + std::string(option) + " FILE or set " + source.env_name;
  }
  return Report(kExitUsage, status.ToString(), hint);
}

int CheckVaultDirectory(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) {
      return Fail(Status::FromErrno(errno, "cannot open the vault " + path), "");
    }
    return Fail(Status(Errc::kNotAVault, path + " does not exist"), "",
                "give the directory that holds vault.cryptomator (or create one with "
                "'vaultnfs init')");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Fail(Status(Errc::kNotAVault, path + " is not a directory"), "");
  }
  return kExitOk;
}

int OpenVault(const ParsedArgs& args, const std::string& path, bool read_only,
              std::unique_ptr<vaultcore::Vault>* vault) {
  if (int rc = CheckVaultDirectory(path); rc != kExitOk) return rc;
  Secret password;
  const std::string prompt = "Password for " + path + ": ";
  PasswordSource source{args.password_file, "VAULTNFS_PASSWORD", prompt.c_str(), false};
  if (int rc = GetPassword(source, "--password-file", &password); rc != kExitOk) return rc;
  vaultcore::OpenOptions options;
  options.read_only = read_only;
  auto opened = vaultcore::Vault::Open(path, password.view(), options);
  if (!opened.ok()) return Fail(opened.status(), "cannot unlock " + path);
  *vault = std::move(opened).value();
  return kExitOk;
}

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  if (path == "/") return "";
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string DisplayPath(std::string_view path) {
  if (path.starts_with('/')) return std::string(path);
  return "/" + std::string(path);
}

}  // namespace vaultnfs::cli
