// The benchmark's view of an NFSv3 server: a parsed nfs:// URL, and
// connections that carry any number of raw NFS calls at once (libnfs's RPC
// layer, no page cache or readahead of its own), serviced by one poll loop.
//
// A Connection owns its libnfs rpc_context. Arguments passed to Call are
// encoded before Call returns, so they may live on the caller's stack; the
// result handed to a Reply is freed by libnfs as soon as the Reply returns.
// Failures of setup steps throw std::runtime_error with a message for the
// user; failures of measured calls reach the Reply as a status.
#ifndef VAULTNFS_BENCH_NFS_CLIENT_H_
#define VAULTNFS_BENCH_NFS_CLIENT_H_

// libnfs.h defines what the raw headers need, so it comes first.
#include <nfsc/libnfs.h>
// (keep this block after libnfs.h)
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using Handle = std::vector<char>;

// nfs://HOST/EXPORT?nfsport=P&mountport=P (version=3 is implied; without
// ports, 2049 and the NFS port).
struct Target {
  std::string host;
  std::string export_path = "/";
  int nfs_port = 2049;
  int mount_port = 0;

  static Target Parse(std::string_view url);  // throws on a malformed URL
};

class Connection {
 public:
  // `status` is an RPC_STATUS_*; `result` is the decoded reply (the
  // procedure's *3res) when status is RPC_STATUS_SUCCESS, else null.
  using Reply = std::function<void(int status, void* result)>;

  // Connects to host:port; throws when it cannot.
  Connection(const std::string& host, int port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts one call, e.g. Call(rpc_nfs3_read_async, args, reply).
  template <typename Args>
  void Call(int (*start)(rpc_context*, rpc_cb, Args*, void*), Args& args, Reply reply) {
    Begin([&](void* pending) { return start(rpc_, &Connection::Deliver, &args, pending); },
          std::move(reply));
  }
  // Starts a call that takes no arguments: Call(rpc_nfs3_null_async, reply).
  void Call(int (*start)(rpc_context*, rpc_cb, void*), Reply reply) {
    Begin([&](void* pending) { return start(rpc_, &Connection::Deliver, pending); },
          std::move(reply));
  }

  // Calls started on this connection so far.
  uint64_t calls() const { return calls_; }

  // Services this connection until done() holds; throws if the connection
  // fails or nothing arrives for a minute.
  void ServiceUntil(const std::function<bool()>& done);

  rpc_context* rpc() { return rpc_; }
  std::string LastError() const;

 private:
  friend void ServiceAll(std::span<Connection* const> connections);
  static void Deliver(rpc_context*, int status, void* result, void* pending);

  // `send(pending)` hands the call to libnfs and returns its status; on a
  // failure the reply learns of it at once.
  template <typename Send>
  void Begin(Send send, Reply reply) {
    ++calls_;
    auto* pending = new Reply(std::move(reply));
    if (send(pending) != 0) {
      (*pending)(RPC_STATUS_ERROR, nullptr);
      delete pending;
    }
  }

  rpc_context* rpc_;
  uint64_t calls_ = 0;
};

// Waits (up to a minute) for any of `connections` and services them.
void ServiceAll(std::span<Connection* const> connections);

// NFS arguments take handles by non-const pointer; these never write them.
inline nfs_fh3 Fh(const Handle& h) {
  return nfs_fh3{{static_cast<u_int>(h.size()), const_cast<char*>(h.data())}};
}
inline Handle FromFh(const nfs_fh3& fh) {
  return Handle(fh.data.data_val, fh.data.data_val + fh.data.data_len);
}

// "NFS3ERR_NOENT" etc. for messages.
std::string StatusName(int nfsstat);

// Synchronous calls for setting up data; each throws with the procedure,
// name and status on failure.
Handle MountRoot(const Target& target);
Handle Lookup(Connection& c, const Handle& dir, const std::string& name);
// Creates `name` (or finds the directory that is already there).
Handle MakeDirectory(Connection& c, const Handle& dir, const std::string& name);

}  // namespace bench

#endif  // VAULTNFS_BENCH_NFS_CLIENT_H_
