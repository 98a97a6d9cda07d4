#include "rpc/rpcbind.h"

// libtirpc's <rpc/...>, not ours: see rpc/CMakeLists.txt.
#include <rpc/rpc.h>
#include <rpc/rpcb_prot.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>
#include <system_error>
#include <vector>

namespace rpc {
namespace {

using Clock = std::chrono::steady_clock;
using vaultcore::Errc;
using vaultcore::Status;

constexpr char kStartHint[] =
    "rpcbind is not running; start it with `systemctl start rpcbind`, or where there is no "
    "systemd by running `rpcbind` as root";

std::string ErrnoText(int err) { return std::generic_category().message(err); }

int MillisLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX));
}

// Connects a stream socket to `addr` by `deadline`. Returns a blocking
// descriptor (clnt_vc does its own polling), or -1 with errno set.
int ConnectBy(const sockaddr* addr, socklen_t len, Clock::time_point deadline) {
  const int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int err = 0;
  if (connect(fd, addr, len) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      int n = 0;
      while ((n = poll(&pfd, 1, MillisLeft(deadline))) < 0 && errno == EINTR) {
      }
      socklen_t err_len = sizeof err;
      if (n == 0) {
        err = ETIMEDOUT;
      } else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) {
        err = errno;
      }
    }
  }
  if (err == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) err = errno;
  if (err != 0) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// clnt_vc sends with write(2), which raises SIGPIPE when rpcbind has gone
// away in the meantime, and SIGPIPE kills a process that did not ignore it.
// Blocks the signal in this thread for the guard's lifetime and discards one
// raised meanwhile.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_mask_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec no_wait{};
      sigtimedwait(&pipe_, nullptr, &no_wait);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

// A libtirpc client handle on one connection to rpcbind.
class RpcbindClient {
 public:
  RpcbindClient() = default;
  ~RpcbindClient() {
    if (client_ != nullptr) clnt_destroy(client_);  // closes the socket too
  }
  RpcbindClient(const RpcbindClient&) = delete;
  RpcbindClient& operator=(const RpcbindClient&) = delete;

  Status Open(const RpcbindOptions& options, Clock::time_point deadline);

  // Sends RPCBPROC_SET or RPCBPROC_UNSET; `*answer` is rpcbind's verdict.
  Status Call(rpcproc_t procedure, uint32_t program, uint32_t version, std::string netid,
              std::string universal_address, Clock::time_point deadline, bool* answer);

 private:
  Status Attach(int fd, const sockaddr* addr, socklen_t len);

  CLIENT* client_ = nullptr;
  std::string where_;  // names rpcbind's address in messages
};

Status RpcbindClient::Open(const RpcbindOptions& options, Clock::time_point deadline) {
  sockaddr_un local{};
  local.sun_family = AF_LOCAL;
  if (options.local_socket.size() >= sizeof local.sun_path) {
    return Status(Errc::kInvalidArgument, "rpcbind socket path too long: " + options.local_socket);
  }
  options.local_socket.copy(local.sun_path, options.local_socket.size());
  where_ = options.local_socket;
  const auto* local_addr = reinterpret_cast<const sockaddr*>(&local);
  int fd = ConnectBy(local_addr, sizeof local, deadline);
  if (fd >= 0) return Attach(fd, local_addr, sizeof local);

  // A missing socket or one nobody listens on means no rpcbind there; any
  // other failure (a timeout, a permission) is reported as it is.
  int err = errno;
  std::string tried = options.local_socket + ": " + ErrnoText(err);
  if (err != ENOENT && err != ECONNREFUSED) {
    return Status(Errc::kIo, "cannot reach rpcbind (" + tried + ")");
  }
  if (options.loopback_port != 0) {
    sockaddr_in loopback{};
    loopback.sin_family = AF_INET;
    loopback.sin_port = htons(options.loopback_port);
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    where_ = "127.0.0.1:" + std::to_string(options.loopback_port);
    const auto* loopback_addr = reinterpret_cast<const sockaddr*>(&loopback);
    fd = ConnectBy(loopback_addr, sizeof loopback, deadline);
    if (fd >= 0) return Attach(fd, loopback_addr, sizeof loopback);
    err = errno;
    tried += "; " + where_ + ": " + ErrnoText(err);
    if (err != ECONNREFUSED) return Status(Errc::kIo, "cannot reach rpcbind (" + tried + ")");
  }
  return Status(Errc::kIo, std::string(kStartHint) + " (" + tried + ")");
}

Status RpcbindClient::Attach(int fd, const sockaddr* addr, socklen_t len) {
  netbuf server{len, len, const_cast<sockaddr*>(addr)};
  client_ = clnt_vc_create(fd, &server, RPCBPROG, RPCBVERS4, 0, 0);
  if (client_ == nullptr) {
    close(fd);
    return Status(Errc::kIo, "cannot talk to rpcbind at " + where_ + ": " +
                                 clnt_spcreateerror("clnt_vc_create"));
  }
  clnt_control(client_, CLSET_FD_CLOSE, nullptr);
  return Status::Ok();
}

