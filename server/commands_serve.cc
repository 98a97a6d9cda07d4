// `vaultnfs serve`: unlocks a vault and serves it over NFSv3 until SIGINT or
// SIGTERM, then writes out everything buffered before exiting. SIGUSR1 logs
// the calls answered so far.
#include <sys/stat.h>

#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "rpc/rpcbind.h"
#include "server/commands.h"
#include "server/export.h"
#include "server/nfs_server.h"
#include "server/procedure_stats.h"
#include "server/procedures.h"
#include "vaultcore/log.h"

namespace vaultnfs::cli {

namespace po = boost::program_options;
using boost::asio::ip::tcp;

namespace {

constexpr uint16_t kDefaultPort = 2049;

// "ADDR:PORT", "[V6ADDR]:PORT" or "ADDR" (port 2049).
std::optional<tcp::endpoint> ParseEndpoint(std::string_view text) {
  std::string host(text);
  uint16_t port = kDefaultPort;
  const size_t colon = text.rfind(':');
  const bool bracketed = text.starts_with('[');
  if (colon != std::string_view::npos &&
      (bracketed ? text[colon - 1] == ']' : text.find(':') == colon)) {
    host = std::string(text.substr(0, colon));
    const std::string port_text(text.substr(colon + 1));
    char* end = nullptr;
    const unsigned long value = std::strtoul(port_text.c_str(), &end, 10);
    if (port_text.empty() || *end != '\0' || value > 65535) return std::nullopt;
    port = static_cast<uint16_t>(value);
  }
  if (bracketed) {
    if (!host.ends_with(']')) return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code error;
  const auto address = boost::asio::ip::make_address(host, error);
  if (error) return std::nullopt;
  return tcp::endpoint(address, port);
}

std::optional<vaultcore::LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return vaultcore::LogLevel::kDebug;
  if (text == "info") return vaultcore::LogLevel::kInfo;
  if (text == "warning") return vaultcore::LogLevel::kWarning;
  if (text == "error") return vaultcore::LogLevel::kError;
  return std::nullopt;
}

void PrintMountCommands(const tcp::endpoint& endpoint, bool insecure, bool registered) {
  const std::string host = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                      : endpoint.address().to_string();
  const std::string port = std::to_string(endpoint.port());
  const std::string ports = "port=" + port + ",mountport=" + port;
  std::printf(
      "Mount it with:\n"
      "  Linux:  sudo mount -t nfs -o vers=3,tcp,%s,nolock %s:/ /mnt/vault\n"
      "  macOS:  sudo mount -t nfs -o vers=3,tcp,%s,locallocks%s %s:/ /Volumes/vault\n"
      "  Docker: docker volume create --driver local --opt type=nfs "
      "--opt o=addr=%s,vers=3,tcp,%s,nolock --opt device=:/ vault\n"
      "  libnfs: nfs://%s/?version=3&nfsport=%s&mountport=%s%s\n",
      ports.c_str(), host.c_str(), ports.c_str(), insecure ? "" : ",resvport", host.c_str(),
      endpoint.address().to_string().c_str(), ports.c_str(), host.c_str(), port.c_str(),
      port.c_str(), insecure ? "" : "  (as root, or serve with --insecure)");
  if (registered) {
    std::printf(
        "  Linux, through rpcbind: sudo mount -t nfs -o vers=3,tcp,nolock %s:/ /mnt/vault\n",
        host.c_str());
  }
  std::fflush(stdout);
}

void LogProcedureStats(const server::NfsServer& nfs, std::string_view since) {
  const auto rows = nfs.procedure_stats().Snapshot();
  for (const std::string& line : server::FormatProcedureStats(rows, since)) {
    vaultcore::Log(vaultcore::LogLevel::kInfo, line);
  }
}

// Logs the report on every SIGUSR1 until `signals` is cancelled.
void ReportOnSignal(boost::asio::signal_set& signals, const server::NfsServer& nfs) {
  signals.async_wait([&signals, &nfs](const boost::system::error_code& error, int) {
    if (error) return;
    LogProcedureStats(nfs, "so far");
    ReportOnSignal(signals, nfs);
  });
}

}  // namespace

int RunServe(const Invocation& invocation) {
  po::options_description own("Serve options");
  own.add_options()("listen", po::value<std::vector<std::string>>()->value_name("ADDR:PORT"),
                    "listen here (repeatable; default 127.0.0.1:2049 and [::1]:2049; port 0 "
                    "picks a free port)")(
      "allow", po::value<std::vector<std::string>>()->value_name("CIDR"),
      "also accept clients from this network (needed to listen beyond loopback)")(
      "read-only", po::bool_switch(), "refuse every change")(
      "register", po::bool_switch(),
      "register NFS and MOUNT with the local rpcbind, so clients need no port options")(
      "insecure", po::bool_switch(),
      "accept clients on unprivileged source ports (>= 1024): libnfs as non-root, macOS "
      "without resvport")("allow-uid", po::value<std::vector<uint32_t>>()->value_name("UID"),
                          "also accept calls from this uid (besides root and the vault owner)")(
      "uid", po::value<uint32_t>()->value_name("UID"),
      "owner every file shows (default: the vault directory's owner)")(
      "gid", po::value<uint32_t>()->value_name("GID"),
      "group every file shows (default: the vault directory's group)")(
      "workers", po::value<unsigned>()->default_value(0)->value_name("N"),
      "threads for reads, writes and changes (0: one per core)")(
      "write-back-mib", po::value<size_t>()->default_value(16)->value_name("MIB"),
      "memory for UNSTABLE writes awaiting COMMIT")(
      "attr-cache-ms", po::value<uint32_t>()->default_value(1000)->value_name("MS"),
      "reuse attributes, and data read ahead, this long while nothing changed here; what "
      "a change made outside the server (a sync client) may take to show; 0: never")(
      "log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"),
      "debug, info, warning or error");
  ParsedArgs args;
  if (auto rc = ParseArgs(invocation, own, 1, 1, &args)) return *rc;
  const po::variables_map& vm = args.options;
  const Command* command = invocation.command;

