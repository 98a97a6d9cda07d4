// End-to-end tests of the `vaultnfs` command line: each test runs the real
// binary (VAULTNFS_BINARY) in a child process and checks its exit status,
// standard output and the single error line on standard error.
//
// Every command that opens a vault runs scrypt (~0.15 s), so the tests
// group several checks per vault rather than making one vault per check.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/crypto.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace {

namespace fs = std::filesystem;
using vaultnfs::testing::CopyFixtureVault;
using vaultnfs::testing::FixturesDir;
using vaultnfs::testing::TempDir;

constexpr char kPassword[] = "correct horse battery";
constexpr char kFixture[] = "cryptomator-desktop-2024";

struct RunResult {
  int exit_code = -1;  // -N when killed by signal N
  std::string out;
  std::string err;
};

struct RunOptions {
  std::optional<std::string> password = kPassword;  // VAULTNFS_PASSWORD
  std::optional<std::string> new_password;          // VAULTNFS_NEW_PASSWORD
  std::string input;                                // standard input
};

RunOptions NoPassword() {
  RunOptions options;
  options.password.reset();
  return options;
}

RunOptions WithPassword(const std::string& password) {
  RunOptions options;
  options.password = password;
  return options;
}

RunOptions WithPasswords(const std::string& password, const std::string& new_password) {
  RunOptions options;
  options.password = password;
  options.new_password = new_password;
  return options;
}

RunOptions WithInput(const std::string& input) {
  RunOptions options;
  options.input = input;
  return options;
}

// A conversation with a password prompt: when `expect` has appeared on the
// terminal (after the previous step's), `send` is typed.
struct TerminalStep {
  std::string expect;
  std::string send;
};

