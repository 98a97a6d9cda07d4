// The `vaultnfs` command line: a table of subcommands, each a handler that
// parses its own arguments, and the conventions every handler follows.
//
// Exit statuses: 0 success, 1 any other failure, 2 usage error (including
// no way to get a password), 3 wrong password or not a (supported) vault,
// 4 a path that does not exist. Every failure prints exactly one line on
// stderr: "vaultnfs: <what happened>; <what to do>".
//
// Handlers return the exit status; helpers that can fail return it too (0
// for success) after reporting, so a handler only forwards a non-zero value.
#pragma once

#include <boost/program_options.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/password.h"
#include "vaultcore/status.h"
#include "vaultcore/vault.h"

namespace vaultnfs::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitVault = 3;     // wrong password, not a vault, unsupported vault
constexpr int kExitNotFound = 4;  // no such path (in the vault or a local file)

struct Command;

// One run of a command: its table entry and the arguments after its name.
struct Invocation {
  const Command* command = nullptr;
  std::vector<std::string> args;
};

using Handler = int (*)(const Invocation& invocation);

struct Command {
  const char* name;
  const char* synopsis;     // what follows the name, e.g. "VAULT [PATH] [-l] [-R]"
  const char* summary;      // one line for `vaultnfs --help`
  const char* description;  // the body of `vaultnfs NAME --help`
  Handler run;
};

// The command table, in the order `vaultnfs --help` lists it.
std::span<const Command> Commands();
const Command* FindCommand(std::string_view name);

// The whole program: dispatches argv[1] through the table.
int Main(int argc, char** argv);

// Arguments of one command after parsing.
struct ParsedArgs {
  boost::program_options::variables_map options;  // the command's own options
  std::vector<std::string> positional;
  std::optional<std::string> password_file;  // --password-file
};

// Parses `invocation.args` against `own` (the command's options; may be
// empty) plus the options every command takes (--password-file, --verbose,
// --help), expecting between `min_positional` and `max_positional`
// positional arguments. Returns nullopt to go on, or the exit status to
// return at once: 0 after printing the help, 2 after a usage error.
std::optional<int> ParseArgs(const Invocation& invocation,
                             const boost::program_options::options_description& own,
                             size_t min_positional, size_t max_positional, ParsedArgs* out);

// Prints the usage of `command` (synopsis, description, options) on stdout.
void PrintCommandHelp(const Command& command,
                      const boost::program_options::options_description& own);

// Reports `status` as "vaultnfs: <what>: <message>; <hint>" and returns its
// exit status. An empty `hint` picks one that fits the error code.
int Fail(const vaultcore::Status& status, std::string_view what, std::string_view hint = {});
// Reports a usage error of `command` (or of the program when null) and
// returns 2.
int UsageError(const Command* command, std::string_view message);
// Reports a failure that has no Status, with its exit status.
int Report(int exit_code, std::string_view what, std::string_view hint);

int ExitCodeFor(vaultcore::Errc code);
std::string_view HintFor(vaultcore::Errc code);

// Reads a password from `source` into *out. Returns 0, or reports the
// failure (naming `option` and the variable as the way out) and returns 2.
int GetPassword(const PasswordSource& source, std::string_view option, Secret* out);

// Gets the password (--password-file, $VAULTNFS_PASSWORD or the terminal)
// and unlocks the vault in `path`. Returns 0 and sets *vault, or reports
// and returns the exit status.
int OpenVault(const ParsedArgs& args, const std::string& path, bool read_only,
              std::unique_ptr<vaultcore::Vault>* vault);

// Reports a vault that does not exist or is not a directory (exit 3);
// returns 0 if `path` is a directory.
int CheckVaultDirectory(const std::string& path);

// "a/b/" -> "b"; the last component of a vault or local path ("" for "/").
std::string BaseName(std::string_view path);
// A vault path as messages show it: always with its leading '/'.
std::string DisplayPath(std::string_view path);

}  // namespace vaultnfs::cli