  auto level = ParseLogLevel(vm["log-level"].as<std::string>());
  if (!level) return UsageError(command, "--log-level must be debug, info, warning or error");
  vaultcore::SetLogLevel(*level);

  server::ServerOptions server_options;
  bool beyond_loopback = false;
  if (vm.count("listen") != 0) {
    for (const std::string& text : vm["listen"].as<std::vector<std::string>>()) {
      auto endpoint = ParseEndpoint(text);
      if (!endpoint) return UsageError(command, "--listen " + text + " is not ADDR:PORT");
      if (!server::IsLoopback(endpoint->address())) beyond_loopback = true;
      server_options.listen.push_back(*endpoint);
    }
  } else {
    server_options.listen.emplace_back(boost::asio::ip::make_address("127.0.0.1"), kDefaultPort);
    server_options.listen_if_available.emplace_back(boost::asio::ip::make_address("::1"),
                                                    kDefaultPort);
  }
  if (vm.count("allow") != 0) {
    for (const std::string& text : vm["allow"].as<std::vector<std::string>>()) {
      auto network = server::ParseNetwork(text);
      if (!network) return UsageError(command, "--allow " + text + " is not ADDR/LENGTH");
      server_options.allow.push_back(*network);
    }
  }
  if (beyond_loopback && server_options.allow.empty()) {
    return UsageError(command,
                      "listening beyond loopback serves the decrypted vault to the network; "
                      "name the clients allowed with --allow CIDR");
  }
  server_options.dispatch.insecure = vm["insecure"].as<bool>();
  server_options.worker_threads = vm["workers"].as<unsigned>();

  const std::string& path = args.positional[0];
  if (int rc = CheckVaultDirectory(path); rc != kExitOk) return rc;
  struct stat vault_stat {};
  stat(path.c_str(), &vault_stat);

