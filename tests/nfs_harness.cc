#include "tests/nfs_harness.h"

#include <fcntl.h>
#include <nfsc/libnfs-raw.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include <stdexcept>

namespace vaultnfs::testing {

TestServer::TestServer(std::string vault_path, std::string password, TestServerOptions options)
    : vault_path_(std::move(vault_path)),
      password_(std::move(password)),
      options_(std::move(options)) {
  Start();
}

TestServer::~TestServer() { Stop(); }

void TestServer::Start() {
  auto vault = vaultcore::Vault::Open(vault_path_, password_);
  if (!vault.ok()) throw std::runtime_error("open vault: " + vault.status().ToString());
  vault_ = std::move(vault).value();
  server::ExportOptions export_options;
  export_options.read_only = options_.read_only;
  export_options.owner_uid = options_.owner_uid != 0 ? options_.owner_uid : getuid();
  export_options.owner_gid = getgid();
  export_options.allowed_uids = options_.allowed_uids;
  export_options.write_back = options_.write_back;
  export_ = std::make_unique<server::Export>(*vault_, export_options);

  server::ServerOptions server_options;
  const uint16_t port = port_;  // a restart reuses the port, as a real server would
  server_options.listen.emplace_back(boost::asio::ip::make_address("127.0.0.1"), port);
  server_options.dispatch.insecure = options_.insecure;
  server_options.worker_threads = 4;
  server_ = std::make_unique<server::NfsServer>(*export_, server_options);
  auto listening = server_->Listen();
  if (!listening.ok()) throw std::runtime_error("listen: " + listening.ToString());
  port_ = server_->endpoints().front().port();
  thread_ = std::thread([this] { server_->Run(); });
}

void TestServer::Stop() {
  if (!server_) return;
  server_->Stop();
  thread_.join();
  server_.reset();
  (void)export_->write_back().FlushAll(/*sync=*/true);
  export_.reset();
  vault_.reset();
}

void TestServer::Restart() {
  Stop();
  Start();
}

std::string TestServer::Url(const std::string& path) const {
  const std::string p = std::to_string(port_);
  return "nfs://127.0.0.1" + path + "?version=3&nfsport=" + p + "&mountport=" + p;
}

NfsClient::NfsClient(const TestServer& server, const std::string& export_path) {
  nfs_ = nfs_init_context();
  if (nfs_ == nullptr) return;
  nfs_set_timeout(nfs_, 20000);
  nfs_url* url = nfs_parse_url_dir(nfs_, server.Url(export_path).c_str());
  if (url == nullptr) return;
  mounted_ = nfs_mount(nfs_, url->server, url->path) == 0;
  nfs_destroy_url(url);
}

NfsClient::~NfsClient() {
  if (nfs_ != nullptr) nfs_destroy_context(nfs_);
}

std::string NfsClient::error() const {
  const char* text = nfs_ == nullptr ? nullptr : nfs_get_error(nfs_);
  return text == nullptr ? "(no libnfs error)" : text;
}

rpc_context* NfsClient::raw() { return nfs_get_rpc_context(nfs_); }

int NfsClient::WriteFile(const std::string& path, const std::string& content, int mode) {
  nfsfh* fh = nullptr;
  int rc = nfs_open2(nfs_, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode, &fh);
  if (rc != 0) return rc;
  size_t done = 0;
  while (done < content.size()) {
    const size_t n = std::min<size_t>(content.size() - done, 1 << 20);
    rc = nfs_pwrite(nfs_, fh, done, n, content.data() + done);
    if (rc <= 0) break;
    done += static_cast<size_t>(rc);
  }
  const int closed = nfs_close(nfs_, fh);
  if (rc < 0) return rc;
  return closed;
}

int NfsClient::ReadFile(const std::string& path, std::string* content) {
  nfsfh* fh = nullptr;
  int rc = nfs_open(nfs_, path.c_str(), O_RDONLY, &fh);
  if (rc != 0) return rc;
  content->clear();
  std::string buffer(1 << 20, '\0');
  for (;;) {
    rc = nfs_pread(nfs_, fh, content->size(), buffer.size(), buffer.data());
    if (rc <= 0) break;
    content->append(buffer.data(), static_cast<size_t>(rc));
  }
  nfs_close(nfs_, fh);
  return rc < 0 ? rc : 0;
}

}  // namespace vaultnfs::testing