Status RpcbindClient::Call(rpcproc_t procedure, uint32_t program, uint32_t version,
                           std::string netid, std::string universal_address,
                           Clock::time_point deadline, bool* answer) {
  const int millis = MillisLeft(deadline);
  if (millis > 0) {
    // rpcbind takes the owner from the AF_LOCAL peer credentials and ignores
    // this field; libtirpc sends the uid as well.
    std::string owner = std::to_string(geteuid());
    RPCB params{program, version, netid.data(), universal_address.data(), owner.data()};
    bool_t result = FALSE;
    const timeval timeout{millis / 1000, (millis % 1000) * 1000};
    const clnt_stat stat = clnt_call(
        client_, procedure, reinterpret_cast<xdrproc_t>(xdr_rpcb), reinterpret_cast<char*>(&params),
        reinterpret_cast<xdrproc_t>(xdr_bool), reinterpret_cast<char*>(&result), timeout);
    if (stat == RPC_SUCCESS) {
      *answer = result != FALSE;
      return Status::Ok();
    }
    if (stat != RPC_TIMEDOUT) {
      return Status(Errc::kIo, "rpcbind at " + where_ + ": " + clnt_sperrno(stat));
    }
  }
  return Status(Errc::kIo, "rpcbind at " + where_ + " did not answer in time");
}

std::vector<std::string> Netids(const RpcbindMapping& mapping) {
  if (mapping.ipv6) return {"tcp", "tcp6"};
  return {"tcp"};
}

// RFC 1833 universal address of `port` on every local address: rpcbind
// replaces the wildcard with the address each client reached it on.
std::string UniversalAddress(const std::string& netid, uint16_t port) {
  return (netid == "tcp6" ? "::." : "0.0.0.0.") + std::to_string(port >> 8) + "." +
         std::to_string(port & 0xff);
}

std::string Describe(const RpcbindMapping& mapping, const std::string& netid) {
  return "program " + std::to_string(mapping.program) + " version " +
         std::to_string(mapping.version) + " (" + netid + ", port " + std::to_string(mapping.port) +
         ")";
}

struct Registered {
  const RpcbindMapping* mapping;
  std::string netid;
};

}  // namespace

Status RegisterWithRpcbind(std::span<const RpcbindMapping> mappings,
                           const RpcbindOptions& options) {
  if (mappings.empty()) return Status::Ok();
  const auto deadline = Clock::now() + options.timeout;
  SigpipeGuard no_sigpipe;
  RpcbindClient rpcbind;
  if (Status s = rpcbind.Open(options, deadline); !s.ok()) return s;

  // An empty netid unsets every transport. The answer is false both when
  // there was nothing to remove and when the entry belongs to another user;
  // the latter surfaces as a refused SET below.
  for (const RpcbindMapping& m : mappings) {
    bool removed = false;
    Status s = rpcbind.Call(RPCBPROC_UNSET, m.program, m.version, "", "", deadline, &removed);
    if (!s.ok()) return s;
  }

  std::vector<Registered> done;
  for (const RpcbindMapping& m : mappings) {
    for (const std::string& netid : Netids(m)) {
      bool set = false;
      Status s = rpcbind.Call(RPCBPROC_SET, m.program, m.version, netid,
                              UniversalAddress(netid, m.port), deadline, &set);
      if (s.ok() && !set) {
        s = Status(Errc::kPermission,
                   "rpcbind refused to register " + Describe(m, netid) +
                       ": it holds an entry for that program and version owned by another "
                       "user (another NFS server?); stop that server or run vaultnfs as root");
      }
      if (!s.ok()) {
        for (const Registered& r : done) {
          bool removed = false;
          if (!rpcbind
                   .Call(RPCBPROC_UNSET, r.mapping->program, r.mapping->version, r.netid, "",
                         deadline, &removed)
                   .ok()) {
            break;
          }
        }
        return s;
      }
      done.push_back({&m, netid});
    }
  }
  return Status::Ok();
}

void UnregisterFromRpcbind(std::span<const RpcbindMapping> mappings,
                           const RpcbindOptions& options) {
  if (mappings.empty()) return;
  const auto deadline = Clock::now() + options.timeout;
  SigpipeGuard no_sigpipe;
  RpcbindClient rpcbind;
  if (!rpcbind.Open(options, deadline).ok()) return;
  for (const RpcbindMapping& m : mappings) {
    for (const std::string& netid : Netids(m)) {
      bool removed = false;
      if (!rpcbind.Call(RPCBPROC_UNSET, m.program, m.version, netid, "", deadline, &removed).ok()) {
        return;
      }
    }
  }
}

}  // namespace rpc
