// The NFS server of one export: TCP listeners for NFS and MOUNT (one port
// serves both), the connections, the thread pools, and an orderly stop.
//
// Run() turns the calling thread into the I/O thread: it accepts, reads,
// decodes and answers metadata calls inline; READ, WRITE and tree changes
// run on `worker_threads` workers, whose thread-local buffers the vault's
// chunk crypto uses (a call's many chunks are shared out among the workers
// that are idle); COMMIT runs on `disk_wait_threads`, which mostly wait
// for fsync (on the workers where fsync costs nothing). Stop() may be
// called from any thread (or a signal handler posted to io()); Run()
// returns once every call in flight has finished. Flushing the write-back
// buffer is the caller's last step.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <unordered_map>
#include <vector>

#include "server/connection.h"
#include "server/dispatcher.h"
#include "server/export.h"
#include "server/network.h"
#include "server/pool_work_sharing.h"
#include "vaultcore/status.h"

namespace server {

struct ServerOptions {
  std::vector<boost::asio::ip::tcp::endpoint> listen;
  // Also listened on when the system has them (::1 where IPv6 is off is
  // not an error); a port of 0 takes the first listen endpoint's port.
  std::vector<boost::asio::ip::tcp::endpoint> listen_if_available;
  // Clients allowed besides loopback ones (--allow).
  std::vector<Network> allow;
  DispatchOptions dispatch;
  ConnectionLimits connection;
  size_t max_connections = 256;
  unsigned worker_threads = 0;  // 0: one per core, at least 2
  // As many COMMITs as wait on the disk at once (knfsd starts 8 threads).
  unsigned disk_wait_threads = 8;
};

class NfsServer {
 public:
  NfsServer(Export& exp, ServerOptions options);
  ~NfsServer();
  NfsServer(const NfsServer&) = delete;
  NfsServer& operator=(const NfsServer&) = delete;

  // Binds every listen endpoint (port 0 picks a free one).
  vaultcore::Status Listen();
  // The bound endpoints, with the ports actually chosen.
  std::vector<boost::asio::ip::tcp::endpoint> endpoints() const;

  void Run();
  void Stop();
  boost::asio::io_context& io() { return io_; }
  const ProcedureStats& procedure_stats() const { return dispatcher_.stats(); }

 private:
  void Accept(boost::asio::ip::tcp::acceptor& acceptor);
  vaultcore::Status Bind(const boost::asio::ip::tcp::endpoint& endpoint);
  bool IsAllowed(const boost::asio::ip::address& address) const;

  const ServerOptions options_;
  Dispatcher dispatcher_;
  ServerInFlight in_flight_;  // shared by the connections
  boost::asio::io_context io_;
  boost::asio::thread_pool workers_;
  boost::asio::thread_pool disk_waits_;
  PoolWorkSharing sharing_;  // with workers_
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
  bool stopping_ = false;
};

}  // namespace server
