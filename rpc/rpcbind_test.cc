// Registers made-up programs with the machine's real rpcbind (started here if
// it is not running) and reads them back through libtirpc's own client code:
// pmap_getport for the portmap v2 view, rpcb_getmaps for the v3/v4 view.
// Each test uses its own program number, so the tests can run in parallel.
#include "rpc/rpcbind.h"

// libtirpc's <rpc/...>, not ours: see rpc/CMakeLists.txt.
#include <rpc/pmap_clnt.h>
#include <rpc/rpc.h>
#include <rpc/rpcb_clnt.h>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <utility>

// libtirpc 1.3 leaks a few bytes per call in two functions only these tests
// use to check rpcbind's state: pmap_set (the netbuf from uaddr2taddr) and
// rpcb_getmaps. They are suppressed by name, so that a leak in our own use of
// libtirpc still fails the test; libtirpc has no frame pointers, hence the
// slow unwinder, without which the names are not on the recorded stacks.
extern "C" const char* __asan_default_options() {  // NOLINT(bugprone-reserved-identifier)
  return "fast_unwind_on_malloc=0";
}
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "leak:pmap_set\nleak:rpcb_getmaps\n";
}

namespace rpc {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

bool RpcbindAnswers() {
  sockaddr_un addr{};
  addr.sun_family = AF_LOCAL;
  const std::string path = RpcbindOptions().local_socket;
  path.copy(addr.sun_path, path.size());
  const int fd = socket(AF_LOCAL, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool up = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return up;
}

// Starts rpcbind when it is not running. Without systemd (containers) the
// daemon is started by hand and forks into the background; it is left
// running afterwards, as other tests and the server may need it. Returns why
// rpcbind cannot run here, or "" when it answers.
std::string EnsureRpcbind() {
  if (RpcbindAnswers()) return "";
  std::string binary;
  for (const char* candidate : {"/usr/sbin/rpcbind", "/sbin/rpcbind"}) {
    if (binary.empty() && access(candidate, X_OK) == 0) binary = candidate;
  }
  if (binary.empty()) return "rpcbind is not installed (apt-get install rpcbind)";
  if (geteuid() != 0) return "rpcbind is not running and only root can start it";
  // -w: warm start from the state a previous instance saved. No stdio, so
  // the daemon holds none of ctest's pipes open. A concurrent test may start
  // one at the same moment; the loser exits, hence no check of the status.
  (void)std::system((binary + " -w </dev/null >/dev/null 2>&1").c_str());
  for (int i = 0; i < 50 && !RpcbindAnswers(); ++i) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  return RpcbindAnswers() ? "" : binary + " -w was started but does not answer";
}

uint16_t PortmapPort(uint32_t program, uint32_t version, int protocol = IPPROTO_TCP) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return pmap_getport(&addr, program, version, protocol);
}

// The (netid, universal address, owner) entries rpcbind holds for the
// program and version, from the rpcbind v3 dump.
std::set<std::string> Entries(uint32_t program, uint32_t version) {
  netconfig* tcp = getnetconfigent("tcp");
  rpcblist* list = rpcb_getmaps(tcp, "127.0.0.1");
  std::set<std::string> out;
  for (rpcblist* e = list; e != nullptr; e = e->rpcb_next) {
    if (e->rpcb_map.r_prog == program && e->rpcb_map.r_vers == version) {
      out.insert(std::string(e->rpcb_map.r_netid) + " " + e->rpcb_map.r_addr + " " +
                 e->rpcb_map.r_owner);
    }
  }
  xdr_free(reinterpret_cast<xdrproc_t>(xdr_rpcblist_ptr), reinterpret_cast<char*>(&list));
  freenetconfigent(tcp);
  return out;
}

class RpcbindTest : public testing::Test {
 protected:
  void SetUp() override {
    const std::string why_not = EnsureRpcbind();
    if (!why_not.empty()) GTEST_SKIP() << why_not;
  }
};

TEST_F(RpcbindTest, RegistersBothNetidsAndUnregisters) {
  const RpcbindMapping mapping{0x20000099, 3, 40001, true};
  ASSERT_TRUE(RegisterWithRpcbind({&mapping, 1}).ok());
  EXPECT_EQ(PortmapPort(mapping.program, 3), 40001);
  const std::string owner = geteuid() == 0 ? "superuser" : std::to_string(geteuid());
  EXPECT_EQ(Entries(mapping.program, 3),
            (std::set<std::string>{"tcp 0.0.0.0.156.65 " + owner, "tcp6 ::.156.65 " + owner}));

  UnregisterFromRpcbind({&mapping, 1});
  EXPECT_EQ(PortmapPort(mapping.program, 3), 0);
  EXPECT_TRUE(Entries(mapping.program, 3).empty());
}

TEST_F(RpcbindTest, RegistersSeveralMappingsIpv4Only) {
  const RpcbindMapping mappings[] = {{0x2000009a, 3, 40002}, {0x2000009b, 1, 40003}};
  ASSERT_TRUE(RegisterWithRpcbind(mappings).ok());
  EXPECT_EQ(PortmapPort(0x2000009a, 3), 40002);
  EXPECT_EQ(PortmapPort(0x2000009b, 1), 40003);
  EXPECT_EQ(Entries(0x2000009a, 3).size(), 1u);  // no tcp6

  UnregisterFromRpcbind(mappings);
  EXPECT_EQ(PortmapPort(0x2000009a, 3), 0);
  EXPECT_EQ(PortmapPort(0x2000009b, 1), 0);
}

TEST_F(RpcbindTest, ReplacesStaleEntriesOfAnyTransport) {
  constexpr uint32_t kProgram = 0x2000009c;
  // What a crashed earlier run, or another server, left behind; pmap_set
  // goes through libtirpc's own client.
  ASSERT_TRUE(pmap_set(kProgram, 3, IPPROTO_TCP, 40004));
  ASSERT_TRUE(pmap_set(kProgram, 3, IPPROTO_UDP, 40004));
  ASSERT_EQ(PortmapPort(kProgram, 3), 40004);

  const RpcbindMapping mapping{kProgram, 3, 40005};
  ASSERT_TRUE(RegisterWithRpcbind({&mapping, 1}).ok());
  EXPECT_EQ(PortmapPort(kProgram, 3), 40005);
  EXPECT_EQ(PortmapPort(kProgram, 3, IPPROTO_UDP), 0);  // we serve TCP only

  // Registering again (a restart without a clean shutdown) replaces ours.
  const RpcbindMapping moved{kProgram, 3, 40006};
  ASSERT_TRUE(RegisterWithRpcbind({&moved, 1}).ok());
  EXPECT_EQ(PortmapPort(kProgram, 3), 40006);
  UnregisterFromRpcbind({&moved, 1});
  EXPECT_EQ(PortmapPort(kProgram, 3), 0);
}

TEST_F(RpcbindTest, ReachesRpcbindOverLoopbackTcpWithoutTheSocket) {
  const RpcbindMapping mapping{0x2000009d, 3, 40007};
  RpcbindOptions options;
  options.local_socket = "/nonexistent/rpcbind.sock";
  ASSERT_TRUE(RegisterWithRpcbind({&mapping, 1}, options).ok());
  EXPECT_EQ(PortmapPort(mapping.program, 3), 40007);
  UnregisterFromRpcbind({&mapping, 1}, options);
  EXPECT_EQ(PortmapPort(mapping.program, 3), 0);
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released),
// or 0 (no TCP attempt at all) should that fail.
uint16_t ClosedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool bound = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  return bound ? ntohs(addr.sin_port) : 0;
}

