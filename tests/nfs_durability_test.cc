// Data safety of the real `vaultnfs serve` process (VAULTNFS_BINARY): what
// a COMMIT or a FILE_SYNC / DATA_SYNC WRITE acknowledged is in the vault
// even when the server is killed with SIGKILL right after; SIGTERM and
// SIGINT write out every UNSTABLE write before the process exits 0; and
// the write verifier differs between two runs, so a client knows to send
// uncommitted data again.
//
// "In the vault" means: a fresh vaultcore::Vault opened on the directory
// after the server is gone finds the file and decrypts exactly the bytes
// written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/nfs_raw.h"
#include "tests/testing.h"
#include "vaultcore/vault.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace vaultnfs::testing {
namespace {

constexpr char kPassword[] = "durability test password";

#ifdef VAULTNFS_SANITIZED
constexpr auto kStartTimeout = std::chrono::seconds(60);
#else
constexpr auto kStartTimeout = std::chrono::seconds(20);
#endif

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Pattern(uint32_t seed, size_t size) {
  std::string out(size, '\0');
  std::mt19937 random(seed);
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

// One `vaultnfs serve` child process; stdout and stderr go to files.
class ServeProcess {
 public:
  ServeProcess(std::string vault_path, std::string password_file, const std::string& log_prefix)
      : vault_path_(std::move(vault_path)),
        password_file_(std::move(password_file)),
        out_path_(log_prefix + ".out"),
        err_path_(log_prefix + ".err") {}
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      (void)Wait();
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts the server and waits for the line with its port.
  ::testing::AssertionResult Start() {
    std::vector<std::string> args = {VAULTNFS_BINARY,   "serve",       vault_path_,
                                     "--listen",        "127.0.0.1:0", "--insecure",
                                     "--password-file", password_file_};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      pid_ = -1;
      return ::testing::AssertionFailure()
             << "cannot run " << VAULTNFS_BINARY << ": " << std::strerror(spawned);
    }
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = ReadWholeFile(out_path_);
      const size_t line = out.find("libnfs: nfs://127.0.0.1/?version=3&nfsport=");
      if (line != std::string::npos) {
        const size_t digits = out.find("nfsport=", line) + std::strlen("nfsport=");
        port_ = static_cast<uint16_t>(std::stoi(out.substr(digits)));
        return ::testing::AssertionSuccess();
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure()
               << "vaultnfs serve exited early\nstdout: " << out << "\nstderr: " << Stderr();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ::testing::AssertionFailure()
           << "no port line within the time limit\nstdout: " << ReadWholeFile(out_path_)
           << "\nstderr: " << Stderr();
  }

  void Signal(int signal) const {
    if (pid_ > 0) kill(pid_, signal);
  }

  // Exit code, or -N after signal N; -100 if it did not end in time.
  int Wait() {
    if (pid_ <= 0) return -100;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    for (;;) {
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (done < 0 && errno != EINTR) return -100;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return -100;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  uint16_t port() const { return port_; }
  std::string Url() const {
    const std::string p = std::to_string(port_);
    return "nfs://127.0.0.1/?version=3&nfsport=" + p + "&mountport=" + p;
  }
  std::string Stderr() const { return ReadWholeFile(err_path_); }

 private:
  const std::string vault_path_;
  const std::string password_file_;
  const std::string out_path_;
  const std::string err_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// A libnfs mount of "/" of a server given by URL.
class UrlClient {
 public:
  explicit UrlClient(const std::string& url) {
    nfs_ = nfs_init_context();
    if (nfs_ == nullptr) return;
    nfs_set_timeout(nfs_, 30000);
    nfs_url* parsed = nfs_parse_url_dir(nfs_, url.c_str());
    if (parsed == nullptr) return;
    mounted_ = nfs_mount(nfs_, parsed->server, parsed->path) == 0;
    nfs_destroy_url(parsed);
    if (!mounted_) return;
    raw_ = std::make_unique<RawNfs>(nfs_get_rpc_context(nfs_));
    const MountResult root = raw_->Mnt("/");
    mounted_ = root.status == MNT3_OK;
    root_ = root.fh;
  }
  ~UrlClient() {
    if (nfs_ != nullptr) nfs_destroy_context(nfs_);
  }
  UrlClient(const UrlClient&) = delete;
  UrlClient& operator=(const UrlClient&) = delete;

  bool ok() const { return mounted_; }
  std::string error() const {
    const char* text = nfs_ == nullptr ? nullptr : nfs_get_error(nfs_);
    return text == nullptr ? "(no libnfs error)" : text;
  }
  nfs_context* get() { return nfs_; }
  RawNfs& raw() { return *raw_; }
  const Fh& root() const { return root_; }

  // Creates (or truncates) `name` in the root; its handle.
  Fh Create(const std::string& name) {
    nfsfh* fh = nullptr;
    EXPECT_EQ(nfs_open2(nfs_, ("/" + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh), 0)
        << name << ": " << error();
    if (fh != nullptr) nfs_close(nfs_, fh);
    const LookupResult found = raw_->Lookup(root_, name);
    EXPECT_EQ(found.status, NFS3_OK) << name;
    return found.fh;
  }

 private:
  nfs_context* nfs_ = nullptr;
  bool mounted_ = false;
  std::unique_ptr<RawNfs> raw_;
  Fh root_;
};

class NfsDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vaultcore::CreateOptions options;
    options.scrypt.n = 1024;
    ASSERT_TRUE(IsOk(vaultcore::Vault::Create(vault_path_, kPassword, options)));
    std::ofstream(password_file_) << kPassword << "\n";
  }

  std::unique_ptr<ServeProcess> StartServer() {
    auto server = std::make_unique<ServeProcess>(vault_path_, password_file_,
                                                 dir_.str() + "/serve" + std::to_string(runs_++));
    EXPECT_TRUE(server->Start());
    return server;
  }

  // After the server is gone: every file of `expected` is in the vault,
  // decrypting to exactly its bytes.
  void ExpectVaultHolds(const std::map<std::string, std::string>& expected) {
    auto vault = vaultcore::Vault::Open(vault_path_, kPassword);
    ASSERT_TRUE(IsOk(vault));
    for (const auto& [name, content] : expected) {
      SCOPED_TRACE(name);
      auto entry = (*vault)->ResolvePath("/" + name);
      ASSERT_TRUE(IsOk(entry));
      EXPECT_EQ(entry->attr.size, content.size());
      auto file = (*vault)->OpenFile(*entry);
      ASSERT_TRUE(IsOk(file));
      std::string back(content.size() + 1, '\0');
      auto read = (*file)->Read(0, {reinterpret_cast<uint8_t*>(back.data()), back.size()});
      ASSERT_TRUE(IsOk(read));
      back.resize(*read);
      EXPECT_EQ(back.size(), content.size());
      EXPECT_TRUE(back == content) << "content differs";
    }
  }

  TempDir dir_;
  const std::string vault_path_ = dir_.str() + "/vault";
  const std::string password_file_ = dir_.str() + "/password";
  int runs_ = 0;
};

// nfs_pwrite of `content` at `offset` in pieces of at most `piece` bytes.
void PwriteAll(nfs_context* nfs, nfsfh* fh, uint64_t offset, const std::string& content,
               size_t piece) {
  for (size_t done = 0; done < content.size();) {
    const size_t n = std::min(piece, content.size() - done);
    const int rc = nfs_pwrite(nfs, fh, offset + done, n, content.data() + done);
    ASSERT_GT(rc, 0) << nfs_get_error(nfs);
    done += static_cast<size_t>(rc);
  }
}

TEST_F(NfsDurabilityTest, CommittedWritesSurviveSigkill) {
  auto server = StartServer();
  ASSERT_GT(server->port(), 0);
  UrlClient client(server->Url());
  ASSERT_TRUE(client.ok()) << client.error();
  nfs_context* nfs = client.get();
  std::map<std::string, std::string> expected;

  // Large sequential UNSTABLE writes, then COMMIT (nfs_fsync).
  {
    const std::string content = Pattern(1, 3 * 1024 * 1024 + 123);
    nfsfh* fh = nullptr;
    ASSERT_EQ(nfs_open2(nfs, "/big.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh), 0)
        << client.error();
    PwriteAll(nfs, fh, 0, content, 1 << 20);
    ASSERT_EQ(nfs_fsync(nfs, fh), 0) << client.error();
    ASSERT_EQ(nfs_close(nfs, fh), 0) << client.error();
    expected["big.bin"] = content;
  }
  // Small writes in random order over chunk boundaries, then COMMIT.
  {
    std::string content = Pattern(2, 300'000);
    std::vector<size_t> offsets;
    for (size_t o = 0; o < content.size(); o += 4096) offsets.push_back(o);
    std::shuffle(offsets.begin(), offsets.end(), std::mt19937(3));
    nfsfh* fh = nullptr;
    ASSERT_EQ(nfs_open2(nfs, "/scattered.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh), 0)
        << client.error();
    for (size_t o : offsets) {
      const size_t n = std::min<size_t>(4096, content.size() - o);
      ASSERT_EQ(nfs_pwrite(nfs, fh, o, n, content.data() + o), static_cast<int>(n))
          << client.error();
    }
    ASSERT_EQ(nfs_fsync(nfs, fh), 0) << client.error();
    // An overwrite in the middle of committed data, committed again.
    const std::string patch = Pattern(4, 50'000);
    ASSERT_EQ(nfs_pwrite(nfs, fh, 30'000, patch.size(), patch.data()),
              static_cast<int>(patch.size()))
        << client.error();
    content.replace(30'000, patch.size(), patch);
    ASSERT_EQ(nfs_fsync(nfs, fh), 0) << client.error();
    ASSERT_EQ(nfs_close(nfs, fh), 0) << client.error();
    expected["scattered.bin"] = content;
  }
  // Raw WRITEs with FILE_SYNC and DATA_SYNC, never committed.
  for (const stable_how how : {FILE_SYNC, DATA_SYNC}) {
    const std::string name = how == FILE_SYNC ? "file-sync.bin" : "data-sync.bin";
    const std::string content = Pattern(5 + how, 100'000);
    const Fh handle = client.Create(name);
    for (size_t offset = 0; offset < content.size(); offset += 40'000) {
      const WRITE3res written =
          client.raw().Write(handle, offset, std::string_view(content).substr(offset, 40'000), how);
      ASSERT_EQ(written.status, NFS3_OK);
      const WRITE3resok& result = written.WRITE3res_u.resok;
      EXPECT_EQ(result.count, std::min<size_t>(40'000, content.size() - offset));
      EXPECT_GE(result.committed, how) << "the reply claims less than was asked";
    }
    expected[name] = content;
  }
  // An empty file, and one whose size is an exact chunk multiple.
  client.Create("empty");
  expected["empty"] = "";
  {
    const std::string content = Pattern(7, 65'536);
    const Fh handle = client.Create("two-chunks");
    ASSERT_EQ(client.raw().Write(handle, 0, content, UNSTABLE).status, NFS3_OK);
    ASSERT_EQ(client.raw().Commit(handle).status, NFS3_OK);
    expected["two-chunks"] = content;
  }
  // UNSTABLE data that is never committed may be lost, but must not
  // damage anything else.
  {
    const Fh handle = client.Create("uncommitted");
    ASSERT_EQ(client.raw().Write(handle, 0, Pattern(8, 70'000), UNSTABLE).status, NFS3_OK);
  }

  server->Signal(SIGKILL);
  EXPECT_EQ(server->Wait(), -SIGKILL);
  ExpectVaultHolds(expected);
}

// UNSTABLE writes only, no COMMIT: the server must write them out when
// asked to stop with `signal`.
void StopFlushesEverything(ServeProcess& server, int signal,
                           std::map<std::string, std::string>* expected, int* exit_code) {
  UrlClient client(server.Url());
  ASSERT_TRUE(client.ok()) << client.error();
  const std::vector<size_t> sizes = {1, 32'767, 32'768, 32'769, 200'000, 1'100'000};
  for (size_t i = 0; i < sizes.size(); ++i) {
    const std::string name = "unstable-" + std::to_string(i);
    std::string content = Pattern(100 + static_cast<uint32_t>(i), sizes[i]);
    const Fh handle = client.Create(name);
    // In pieces of 10000 bytes, the last piece first, so chunks are
    // written partly, out of order, and overwritten.
    std::vector<size_t> offsets;
    for (size_t o = 0; o < content.size(); o += 10'000) offsets.push_back(o);
    std::reverse(offsets.begin(), offsets.end());
    for (size_t o : offsets) {
      const WRITE3res written =
          client.raw().Write(handle, o, std::string_view(content).substr(o, 10'000), UNSTABLE);
      ASSERT_EQ(written.status, NFS3_OK);
      EXPECT_EQ(written.WRITE3res_u.resok.committed, UNSTABLE);
    }
    if (content.size() > 20'000) {
      const std::string patch = Pattern(200 + static_cast<uint32_t>(i), 5'000);
      ASSERT_EQ(client.raw().Write(handle, 12'345, patch, UNSTABLE).status, NFS3_OK);
      content.replace(12'345, patch.size(), patch);
    }
    (*expected)[name] = content;
  }
  server.Signal(signal);
  *exit_code = server.Wait();
  EXPECT_NE(server.Stderr().find("every write is on disk"), std::string::npos) << server.Stderr();
}

TEST_F(NfsDurabilityTest, SigtermWritesOutUnstableData) {
  auto server = StartServer();
  ASSERT_GT(server->port(), 0);
  std::map<std::string, std::string> expected;
  int exit_code = -1;
  StopFlushesEverything(*server, SIGTERM, &expected, &exit_code);
  ExpectVaultHolds(expected);
  EXPECT_EQ(exit_code, 0) << server->Stderr();
}

TEST_F(NfsDurabilityTest, SigintWritesOutUnstableData) {
  auto server = StartServer();
  ASSERT_GT(server->port(), 0);
  std::map<std::string, std::string> expected;
  int exit_code = -1;
  StopFlushesEverything(*server, SIGINT, &expected, &exit_code);
  ExpectVaultHolds(expected);
  EXPECT_EQ(exit_code, 0) << server->Stderr();
}

// SIGUSR1 logs the calls answered so far and the server goes on; the stop
// logs them all. (The report's figures are checked in nfs_procedures_test.)
TEST_F(NfsDurabilityTest, Sigusr1LogsTheCallsSoFarAndStopLogsThemAll) {
  auto server = StartServer();
  ASSERT_GT(server->port(), 0);
  UrlClient client(server->Url());
  ASSERT_TRUE(client.ok()) << client.error();
  const Fh handle = client.Create("counted");
  ASSERT_EQ(client.raw().Write(handle, 0, "abc", FILE_SYNC).status, NFS3_OK);

  server->Signal(SIGUSR1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server->Stderr().find("calls answered so far") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string so_far = server->Stderr();
  EXPECT_TRUE(std::regex_search(so_far, std::regex("info:   WRITE +1 calls +0 failed"))) << so_far;
  EXPECT_EQ(client.raw().Write(handle, 3, "def", FILE_SYNC).status, NFS3_OK)
      << "the server stopped answering after SIGUSR1";

  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(), 0) << server->Stderr();
  const std::string all = server->Stderr().substr(so_far.size());
  const size_t heading = all.find("calls answered since the start, by procedure:");
  ASSERT_NE(heading, std::string::npos) << all;
  EXPECT_TRUE(
      std::regex_search(all.substr(heading), std::regex("info:   WRITE +2 calls +0 failed")))
      << all;
  ExpectVaultHolds({{"counted", "abcdef"}});
}

TEST_F(NfsDurabilityTest, WriteVerifierDiffersBetweenRuns) {
  struct Run {
    Verifier verifier{};
    int exit_code = -1;
    std::string stderr_text;
  };
  Run runs[2];
  for (Run& run : runs) {
    auto server = StartServer();
    ASSERT_GT(server->port(), 0);
    {
      UrlClient client(server->Url());
      ASSERT_TRUE(client.ok()) << client.error();
      const Fh handle = client.Create("verifier");
      const WRITE3res unstable = client.raw().Write(handle, 0, "abc", UNSTABLE);
      ASSERT_EQ(unstable.status, NFS3_OK);
      const COMMIT3res committed = client.raw().Commit(handle);
      ASSERT_EQ(committed.status, NFS3_OK);
      const WRITE3res stable = client.raw().Write(handle, 3, "def", FILE_SYNC);
      ASSERT_EQ(stable.status, NFS3_OK);
      const WRITE3res again = client.raw().Write(handle, 6, "ghi", UNSTABLE);
      ASSERT_EQ(again.status, NFS3_OK);
      const Verifier unstable_verf = VerifierOf(unstable.WRITE3res_u.resok.verf);
      // Fixed for the life of the process.
      EXPECT_EQ(VerifierOf(committed.COMMIT3res_u.resok.verf), unstable_verf);
      EXPECT_EQ(VerifierOf(stable.WRITE3res_u.resok.verf), unstable_verf);
      EXPECT_EQ(VerifierOf(again.WRITE3res_u.resok.verf), unstable_verf);
      run.verifier = unstable_verf;
    }
    server->Signal(SIGTERM);
    run.exit_code = server->Wait();
    run.stderr_text = server->Stderr();
  }
  EXPECT_NE(runs[0].verifier, runs[1].verifier) << "the write verifier did not change at restart";
  ExpectVaultHolds({{"verifier", "abcdefghi"}});
  for (const Run& run : runs) EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
}

}  // namespace
}  // namespace vaultnfs::testing
