#include "bench/nfs_client.h"

#include <poll.h>

#include <charconv>
#include <stdexcept>

namespace bench {
namespace {

constexpr int kPatienceMs = 60'000;

int ParsePort(std::string_view value, std::string_view url) {
  int port = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
  if (ec != std::errc() || end != value.data() + value.size() || port <= 0 || port > 65535) {
    throw std::runtime_error("bad port '" + std::string(value) + "' in " + std::string(url));
  }
  return port;
}

}  // namespace

Target Target::Parse(std::string_view url) {
  constexpr std::string_view kScheme = "nfs://";
  if (!url.starts_with(kScheme)) {
    throw std::runtime_error("the URL must start with nfs:// (got " + std::string(url) + ")");
  }
  Target target;
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const auto slash = rest.find('/');
  target.host = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    target.export_path = std::string(rest.substr(slash));
  }
  if (target.host.empty()) throw std::runtime_error("no host in " + std::string(url));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (key == "nfsport") {
      target.nfs_port = ParsePort(value, url);
    } else if (key == "mountport") {
      target.mount_port = ParsePort(value, url);
    } else if (key == "version" && value != "3") {
      throw std::runtime_error("only NFS version 3 is measured");
    }
  }
  if (target.mount_port == 0) target.mount_port = target.nfs_port;
  return target;
}

Connection::Connection(const std::string& host, int port) : rpc_(rpc_init_context()) {
  if (rpc_ == nullptr) throw std::runtime_error("libnfs: out of memory");
  bool done = false;
  int status = RPC_STATUS_ERROR;
  struct Wait {
    bool* done;
    int* status;
  } wait{&done, &status};
  const auto connected = [](rpc_context*, int s, void*, void* p) {
    auto* w = static_cast<Wait*>(p);
    *w->status = s;
    *w->done = true;
  };
  if (rpc_connect_async(rpc_, host.c_str(), port, connected, &wait) != 0) {
    const std::string error = rpc_get_error(rpc_);
    rpc_destroy_context(rpc_);
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + ": " + error);
  }
  ServiceUntil([&] { return done; });
  if (status != RPC_STATUS_SUCCESS) {
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + ": " +
                             LastError());
  }
}

Connection::~Connection() { rpc_destroy_context(rpc_); }

std::string Connection::LastError() const {
  const char* error = rpc_get_error(rpc_);
  return error != nullptr && *error != '\0' ? error : "connection failed";
}

void Connection::Deliver(rpc_context*, int status, void* result, void* pending) {
  auto* reply = static_cast<Reply*>(pending);
  (*reply)(status, status == RPC_STATUS_SUCCESS ? result : nullptr);
  delete reply;
}

void Connection::ServiceUntil(const std::function<bool()>& done) {
  Connection* self = this;
  while (!done()) ServiceAll(std::span<Connection* const>(&self, 1));
}

void ServiceAll(std::span<Connection* const> connections) {
  std::vector<pollfd> fds;
  fds.reserve(connections.size());
  for (Connection* c : connections) {
    fds.push_back({rpc_get_fd(c->rpc_), static_cast<short>(rpc_which_events(c->rpc_)), 0});
  }
  const int ready = poll(fds.data(), fds.size(), kPatienceMs);
  if (ready < 0) throw std::runtime_error("poll failed");
  if (ready == 0) throw std::runtime_error("the server did not answer for a minute");
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents != 0 && rpc_service(connections[i]->rpc_, fds[i].revents) < 0) {
      throw std::runtime_error("connection lost: " + connections[i]->LastError());
    }
  }
}

std::string StatusName(int nfsstat) {
  switch (nfsstat) {
    case NFS3ERR_PERM:
      return "NFS3ERR_PERM";
    case NFS3ERR_NOENT:
      return "NFS3ERR_NOENT";
    case NFS3ERR_IO:
      return "NFS3ERR_IO";
    case NFS3ERR_ACCES:
      return "NFS3ERR_ACCES";
    case NFS3ERR_EXIST:
      return "NFS3ERR_EXIST";
    case NFS3ERR_NOTDIR:
      return "NFS3ERR_NOTDIR";
    case NFS3ERR_ISDIR:
      return "NFS3ERR_ISDIR";
    case NFS3ERR_INVAL:
      return "NFS3ERR_INVAL";
    case NFS3ERR_NOSPC:
      return "NFS3ERR_NOSPC";
    case NFS3ERR_ROFS:
      return "NFS3ERR_ROFS";
    case NFS3ERR_NAMETOOLONG:
      return "NFS3ERR_NAMETOOLONG";
    case NFS3ERR_STALE:
      return "NFS3ERR_STALE";
    case NFS3ERR_BADHANDLE:
      return "NFS3ERR_BADHANDLE";
    case NFS3ERR_NOTSUPP:
      return "NFS3ERR_NOTSUPP";
    case NFS3ERR_SERVERFAULT:
      return "NFS3ERR_SERVERFAULT";
    case NFS3ERR_JUKEBOX:
      return "NFS3ERR_JUKEBOX";
    default:
      return "NFS status " + std::to_string(nfsstat);
  }
}