// These need no rpcbind: they point the client at addresses without one.
TEST(RpcbindUnreachableTest, SaysRpcbindIsNotRunningAndHowToStartIt) {
  RpcbindOptions options;
  options.local_socket = testing::TempDir() + "/no-rpcbind.sock";
  options.loopback_port = ClosedLoopbackPort();
  const RpcbindMapping mapping{0x2000009e, 3, 40008};
  const auto start = steady_clock::now();
  const vaultcore::Status status = RegisterWithRpcbind({&mapping, 1}, options);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("rpcbind is not running"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("systemctl start rpcbind"), std::string::npos);
  EXPECT_NE(status.message().find("no-rpcbind.sock: No such file or directory"), std::string::npos)
      << status.message();
  UnregisterFromRpcbind({&mapping, 1}, options);  // returns, quietly
}

// An rpcbind that accepts the connection and never answers (stopped, or
// wedged) costs the timeout, not a hang.
TEST(RpcbindUnreachableTest, GivesUpOnASilentRpcbindAtTheTimeout) {
  const std::string path = testing::TempDir() + "/silent-rpcbind-" + std::to_string(getpid());
  sockaddr_un addr{};
  addr.sun_family = AF_LOCAL;
  path.copy(addr.sun_path, path.size());
  std::filesystem::remove(path);
  const int listener = socket(AF_LOCAL, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);  // the kernel completes connections; nobody reads

  RpcbindOptions options;
  options.local_socket = path;
  options.timeout = milliseconds(300);
  const RpcbindMapping mapping{0x2000009f, 3, 40009};
  auto start = steady_clock::now();
  const vaultcore::Status status = RegisterWithRpcbind({&mapping, 1}, options);
  const auto took = steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(2000));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("did not answer in time"), std::string::npos) << status.message();

  start = steady_clock::now();
  UnregisterFromRpcbind({&mapping, 1}, options);
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
  close(listener);
  std::filesystem::remove(path);
}

TEST(RpcbindUnreachableTest, NothingToRegisterNeedsNoRpcbind) {
  RpcbindOptions options;
  options.local_socket = "/nonexistent/rpcbind.sock";
  options.loopback_port = 0;
  EXPECT_TRUE(RegisterWithRpcbind({}, options).ok());
}

}  // namespace
}  // namespace rpc
