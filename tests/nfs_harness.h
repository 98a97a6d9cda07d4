// Integration-test harness: a vaultnfs server running in this process on
// an ephemeral loopback port, and libnfs clients connected to it.
//
// TestServer owns the vault, the export and the server thread; it can be
// stopped and started again on the same vault (a restart keeps the vault
// directory and must keep handles valid). NfsClient wraps libnfs's sync
// API with a mount of "/" and RAII cleanup; raw() gives the rpc_context
// for procedure-level calls through libnfs-raw.
#pragma once

#include <nfsc/libnfs.h>

#include <memory>
#include <string>
#include <thread>

#include "server/export.h"
#include "server/nfs_server.h"
#include "vaultcore/vault.h"

struct rpc_context;

namespace vaultnfs::testing {

struct TestServerOptions {
  bool insecure = true;  // libnfs as non-root uses unprivileged ports
  bool read_only = false;
  server::WriteBackBuffer::Options write_back;
  std::vector<uint32_t> allowed_uids;
  uint32_t owner_uid = 0;  // reported owner; default: the test's uid
};

class TestServer {
 public:
  // Opens the vault in `vault_path` with `password` and starts serving.
  TestServer(std::string vault_path, std::string password, TestServerOptions options = {});
  ~TestServer();  // Stop()

  // Stops like SIGTERM does: finishes calls, flushes the write-back buffer.
  void Stop();
  // Stop() then serve the same vault again (a new write verifier).
  void Restart();

  uint16_t port() const { return port_; }
  // "nfs://127.0.0.1/?version=3&nfsport=P&mountport=P"
  std::string Url(const std::string& path = "/") const;
  server::Export& exp() { return *export_; }
  const server::ProcedureStats& procedure_stats() const { return server_->procedure_stats(); }
  vaultcore::Vault& vault() { return *vault_; }
  const std::string& vault_path() const { return vault_path_; }

 private:
  void Start();

  const std::string vault_path_;
  const std::string password_;
  const TestServerOptions options_;
  std::unique_ptr<vaultcore::Vault> vault_;
  std::unique_ptr<server::Export> export_;
  std::unique_ptr<server::NfsServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

class NfsClient {
 public:
  // Mounts "/" (or `export_path`) of `server`; check ok() before use.
  explicit NfsClient(const TestServer& server, const std::string& export_path = "/");
  ~NfsClient();
  NfsClient(const NfsClient&) = delete;
  NfsClient& operator=(const NfsClient&) = delete;

  bool ok() const { return mounted_; }
  std::string error() const;
  nfs_context* get() { return nfs_; }
  rpc_context* raw();

  // Whole-file helpers; they report failures with the libnfs error text.
  int WriteFile(const std::string& path, const std::string& content, int mode = 0644);
  int ReadFile(const std::string& path, std::string* content);

 private:
  nfs_context* nfs_ = nullptr;
  bool mounted_ = false;
};

}  // namespace vaultnfs::testing