std::vector<std::string> ChildEnvironment(const RunOptions& options) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.starts_with("VAULTNFS_PASSWORD=") || entry.starts_with("VAULTNFS_NEW_PASSWORD=")) {
      continue;
    }
    env.emplace_back(entry);
  }
  if (options.password) env.push_back("VAULTNFS_PASSWORD=" + *options.password);
  if (options.new_password) env.push_back("VAULTNFS_NEW_PASSWORD=" + *options.new_password);
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs vaultnfs with `args` in a new session (so it has no controlling
// terminal unless `terminal` is given: then a fresh pseudo-terminal becomes
// its /dev/tty, driven by `steps`, and *transcript receives what it showed).
RunResult RunVaultnfs(std::vector<std::string> args, const RunOptions& options,
                      const std::vector<TerminalStep>* steps = nullptr,
                      std::string* transcript = nullptr) {
  RunResult result;
  signal(SIGPIPE, SIG_IGN);  // the child may exit before reading its input
  args.insert(args.begin(), VAULTNFS_BINARY);
  std::vector<std::string> env = ChildEnvironment(options);
  std::vector<char*> argv = Pointers(args);
  std::vector<char*> envp = Pointers(env);

  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return result;
  }
  int master = -1, slave = -1;
  std::string slave_path;
  if (steps != nullptr) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
      ADD_FAILURE() << "no pseudo-terminal";
      return result;
    }
    slave_path = ptsname(master);  // NOLINT(concurrency-mt-unsafe): one thread
    // Held open here so the master never sees a hang-up between runs.
    slave = open(slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  if (steps != nullptr) {
    // Opened without O_NOCTTY by a session leader: its controlling terminal.
    posix_spawn_file_actions_addopen(&actions, 3, slave_path.c_str(), O_RDWR, 0);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot run " << VAULTNFS_BINARY << ": " << std::strerror(spawned);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    return result;
  }

  // Feed stdin, drain stdout and stderr (and answer the terminal) until the
  // child closes both outputs.
  std::string_view pending = options.input;
  int in_fd = in[1];
  if (pending.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  std::string terminal;
  size_t step = 0, matched_up_to = 0;
  bool out_open = true, err_open = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (out_open || err_open) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "vaultnfs did not finish: " << testing::PrintToString(args);
      kill(pid, SIGKILL);
      break;
    }
    std::vector<pollfd> fds;
    if (out_open) fds.push_back({out[0], POLLIN, 0});
    if (err_open) fds.push_back({err[0], POLLIN, 0});
    if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
    if (master >= 0) fds.push_back({master, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 1000) < 0) continue;
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      char buffer[65536];
      if (p.fd == in_fd) {
        const ssize_t n = write(in_fd, pending.data(), std::min(pending.size(), size_t{65536}));
        if (n > 0) pending.remove_prefix(static_cast<size_t>(n));
        if (n < 0 || pending.empty()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      const ssize_t n = read(p.fd, buffer, sizeof(buffer));
      if (p.fd == master) {
        if (n > 0) terminal.append(buffer, static_cast<size_t>(n));
        while (step < steps->size()) {
          const size_t at = terminal.find((*steps)[step].expect, matched_up_to);
          if (at == std::string::npos) break;
          matched_up_to = at + (*steps)[step].expect.size();
          const std::string& send = (*steps)[step].send;
          EXPECT_EQ(write(master, send.data(), send.size()), static_cast<ssize_t>(send.size()));
          ++step;
        }
        continue;
      }
      std::string& sink = p.fd == out[0] ? result.out : result.err;
      if (n > 0) {
        sink.append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        (p.fd == out[0] ? out_open : err_open) = false;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (master >= 0) {
    // Whatever the terminal still holds (the last newline after a prompt).
    fcntl(master, F_SETFL, O_NONBLOCK);
    char buffer[4096];
    ssize_t n;
    while ((n = read(master, buffer, sizeof(buffer))) > 0) terminal.append(buffer, n);
    close(master);
    close(slave);
    if (steps != nullptr) {
      EXPECT_EQ(step, steps->size()) << "prompts not all seen; terminal showed: " << terminal;
    }
    if (transcript != nullptr) *transcript = terminal;
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

RunResult Vaultnfs(std::vector<std::string> args, const RunOptions& options = {}) {
  return RunVaultnfs(std::move(args), options);
}

std::string Describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// A failure: `exit_code` and exactly one line "vaultnfs: <what>; <hint>"
// on stderr that contains `needle`.
void ExpectFailure(const RunResult& r, int exit_code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, exit_code) << Describe(r);
  EXPECT_TRUE(r.err.starts_with("vaultnfs: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.ends_with("\n")) << r.err;
  EXPECT_NE(r.err.find("; "), std::string::npos) << "no hint in: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected \"" << needle << "\" in " << r.err;
}

void ExpectSuccess(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "") << Describe(r);
}

void WriteFile(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

std::string Sha256Hex(std::string_view data) {
  return vaultcore::EncodeHex(vaultcore::Sha256(vaultcore::AsBytes(data)));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

nlohmann::json FixtureManifest() {
  std::ifstream in(FixturesDir() / "vaults" / (std::string(kFixture) + ".json"));
  return nlohmann::json::parse(in);
}

// A scratch directory and a vault path inside it (not created yet).
class CliTest : public ::testing::Test {
 protected:
  void CreateVault() {
    const RunResult r = Vaultnfs({"init", vault_});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  fs::path Local(const std::string& name) const { return tmp_.path() / name; }
  // Copies `content` into the vault at `path` through a local file.
  void Put(const std::string& path, std::string_view content) {
    const fs::path local = Local("put.tmp");
    WriteFile(local, content);
    ExpectSuccess(Vaultnfs({"put", vault_, local.string(), path}));
  }

  TempDir tmp_;
  const std::string vault_ = tmp_.str() + "/vault";
};

TEST(CliHelp, EveryCommandHasHelp) {
  const RunResult top = Vaultnfs({"--help"}, NoPassword());
  ExpectSuccess(top);
  const std::vector<std::string> commands = {"init", "ls", "cat", "put",    "mkdir",
                                             "rm",   "mv", "ln",  "passwd", "info"};
  for (const std::string& command : commands) {
    EXPECT_NE(top.out.find("  " + command + " "), std::string::npos) << command << top.out;
    const RunResult help = Vaultnfs({command, "--help"}, NoPassword());
    ExpectSuccess(help);
    EXPECT_TRUE(help.out.starts_with("usage: vaultnfs " + command + " ")) << help.out;
    EXPECT_NE(help.out.find("--password-file"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("Exit status"), std::string::npos) << help.out;
  }
  ExpectSuccess(Vaultnfs({"-h"}, NoPassword()));
  const RunResult help_ls = Vaultnfs({"help", "ls"}, NoPassword());
  ExpectSuccess(help_ls);
  EXPECT_NE(help_ls.out.find("--recursive"), std::string::npos) << help_ls.out;
  // --help wins over everything else on the line, even a missing vault.
  ExpectSuccess(Vaultnfs({"rm", "--help", "/nonexistent", "x"}, NoPassword()));
}

TEST(CliUsage, BadUsageExitsWithTwo) {
  TempDir tmp;
  const std::string vault = tmp.str() + "/vault";
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"help", "frobnicate"},
      {"ls"},
      {"ls", vault, "/", "extra"},
      {"ls", vault, "--bogus"},
      {"ls", vault, "--pass", "x"},  // no guessing of abbreviated options
      {"cat", vault},
      {"put", vault, "local"},
      {"mv", vault, "/a"},
      {"ln", vault, "target", "/link"},
      {"ln", "-s", vault, "", "/link"},
      {"init", vault, "--shortening-threshold", "35"},
      {"init", vault, "--shortening-threshold", "221"},
      {"init", vault, "--shortening-threshold", "many"},
      {"init", vault, "--cipher-combo", "AES_XTS"},
      {"passwd"},
      {"serve"},
      {"serve", vault, "--listen", "nonsense"},
      {"serve", vault, "--listen", "127.0.0.1:99999"},
      {"serve", vault, "--allow", "10.0.0.0/99"},
      {"serve", vault, "--log-level", "loud"},
      // Beyond loopback only with the clients named.
      {"serve", vault, "--listen", "0.0.0.0:0"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(testing::PrintToString(args));
    ExpectFailure(Vaultnfs(args), 2, "vaultnfs");
  }
  EXPECT_FALSE(fs::exists(vault)) << "a usage error must not create anything";
}

TEST(CliPassword, NoPasswordSourceIsAUsageError) {
  TempDir tmp;
  // The child runs in its own session: no environment variable, no file
  // and no terminal to prompt on.
  for (const char* command : {"ls", "info"}) {
    const RunResult r = Vaultnfs({command, tmp.str()}, NoPassword());
    ExpectFailure(r, 2, "--password-file");
    EXPECT_NE(r.err.find("VAULTNFS_PASSWORD"), std::string::npos) << r.err;
  }
  const std::string vault = tmp.str() + "/new";
  ExpectFailure(Vaultnfs({"init", vault}, NoPassword()), 2, "VAULTNFS_PASSWORD");
  EXPECT_FALSE(fs::exists(fs::path(vault) / "masterkey.cryptomator"));
  ExpectFailure(Vaultnfs({"init", vault}, WithPassword("")), 2, "empty");
}

TEST_F(CliTest, InitCreatesAVaultThatInfoDescribes) {
  const RunResult init = Vaultnfs({"init", vault_});
  ExpectSuccess(init);
  EXPECT_NE(init.out.find("created a vault in " + vault_), std::string::npos) << init.out;
  EXPECT_TRUE(fs::exists(fs::path(vault_) / "masterkey.cryptomator"));
  EXPECT_TRUE(fs::exists(fs::path(vault_) / "vault.cryptomator"));
  EXPECT_TRUE(fs::is_directory(fs::path(vault_) / "d"));

  const RunResult info = Vaultnfs({"info", vault_});
  ExpectSuccess(info);
  const std::vector<std::string> lines = Lines(info.out);
  ASSERT_EQ(lines.size(), 5u) << info.out;
  EXPECT_EQ(lines[0], "vault:                " + vault_);
  EXPECT_EQ(lines[1], "format:               8");
  EXPECT_EQ(lines[2], "cipher combo:         SIV_GCM");
  EXPECT_EQ(lines[3], "shortening threshold: 220");
  EXPECT_TRUE(std::regex_match(
      lines[4], std::regex("vault id: +[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                           "[0-9a-f]{12}")))
      << lines[4];
  // Nothing of the key file appears (wrapped keys, salt, MACs).
  const auto masterkey =
      nlohmann::json::parse(ReadFile(fs::path(vault_) / "masterkey.cryptomator"));
  for (const auto& [field, value] : masterkey.items()) {
    if (value.is_string()) {
      EXPECT_EQ(info.out.find(value.get<std::string>()), std::string::npos) << field;
    }
  }

  // A vault never goes into a non-empty directory, checked before prompting.
  ExpectFailure(Vaultnfs({"init", vault_}, NoPassword()), 1, "not empty");
  WriteFile(Local("plain-file"), "x");
  ExpectFailure(Vaultnfs({"init", Local("plain-file").string()}), 1, "not a directory");
}

TEST_F(CliTest, InitHonoursThresholdAndCipherCombo) {
  WriteFile(Local("password"), std::string(kPassword) + "\n");
  const std::string password_file = Local("password").string();
  ExpectSuccess(Vaultnfs({"init", vault_, "--shortening-threshold", "64", "--cipher-combo",
                          "SIV_CTRMAC", "--password-file", password_file},
                         NoPassword()));
  const RunResult info = Vaultnfs({"info", vault_, "--password-file", password_file}, NoPassword());
  ExpectSuccess(info);
  EXPECT_NE(info.out.find("cipher combo:         SIV_CTRMAC\n"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("shortening threshold: 64\n"), std::string::npos) << info.out;

  // A name whose ciphertext exceeds 64 characters is stored shortened.
  const std::string long_name = std::string(60, 'n') + ".txt";
  const std::string content = RandomBytes(40000, 7);
  Put("/" + long_name, content);
  EXPECT_EQ(Vaultnfs({"cat", vault_, long_name}).out, content);
  ExpectSuccess(Vaultnfs({"ls", vault_}));
  EXPECT_EQ(Vaultnfs({"ls", vault_}).out, long_name + "\n");
  bool shortened = false;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(vault_) / "d")) {
    shortened |= e.path().extension() == ".c9s";
  }
  EXPECT_TRUE(shortened);
}

TEST_F(CliTest, PutAndCatRoundTrip) {
  CreateVault();
  // Several 32 KiB chunks and a partial last one.
  const std::string multi_chunk = RandomBytes(100 * 1024 + 13, 1);
  Put("/multi.bin", multi_chunk);
  RunResult cat = Vaultnfs({"cat", vault_, "multi.bin"});
  ExpectSuccess(cat);
  EXPECT_EQ(cat.out.size(), multi_chunk.size());
  EXPECT_TRUE(cat.out == multi_chunk) << "content differs";

  Put("empty", "");
  cat = Vaultnfs({"cat", vault_, "/empty"});
  ExpectSuccess(cat);
  EXPECT_EQ(cat.out, "");

  // From standard input, across the 1 MiB read/write boundary.
  const std::string large = RandomBytes((1 << 20) + 5000, 2);
  ExpectSuccess(Vaultnfs({"put", vault_, "-", "/stdin.bin"}, WithInput(large)));
  cat = Vaultnfs({"cat", vault_, "/stdin.bin"});
  EXPECT_EQ(cat.out.size(), large.size());
  EXPECT_TRUE(cat.out == large) << "content differs";

  // Replacing keeps nothing of the old, longer content.
  Put("/multi.bin", "short now");
  EXPECT_EQ(Vaultnfs({"cat", vault_, "/multi.bin"}).out, "short now");

  // Into an existing directory: the local name is kept.
  ExpectSuccess(Vaultnfs({"mkdir", vault_, "/dir"}));
  WriteFile(Local("local name.txt"), "named");
  ExpectSuccess(Vaultnfs({"put", vault_, Local("local name.txt").string(), "/dir"}));
  EXPECT_EQ(Vaultnfs({"cat", vault_, "/dir/local name.txt"}).out, "named");
  ExpectFailure(Vaultnfs({"put", vault_, "-", "/dir"}, WithInput("x")), 1, "is a directory");

  // Permissions: a new file takes the local file's (even read-only ones),
  // a replaced file keeps its own.
  const auto mode_of = [&](const std::string& path) {
    return Vaultnfs({"ls", vault_, "-l", path}).out.substr(0, 10);
  };
  WriteFile(Local("readonly"), "ro");
  fs::permissions(Local("readonly"), fs::perms::owner_read | fs::perms::group_read);
  ExpectSuccess(Vaultnfs({"put", vault_, Local("readonly").string(), "/dir/ro"}));
  const std::string read_only_mode = mode_of("/dir/ro");
  EXPECT_TRUE(read_only_mode.starts_with("-r--")) << read_only_mode;
  EXPECT_EQ(read_only_mode.find('w'), std::string::npos) << read_only_mode;
  ExpectSuccess(Vaultnfs({"put", vault_, "-", "/dir/ro"}, WithInput("replaced")));
  EXPECT_EQ(Vaultnfs({"cat", vault_, "/dir/ro"}).out, "replaced");
  EXPECT_EQ(mode_of("/dir/ro"), read_only_mode);
  ExpectSuccess(Vaultnfs({"rm", vault_, "/dir/ro"}));

  // No temporary files are left behind.
  EXPECT_EQ(Vaultnfs({"ls", vault_, "-R"}).out,
            "dir\ndir/local name.txt\nempty\nmulti.bin\nstdin.bin\n");

  ExpectFailure(Vaultnfs({"put", vault_, Local("missing").string(), "/x"}), 4, "missing");
  ExpectFailure(Vaultnfs({"put", vault_, Local("put.tmp").string(), "/nodir/x"}), 4, "nodir");
  ExpectFailure(Vaultnfs({"cat", vault_, "/nothing"}), 4, "nothing");
  ExpectFailure(Vaultnfs({"cat", vault_, "/dir"}), 1, "is a directory");
}

TEST_F(CliTest, ListingFormats) {
  CreateVault();
  ExpectSuccess(Vaultnfs({"mkdir", vault_, "/a/b/c", "-p"}));
  Put("/a/file.txt", "12345");
  Put("/top.txt", "x");
  ExpectSuccess(Vaultnfs({"ln", "-s", vault_, "a/file.txt", "/link"}));

  EXPECT_EQ(Vaultnfs({"ls", vault_}).out, "a\nlink\ntop.txt\n");
  EXPECT_EQ(Vaultnfs({"ls", vault_, "/a"}).out, "b\nfile.txt\n");
  EXPECT_EQ(Vaultnfs({"ls", vault_, "a/"}).out, "b\nfile.txt\n");
  EXPECT_EQ(Vaultnfs({"ls", vault_, "/", "-R"}).out, "a\na/b\na/b/c\na/file.txt\nlink\ntop.txt\n");
  EXPECT_EQ(Vaultnfs({"ls", vault_, "/a", "-R"}).out, "b\nb/c\nfile.txt\n");
  // A file lists as itself.
  EXPECT_EQ(Vaultnfs({"ls", vault_, "/a/file.txt"}).out, "file.txt\n");

  const RunResult long_listing = Vaultnfs({"ls", vault_, "-lR"});
  ExpectSuccess(long_listing);
  const std::vector<std::string> lines = Lines(long_listing.out);
  ASSERT_EQ(lines.size(), 6u) << long_listing.out;
  const std::regex line_format(R"(([-dl])([-r][-w][-x]){3} +(\d+) \d{4}-\d\d-\d\d \d\d:\d\d (.+))");
  const std::vector<std::pair<char, std::string>> expected = {{'d', "a"},
                                                              {'d', "a/b"},
                                                              {'d', "a/b/c"},
                                                              {'-', "a/file.txt"},
                                                              {'l', "link -> a/file.txt"},
                                                              {'-', "top.txt"}};
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[i], m, line_format)) << lines[i];
    EXPECT_EQ(m[1].str()[0], expected[i].first) << lines[i];
    EXPECT_EQ(m[4].str(), expected[i].second) << lines[i];
  }
  EXPECT_NE(lines[3].find(" 5 "), std::string::npos) << lines[3];   // cleartext size
  EXPECT_NE(lines[4].find(" 10 "), std::string::npos) << lines[4];  // target length

  ExpectFailure(Vaultnfs({"ls", vault_, "/missing"}), 4, "missing");
  ExpectFailure(Vaultnfs({"ls", vault_, "/top.txt/below"}), 1, "not a directory");
}

TEST_F(CliTest, MkdirCreatesParentsOnlyWhenAsked) {
  CreateVault();
  ExpectFailure(Vaultnfs({"mkdir", vault_, "/x/y"}), 4, "\"x\" not found");
  ExpectSuccess(Vaultnfs({"mkdir", vault_, "-p", "/x/y/z"}));
  ExpectSuccess(Vaultnfs({"mkdir", vault_, "-p", "x/y"}));  // existing: fine with -p
  ExpectFailure(Vaultnfs({"mkdir", vault_, "/x"}), 1, "already exists");
  ExpectFailure(Vaultnfs({"mkdir", vault_, "/"}), 1, "root");
  Put("/x/f", "file");
  ExpectFailure(Vaultnfs({"mkdir", vault_, "-p", "/x/f/g"}), 1, "not a directory");
  EXPECT_EQ(Vaultnfs({"ls", vault_, "-R"}).out, "x\nx/f\nx/y\nx/y/z\n");
}

TEST_F(CliTest, MoveRenamesReplacesAndMovesIntoDirectories) {
  CreateVault();
  Put("/a.txt", "A");
  Put("/b.txt", "B");
  ExpectSuccess(Vaultnfs({"mkdir", vault_, "/dir"}));

  ExpectSuccess(Vaultnfs({"mv", vault_, "/a.txt", "/renamed.txt"}));
  ExpectSuccess(Vaultnfs({"mv", vault_, "renamed.txt", "dir"}));  // into the directory
  EXPECT_EQ(Vaultnfs({"cat", vault_, "/dir/renamed.txt"}).out, "A");
  ExpectSuccess(Vaultnfs({"mv", vault_, "/b.txt", "/dir/renamed.txt"}));  // over a file
  EXPECT_EQ(Vaultnfs({"cat", vault_, "/dir/renamed.txt"}).out, "B");
  ExpectSuccess(Vaultnfs({"mv", vault_, "/dir", "/moved"}));
  EXPECT_EQ(Vaultnfs({"ls", vault_, "-R"}).out, "moved\nmoved/renamed.txt\n");

  ExpectFailure(Vaultnfs({"mv", vault_, "/missing", "/x"}), 4, "missing");
  ExpectFailure(Vaultnfs({"mv", vault_, "/moved", "/moved"}), 1, "into itself");
  ExpectFailure(Vaultnfs({"mv", vault_, "/", "/x"}), 1, "root");
}

TEST_F(CliTest, SymlinksShowTheirTarget) {
  CreateVault();
  ExpectSuccess(Vaultnfs({"ln", "-s", vault_, "../elsewhere/file name", "/link"}));
  const RunResult ls = Vaultnfs({"ls", vault_, "-l"});
  ExpectSuccess(ls);
  EXPECT_TRUE(ls.out.starts_with("l")) << ls.out;
  EXPECT_TRUE(ls.out.ends_with(" link -> ../elsewhere/file name\n")) << ls.out;
  ExpectFailure(Vaultnfs({"cat", vault_, "/link"}), 1, "symbolic link to ../elsewhere/file name");
  ExpectFailure(Vaultnfs({"ln", "-s", vault_, "other", "/link"}), 1, "already exists");
  ExpectSuccess(Vaultnfs({"rm", vault_, "/link"}));
  EXPECT_EQ(Vaultnfs({"ls", vault_}).out, "");
}

TEST_F(CliTest, GetCopiesFilesAndTreesOut) {
  CreateVault();
  ExpectSuccess(Vaultnfs({"mkdir", vault_, "-p", "/tree/sub/deeper"}));
  const std::string big = RandomBytes(100'000, 7);
  Put("/tree/big.bin", big);
  Put("/tree/sub/deeper/small.txt", "small");
  Put("/tree/empty", "");
  ExpectSuccess(Vaultnfs({"ln", "-s", vault_, "../big.bin", "/tree/sub/link"}));
  // Modes and times are copied: set them through a local file's put, then
  // compare with what ls -l reports.
  fs::permissions(Local("put.tmp"), fs::perms(0640));
  Put("/tree/mode640", "m");

  ExpectSuccess(Vaultnfs({"get", vault_, "/tree/big.bin", Local("one.bin").string()}));
  EXPECT_EQ(ReadFile(Local("one.bin")), big);
  ExpectFailure(Vaultnfs({"get", vault_, "/tree", Local("copy").string()}), 1, "-r");
  ExpectSuccess(Vaultnfs({"get", vault_, "-r", "/tree", Local("copy").string()}));
  const fs::path copy = Local("copy");
  EXPECT_EQ(ReadFile(copy / "big.bin"), big);
  EXPECT_EQ(ReadFile(copy / "sub/deeper/small.txt"), "small");
  EXPECT_EQ(fs::file_size(copy / "empty"), 0u);
  EXPECT_EQ(fs::read_symlink(copy / "sub/link"), "../big.bin");
  EXPECT_EQ(fs::status(copy / "mode640").permissions(), fs::perms(0640));
  EXPECT_EQ(fs::status(copy / "sub").permissions(), fs::perms(0755));

  // An existing directory receives the entry under its own name; anything
  // else is never overwritten.
  ExpectSuccess(Vaultnfs({"get", vault_, "/tree/sub/deeper/small.txt", copy.string()}));
  EXPECT_EQ(ReadFile(copy / "small.txt"), "small");
  ExpectFailure(Vaultnfs({"get", vault_, "/tree/empty", Local("one.bin").string()}), 1, "exists");
  EXPECT_EQ(ReadFile(Local("one.bin")), big);
  ExpectFailure(Vaultnfs({"get", vault_, "/absent", Local("x").string()}), 4, "absent");
  ExpectFailure(Vaultnfs({"get", vault_, "-r", "/", copy.string()}), 1, "exists");
}

TEST_F(CliTest, GetOfATamperedFileLeavesNoPartialCopy) {
  CreateVault();
  Put("/victim.bin", RandomBytes(100'000, 4));
  fs::path ciphertext;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(vault_) / "d")) {
    if (e.is_regular_file() && e.path().filename() != "dirid.c9r") ciphertext = e.path();
  }
  ASSERT_FALSE(ciphertext.empty());
  std::string bytes = ReadFile(ciphertext);
  bytes[bytes.size() - 10] = static_cast<char>(bytes[bytes.size() - 10] ^ 1);  // the last chunk
  WriteFile(ciphertext, bytes);
  ExpectFailure(Vaultnfs({"get", vault_, "/victim.bin", Local("out").string()}), 1, "damaged");
  EXPECT_FALSE(fs::exists(Local("out")));
}

TEST_F(CliTest, RemoveNeedsRecursiveForDirectories) {
  CreateVault();
  ExpectSuccess(Vaultnfs({"mkdir", vault_, "-p", "/d/e/f"}));
  Put("/d/e/f/deep.txt", "deep");
  Put("/d/top.txt", "top");
  ExpectSuccess(Vaultnfs({"ln", "-s", vault_, "top.txt", "/d/e/link"}));
  Put("/keep.txt", "keep");

  ExpectFailure(Vaultnfs({"rm", vault_, "/d"}), 1, "-r");
  ExpectSuccess(Vaultnfs({"rm", vault_, "/keep.txt"}));
  ExpectFailure(Vaultnfs({"rm", vault_, "/keep.txt"}), 4, "keep.txt");
  ExpectSuccess(Vaultnfs({"rm", vault_, "-r", "/d"}));
  EXPECT_EQ(Vaultnfs({"ls", vault_, "-R"}).out, "");
  ExpectFailure(Vaultnfs({"rm", vault_, "-r", "/"}), 1, "root");
  // The content directories of the removed tree are gone too: only the
  // root's remains.
  size_t content_dirs = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(vault_) / "d")) {
    if (e.is_directory() && e.path().parent_path().parent_path().filename() == "d") {
      ++content_dirs;
    }
  }
  EXPECT_EQ(content_dirs, 1u);
}

TEST_F(CliTest, PasswdChangesThePasswordAndKeepsABackup) {
  CreateVault();
  Put("/kept.txt", "still here");
  const std::string new_password = "another one";
  ExpectFailure(Vaultnfs({"passwd", vault_}, WithPasswords("wrong", new_password)), 3,
                "check the password");
  const RunResult passwd = Vaultnfs({"passwd", vault_}, WithPasswords(kPassword, new_password));
  ExpectSuccess(passwd);
  EXPECT_NE(passwd.out.find(".bkup"), std::string::npos) << passwd.out;

  bool backup = false;
  for (const auto& e : fs::directory_iterator(vault_)) {
    const std::string name = e.path().filename().string();
    backup |= name.starts_with("masterkey.cryptomator.") && name.ends_with(".bkup");
  }
  EXPECT_TRUE(backup) << "no masterkey.cryptomator.*.bkup";

  ExpectFailure(Vaultnfs({"info", vault_}), 3, "check the password");
  EXPECT_EQ(Vaultnfs({"cat", vault_, "/kept.txt"}, WithPassword(new_password)).out, "still here");

  // And back, the new password from a file this time.
  WriteFile(Local("new"), std::string(kPassword) + "\r\n");
  ExpectSuccess(Vaultnfs({"passwd", vault_, "--new-password-file", Local("new").string()},
                         WithPassword(new_password)));
  ExpectSuccess(Vaultnfs({"info", vault_}));
  ExpectFailure(Vaultnfs({"passwd", vault_, "--new-password-file", Local("absent").string()}), 2,
                "--new-password-file");
}

TEST_F(CliTest, PasswordFileWinsOverTheEnvironment) {
  CreateVault();
  WriteFile(Local("right"), std::string(kPassword) + "\n");
  WriteFile(Local("wrong"), "not it\n");
  ExpectSuccess(
      Vaultnfs({"ls", vault_, "--password-file", Local("right").string()}, WithPassword("not it")));
  ExpectFailure(Vaultnfs({"ls", vault_, "--password-file", Local("wrong").string()}), 3,
                "(or --password-file)");
  ExpectFailure(Vaultnfs({"ls", vault_, "--password-file", Local("absent").string()}), 2,
                "--password-file");
}

TEST_F(CliTest, WrongPasswordAndNotAVault) {
  CreateVault();
  ExpectFailure(Vaultnfs({"ls", vault_}, WithPassword("wrong")), 3, "wrong password");
  ExpectFailure(Vaultnfs({"info", tmp_.str()}), 3, "vault.cryptomator");
  ExpectFailure(Vaultnfs({"ls", Local("absent").string()}), 3, "does not exist");
  WriteFile(Local("file"), "x");
  ExpectFailure(Vaultnfs({"cat", Local("file").string(), "/x"}), 3, "not a directory");
  // A vault whose key file is garbage.
  fs::create_directory(Local("broken"));
  fs::copy_file(fs::path(vault_) / "vault.cryptomator", Local("broken") / "vault.cryptomator");
  WriteFile(Local("broken") / "masterkey.cryptomator", "{ not json");
  ExpectFailure(Vaultnfs({"ls", Local("broken").string()}), 3, "masterkey.cryptomator");
  ExpectFailure(Vaultnfs({"serve", vault_, "--listen", "127.0.0.1:0"}, WithPassword("wrong")), 3,
                "wrong password");
}

TEST_F(CliTest, TamperedContentIsAnError) {
  CreateVault();
  Put("/victim.bin", RandomBytes(5000, 3));
  fs::path ciphertext;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(vault_) / "d")) {
    if (e.is_regular_file() && e.path().filename() != "dirid.c9r") ciphertext = e.path();
  }
  ASSERT_FALSE(ciphertext.empty());
  std::string bytes = ReadFile(ciphertext);
  ASSERT_GT(bytes.size(), 200u);
  bytes[150] = static_cast<char>(bytes[150] ^ 1);
  WriteFile(ciphertext, bytes);
  const RunResult r = Vaultnfs({"cat", vault_, "/victim.bin"});
  ExpectFailure(r, 1, "damaged");
  EXPECT_EQ(r.out, "") << "no byte of an unauthenticated chunk may be output";
}

TEST(CliFixture, ReadsTheCryptomatorDesktopVault) {
  // Read-only commands open the shared fixture in place.
  const nlohmann::json manifest = FixtureManifest();
  const std::string vault = (FixturesDir() / "vaults" / kFixture).string();
  const RunOptions options = WithPassword(manifest["password"].get<std::string>());

  std::string expected_tree;
  for (const auto& entry : manifest["entries"]) {
    const std::string path = entry["path"];
    if (path != "/") expected_tree += path.substr(1) + "\n";
  }
  const RunResult tree = Vaultnfs({"ls", vault, "-R"}, options);
  ExpectSuccess(tree);
  EXPECT_EQ(tree.out, expected_tree);

  for (const auto& entry : manifest["entries"]) {
    if (entry["type"] != "file") continue;
    const std::string path = entry["path"];
    const RunResult cat = Vaultnfs({"cat", vault, path}, options);
    ExpectSuccess(cat);
    EXPECT_EQ(cat.out.size(), entry["size"].get<size_t>()) << path;
    EXPECT_EQ(Sha256Hex(cat.out), entry["sha256"].get<std::string>()) << path;
  }

  const RunResult info = Vaultnfs({"info", vault}, options);
  ExpectSuccess(info);
  EXPECT_NE(info.out.find(manifest["vault_config"]["jti"].get<std::string>()), std::string::npos)
      << info.out;
  ExpectFailure(Vaultnfs({"ls", vault}, WithPassword("12345678")), 3, "wrong password");
}

TEST(CliFixture, ChangesACopyOfTheCryptomatorDesktopVault) {
  TempDir tmp;
  const std::string vault = CopyFixtureVault(kFixture, tmp).string();
  const RunOptions options = WithPassword(FixtureManifest()["password"].get<std::string>());
  WriteFile(tmp.path() / "new.txt", "written by vaultnfs");
  ExpectSuccess(
      Vaultnfs({"put", vault, (tmp.path() / "new.txt").string(), "/test_folder/new.txt"}, options));
  ExpectSuccess(Vaultnfs({"mv", vault, "/test_folder/a.txt", "/a.txt"}, options));
  ExpectSuccess(Vaultnfs({"rm", vault, "/.DS_Store"}, options));
  const RunResult tree = Vaultnfs({"ls", vault, "-R"}, options);
  EXPECT_EQ(tree.out, "._aes-wrap.c\na.txt\naes-wrap.c\ntest_folder\ntest_folder/new.txt\n");
  EXPECT_EQ(Vaultnfs({"cat", vault, "/test_folder/new.txt"}, options).out, "written by vaultnfs");
  EXPECT_EQ(Vaultnfs({"cat", vault, "/a.txt"}, options).out.size(), 7u);
}

TEST(CliTerminal, PromptsOnTheTerminalWithoutEcho) {
  TempDir tmp;
  const std::string vault = tmp.str() + "/vault";
  const std::string password = "typed secret";
  std::string transcript;
  const std::vector<TerminalStep> init_steps = {{"Password for the new vault: ", password + "\n"},
                                                {"Repeat to confirm: ", password + "\n"}};
  RunResult r = RunVaultnfs({"init", vault}, NoPassword(), &init_steps, &transcript);
  ExpectSuccess(r);
  EXPECT_EQ(transcript.find(password), std::string::npos) << "echoed: " << transcript;

  const std::vector<TerminalStep> open_steps = {{"Password for " + vault + ": ", password + "\n"}};
  r = RunVaultnfs({"ls", vault}, NoPassword(), &open_steps, &transcript);
  ExpectSuccess(r);
  EXPECT_EQ(transcript.find(password), std::string::npos) << "echoed: " << transcript;

  const std::vector<TerminalStep> mismatch = {{"Password for the new vault: ", "one\n"},
                                              {"Repeat to confirm: ", "two\n"}};
  r = RunVaultnfs({"init", tmp.str() + "/other"}, NoPassword(), &mismatch, &transcript);
  ExpectFailure(r, 2, "do not match");
  EXPECT_FALSE(fs::exists(tmp.path() / "other" / "masterkey.cryptomator"));

  // passwd: the old password from the environment, the new one typed twice.
  const std::string new_password = "typed again";
  const std::vector<TerminalStep> passwd_steps = {{"New password: ", new_password + "\n"},
                                                  {"Repeat to confirm: ", new_password + "\n"}};
  r = RunVaultnfs({"passwd", vault}, WithPassword(password), &passwd_steps, &transcript);
  ExpectSuccess(r);
  ExpectSuccess(Vaultnfs({"ls", vault}, WithPassword(new_password)));
  // A wrong old password is reported before the new one is asked for.
  const std::vector<TerminalStep> no_steps;
  r = RunVaultnfs({"passwd", vault}, WithPassword(password), &no_steps, &transcript);
  ExpectFailure(r, 3, "wrong password");
  EXPECT_EQ(transcript.find("New password"), std::string::npos) << transcript;
}

TEST(CliBinary, MallocComesFromMimalloc) {
  const RunResult r = Vaultnfs({"--version"}, NoPassword());
  ExpectSuccess(r);
#ifdef VAULTNFS_SANITIZED
  // AddressSanitizer must own malloc to see memory errors.
  EXPECT_NE(r.out.find("malloc: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("asan"), std::string::npos) << r.out;
#else
  EXPECT_NE(r.out.find("libmimalloc"), std::string::npos) << r.out;
#endif
}

TEST(CliBinary, VersionNamesTheOpenSslInUse) {
  const RunResult r = Vaultnfs({"--version"}, NoPassword());
  ExpectSuccess(r);
  EXPECT_NE(r.out.find("\ncrypto: OpenSSL 3."), std::string::npos) << r.out;
}

}  // namespace