  std::unique_ptr<vaultcore::Vault> vault;
  if (int rc = OpenVault(args, path, vm["read-only"].as<bool>(), &vault); rc != kExitOk) {
    return rc;
  }
  server::ExportOptions export_options;
  export_options.read_only = vm["read-only"].as<bool>();
  export_options.owner_uid = vm.count("uid") != 0 ? vm["uid"].as<uint32_t>() : vault_stat.st_uid;
  export_options.owner_gid = vm.count("gid") != 0 ? vm["gid"].as<uint32_t>() : vault_stat.st_gid;
  if (vm.count("allow-uid") != 0) {
    export_options.allowed_uids = vm["allow-uid"].as<std::vector<uint32_t>>();
  }
  export_options.write_back.max_bytes = vm["write-back-mib"].as<size_t>() << 20;
  export_options.attribute_cache_ttl =
      std::chrono::milliseconds(vm["attr-cache-ms"].as<uint32_t>());

  server::Export exp(*vault, export_options);
  auto nfs = std::make_unique<server::NfsServer>(exp, server_options);
  if (vaultcore::Status s = nfs->Listen(); !s.ok()) {
    return Fail(s, "serve",
                s.code() == vaultcore::Errc::kExists
                    ? "stop the other NFS server or pick another port with --listen"
                    : "");
  }
  const auto endpoints = nfs->endpoints();
  std::string where;
  for (const auto& e : endpoints) {
    where += (where.empty() ? "" : ", ") + e.address().to_string() + ":" + std::to_string(e.port());
  }
  vaultcore::Log(vaultcore::LogLevel::kInfo,
                 "serving " + vault->path() + " (NFSv3 and MOUNT v3) on " + where +
                     (export_options.read_only ? ", read-only" : "") +
                     (server_options.dispatch.insecure ? ", accepting unprivileged ports" : ""));
  // rpcbind maps a program to one port for all addresses: the first one.
  const uint16_t port = endpoints.front().port();
  const bool ipv6 = std::any_of(endpoints.begin(), endpoints.end(),
                                [](const tcp::endpoint& e) { return e.address().is_v6(); });
  const std::array mappings = {rpc::RpcbindMapping{server::nfs3::kProgram, 3, port, ipv6},
                               rpc::RpcbindMapping{server::mount3::kProgram, 3, port, ipv6}};
  const bool registered = vm["register"].as<bool>();
  if (registered) {
    if (vaultcore::Status s = rpc::RegisterWithRpcbind(mappings); !s.ok()) {
      return Fail(s, "registering with rpcbind", "start rpcbind, or serve without --register");
    }
    vaultcore::Log(vaultcore::LogLevel::kInfo,
                   "registered NFS and MOUNT on port " + std::to_string(port) + " with rpcbind");
  }
  PrintMountCommands(endpoints.front(), server_options.dispatch.insecure, registered);

  {
    // The signal sets live on the server's io_context, so they must go first.
    boost::asio::signal_set report_signals(nfs->io(), SIGUSR1);
    ReportOnSignal(report_signals, *nfs);
    boost::asio::signal_set signals(nfs->io(), SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;
      vaultcore::Log(vaultcore::LogLevel::kInfo,
                     std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
                         ": finishing calls in flight and writing out buffered data");
      report_signals.cancel();  // io().run() returns once nothing waits
      nfs->Stop();
    });
    nfs->Run();
  }
  LogProcedureStats(*nfs, "since the start");
  nfs.reset();  // waits for the workers
  if (registered) rpc::UnregisterFromRpcbind(mappings);
  vaultcore::Status flushed = exp.write_back().FlushAll(/*sync=*/true);
  if (!flushed.ok()) {
    return Fail(flushed, "writing out buffered data",
                "clients were told the data was not committed and will have to write it again");
  }
  vaultcore::Log(vaultcore::LogLevel::kInfo, "stopped; every write is on disk");
  return kExitOk;
}

}  // namespace vaultnfs::cli