namespace {

// Runs one call to completion on `c` and hands its result to `use`, which
// returns the NFS status. Throws (outside libnfs's C frames) on a failure.
template <typename Args, typename Use>
void CallAndWait(Connection& c, int (*start)(rpc_context*, rpc_cb, Args*, void*), Args& args,
                 const std::string& what, Use use) {
  bool done = false;
  std::string failure;
  c.Call(start, args, [&](int status, void* result) {
    done = true;
    if (status != RPC_STATUS_SUCCESS) {
      failure = c.LastError();
    } else if (const int nfsstat = use(result); nfsstat != NFS3_OK) {
      failure = StatusName(nfsstat);
    }
  });
  c.ServiceUntil([&] { return done; });
  if (!failure.empty()) throw std::runtime_error(what + ": " + failure);
}

}  // namespace

Handle MountRoot(const Target& target) {
  Connection mount(target.host, target.mount_port);
  Handle root;
  char* path = const_cast<char*>(target.export_path.c_str());
  bool done = false;
  std::string failure;
  struct Wait {
    bool* done;
    Handle* root;
    std::string* failure;
  } wait{&done, &root, &failure};
  const auto mounted = [](rpc_context* rpc, int status, void* data, void* p) {
    auto* w = static_cast<Wait*>(p);
    *w->done = true;
    auto* res = static_cast<mountres3*>(data);
    if (status != RPC_STATUS_SUCCESS) {
      *w->failure = rpc_get_error(rpc);
    } else if (res->fhs_status != MNT3_OK) {
      *w->failure = "MNT status " + std::to_string(res->fhs_status);
    } else {
      const auto& fh = res->mountres3_u.mountinfo.fhandle;
      w->root->assign(fh.fhandle3_val, fh.fhandle3_val + fh.fhandle3_len);
    }
  };
  if (rpc_mount3_mnt_async(mount.rpc(), mounted, path, &wait) != 0) {
    throw std::runtime_error("MNT " + target.export_path + ": " + mount.LastError());
  }
  mount.ServiceUntil([&] { return done; });
  if (!failure.empty()) throw std::runtime_error("MNT " + target.export_path + ": " + failure);
  return root;
}

Handle Lookup(Connection& c, const Handle& dir, const std::string& name) {
  LOOKUP3args args{};
  args.what.dir = Fh(dir);
  args.what.name = const_cast<char*>(name.c_str());
  Handle found;
  CallAndWait(c, rpc_nfs3_lookup_async, args, "LOOKUP " + name, [&](void* result) {
    auto* res = static_cast<LOOKUP3res*>(result);
    if (res->status == NFS3_OK) found = FromFh(res->LOOKUP3res_u.resok.object);
    return res->status;
  });
  return found;
}

Handle MakeDirectory(Connection& c, const Handle& dir, const std::string& name) {
  MKDIR3args args{};
  args.where.dir = Fh(dir);
  args.where.name = const_cast<char*>(name.c_str());
  args.attributes.mode.set_it = 1;
  args.attributes.mode.set_mode3_u.mode = 0755;
  Handle made;
  bool exists = false;
  CallAndWait(c, rpc_nfs3_mkdir_async, args, "MKDIR " + name, [&](void* result) {
    auto* res = static_cast<MKDIR3res*>(result);
    if (res->status == NFS3ERR_EXIST) {
      exists = true;
      return static_cast<int>(NFS3_OK);
    }
    if (res->status == NFS3_OK && res->MKDIR3res_u.resok.obj.handle_follows) {
      made = FromFh(res->MKDIR3res_u.resok.obj.post_op_fh3_u.handle);
    }
    return static_cast<int>(res->status);
  });
  return exists || made.empty() ? Lookup(c, dir, name) : made;
}

}  // namespace bench
