// A quick libnfs run against vaultnfs: sequential 1 MiB WRITE and READ
// throughput, GETATTR and LOOKUP rates (one call at a time, and pipelined),
// and READDIRPLUS of the fixture vault's 1,000-entry directory.
//
// The server runs in this process on a copy of the `main` fixture vault
// (or pass --url nfs://host/?nfsport=P&mountport=P to measure another
// server). Every NFS figure is printed next to a baseline measured in the
// same run — the same bytes through vaultcore directly — because these
// machines are too noisy for absolute numbers to compare across runs.
//
//   build-release/bench/nfs_bench [--size-mib 256] [--seconds 3] [--url URL]
// libnfs.h defines what the raw headers need, so it comes first.
#include <nfsc/libnfs.h>
// (keep this block after libnfs.h)
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/export.h"
#include "server/nfs_server.h"
#include "tests/testing.h"
#include "vaultcore/vault.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "nfs_bench: %s\n", what.c_str());
  std::exit(1);
}

// One RPC connection used at the procedure level: MNT and NFS calls on the
// same port, any number in flight, serviced by poll().
class RawClient {
 public:
  RawClient(const std::string& host, int port) : rpc_(rpc_init_context()) {
    bool done = false;
    int status = -1;
    State state{&done, &status};
    if (rpc_connect_async(rpc_, host.c_str(), port, Callback, &state) != 0) {
      Die(std::string("connect: ") + rpc_get_error(rpc_));
    }
    Wait(done);
    if (status != RPC_STATUS_SUCCESS) Die("connect failed");
  }
  ~RawClient() { rpc_destroy_context(rpc_); }

  rpc_context* get() { return rpc_; }

  // Services the connection until `done` or an error.
  void Wait(const bool& done) {
    while (!done) ServiceOnce();
  }
  void ServiceOnce() {
    pollfd pfd{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
    if (poll(&pfd, 1, 10000) < 0) Die("poll");
    if (rpc_service(rpc_, pfd.revents) < 0) Die(std::string("rpc: ") + rpc_get_error(rpc_));
  }

  std::vector<char> Mount(const std::string& path) {
    bool done = false;
    std::vector<char> handle;
    struct Ctx {
      bool* done;
      std::vector<char>* handle;
    } ctx{&done, &handle};
    rpc_mount3_mnt_async(
        rpc_,
        [](rpc_context*, int status, void* data, void* p) {
          auto* c = static_cast<Ctx*>(p);
          auto* res = static_cast<mountres3*>(data);
          if (status == RPC_STATUS_SUCCESS && res->fhs_status == MNT3_OK) {
            const auto& fh = res->mountres3_u.mountinfo.fhandle;
            c->handle->assign(fh.fhandle3_val, fh.fhandle3_val + fh.fhandle3_len);
          }
          *c->done = true;
        },
        const_cast<char*>(path.c_str()), &ctx);
    Wait(done);
    if (handle.empty()) Die("MNT " + path + " failed");
    return handle;
  }

  std::vector<char> Lookup(const std::vector<char>& dir, const std::string& name) {
    bool done = false;
    std::vector<char> handle;
    struct Ctx {
      bool* done;
      std::vector<char>* handle;
    } ctx{&done, &handle};
    LOOKUP3args args{};
    args.what.dir.data.data_len = static_cast<u_int>(dir.size());
    args.what.dir.data.data_val = const_cast<char*>(dir.data());
    args.what.name = const_cast<char*>(name.c_str());
    rpc_nfs3_lookup_async(
        rpc_,
        [](rpc_context*, int status, void* data, void* p) {
          auto* c = static_cast<Ctx*>(p);
          auto* res = static_cast<LOOKUP3res*>(data);
          if (status == RPC_STATUS_SUCCESS && res->status == NFS3_OK) {
            const auto& fh = res->LOOKUP3res_u.resok.object.data;
            c->handle->assign(fh.data_val, fh.data_val + fh.data_len);
          }
          *c->done = true;
        },
        &args, &ctx);
    Wait(done);
    if (handle.empty()) Die("LOOKUP " + name + " failed");
    return handle;
  }

 private:
  struct State {
    bool* done;
    int* status;
  };
  static void Callback(rpc_context*, int status, void*, void* p) {
    auto* s = static_cast<State*>(p);
    *s->status = status;
    *s->done = true;
  }

  rpc_context* rpc_;
};

// Runs `issue` with up to `depth` calls outstanding for `seconds`; returns
// completed calls per second. `issue(done_counter)` must start one call
// whose callback increments *done_counter.
template <typename Issue>
double Pipelined(RawClient& client, int depth, double seconds, Issue issue) {
  uint64_t completed = 0;
  uint64_t issued = 0;
  const auto start = Clock::now();
  const auto stop =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < stop) {
    while (issued - completed < static_cast<uint64_t>(depth)) {
      issue(&completed);
      ++issued;
    }
    client.ServiceOnce();
  }
  while (completed < issued) client.ServiceOnce();
  return static_cast<double>(completed) / Seconds(Clock::now() - start);
}

void CountCallback(rpc_context*, int status, void*, void* p) {
  if (status != RPC_STATUS_SUCCESS) Die("call failed in pipeline");
  ++*static_cast<uint64_t*>(p);
}

struct Figures {
  double write_mib_s = 0;
  double read_mib_s = 0;
  double read_pipelined_mib_s = 0;
};

std::string Pattern(size_t size) {
  std::string data(size, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(data.data() + i, &x, std::min<size_t>(8, size - i));
  }
  return data;
}

int Run(int argc, char** argv) {
  size_t size_mib = 256;
  double seconds = 3;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--size-mib" && i + 1 < argc) {
      size_mib = std::stoul(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (arg == "--url" && i + 1 < argc) {
      url = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: nfs_bench [--size-mib N] [--seconds S] [--url nfs://HOST/?nfsport=P&"
                   "mountport=P]\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  const size_t size = size_mib << 20;

  // The server under test, unless --url names another.
  vaultnfs::testing::TempDir scratch;
  std::unique_ptr<vaultcore::Vault> vault;
  std::unique_ptr<server::Export> exp;
  std::unique_ptr<server::NfsServer> nfs;
  std::thread io;
  int port = 0;
  if (url.empty()) {
    const auto path = vaultnfs::testing::CopyFixtureVault("main", scratch);
    std::ifstream manifest(vaultnfs::testing::FixturesDir() / "vaults" / "main.json");
    const std::string password = nlohmann::json::parse(manifest).at("password");
    auto opened = vaultcore::Vault::Open(path.string(), password);
    if (!opened.ok()) Die(opened.status().ToString());
    vault = std::move(opened).value();
    server::ExportOptions export_options;
    export_options.owner_uid = getuid();
    export_options.owner_gid = getgid();
    exp = std::make_unique<server::Export>(*vault, export_options);
    server::ServerOptions options;
    options.listen.emplace_back(boost::asio::ip::make_address("127.0.0.1"), 0);
    options.dispatch.insecure = true;
    nfs = std::make_unique<server::NfsServer>(*exp, options);
    if (auto s = nfs->Listen(); !s.ok()) Die(s.ToString());
    port = nfs->endpoints().front().port();
    io = std::thread([&] { nfs->Run(); });
    url = "nfs://127.0.0.1/?version=3&nfsport=" + std::to_string(port) +
          "&mountport=" + std::to_string(port);
  } else {
    const auto at = url.find("nfsport=");
    if (at == std::string::npos) Die("--url needs nfsport=");
    port = std::stoi(url.substr(at + 8));
  }

  nfs_context* ctx = nfs_init_context();
  nfs_set_dircache(ctx, 0);  // every listing must reach the server
  nfs_url* parsed = nfs_parse_url_dir(ctx, url.c_str());
  if (parsed == nullptr || nfs_mount(ctx, parsed->server, parsed->path) != 0) {
    Die(std::string("mount: ") + nfs_get_error(ctx));
  }
  const std::string host = parsed->server;
  nfs_destroy_url(parsed);

  const std::string data = Pattern(size);
  const size_t block = 1 << 20;
  Figures nfs_figures;
  {
    nfsfh* fh = nullptr;
    if (nfs_open2(ctx, "/bench.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh) != 0) {
      Die(std::string("create: ") + nfs_get_error(ctx));
    }
    const auto start = Clock::now();
    for (size_t off = 0; off < size; off += block) {
      if (nfs_pwrite(ctx, fh, off, block, data.data() + off) != static_cast<int>(block)) {
        Die(std::string("write: ") + nfs_get_error(ctx));
      }
    }
    if (nfs_fsync(ctx, fh) != 0) Die(std::string("commit: ") + nfs_get_error(ctx));
    nfs_figures.write_mib_s = static_cast<double>(size_mib) / Seconds(Clock::now() - start);
    nfs_close(ctx, fh);
  }
  {
    nfsfh* fh = nullptr;
    if (nfs_open(ctx, "/bench.bin", O_RDONLY, &fh) != 0) Die("open for read");
    std::string back(block, '\0');
    const auto start = Clock::now();
    for (size_t off = 0; off < size; off += block) {
      if (nfs_pread(ctx, fh, off, block, back.data()) != static_cast<int>(block)) {
        Die(std::string("read: ") + nfs_get_error(ctx));
      }
      if (std::memcmp(back.data(), data.data() + off, block) != 0) Die("read back wrong data");
    }
    nfs_figures.read_mib_s = static_cast<double>(size_mib) / Seconds(Clock::now() - start);
    nfs_close(ctx, fh);
  }

  RawClient raw(host, port);
  const std::vector<char> root = raw.Mount("/");
  const std::vector<char> file = raw.Lookup(root, "bench.bin");
  {
    // Eight 1 MiB READs in flight, as a kernel client's readahead keeps.
    READ3args args{};
    args.file.data.data_len = static_cast<u_int>(file.size());
    args.file.data.data_val = const_cast<char*>(file.data());
    args.count = block;
    uint64_t next = 0;
    const double calls = Pipelined(raw, 8, seconds, [&](uint64_t* done) {
      args.offset = (next++ % size_mib) * block;
      rpc_nfs3_read_async(raw.get(), CountCallback, &args, done);
    });
    nfs_figures.read_pipelined_mib_s = calls;  // one MiB per call
  }
  GETATTR3args getattr{};
  getattr.object.data.data_len = static_cast<u_int>(file.size());
  getattr.object.data.data_val = const_cast<char*>(file.data());
  const double getattr_serial = Pipelined(raw, 1, seconds, [&](uint64_t* done) {
    rpc_nfs3_getattr_async(raw.get(), CountCallback, &getattr, done);
  });
  const double getattr_pipelined = Pipelined(raw, 64, seconds, [&](uint64_t* done) {
    rpc_nfs3_getattr_async(raw.get(), CountCallback, &getattr, done);
  });
  const std::vector<char> many = raw.Lookup(root, "many");
  std::vector<std::string> names;
  {
    nfsdir* dir = nullptr;
    if (nfs_opendir(ctx, "/many", &dir) != 0) Die("opendir /many");
    while (nfsdirent* e = nfs_readdir(ctx, dir)) {
      if (std::strcmp(e->name, ".") != 0 && std::strcmp(e->name, "..") != 0) {
        names.emplace_back(e->name);
      }
    }
    nfs_closedir(ctx, dir);
  }
  if (names.size() != 1000) Die("/many has " + std::to_string(names.size()) + " entries");
  LOOKUP3args lookup{};
  lookup.what.dir.data.data_len = static_cast<u_int>(many.size());
  lookup.what.dir.data.data_val = const_cast<char*>(many.data());
  size_t which = 0;
  const double lookup_pipelined = Pipelined(raw, 64, seconds, [&](uint64_t* done) {
    lookup.what.name = const_cast<char*>(names[which++ % names.size()].c_str());
    rpc_nfs3_lookup_async(raw.get(), CountCallback, &lookup, done);
  });
  // Whole listings of /many through libnfs (READDIRPLUS pages of its size).
  int listings = 0;
  const auto list_start = Clock::now();
  while (Seconds(Clock::now() - list_start) < seconds || listings < 3) {
    nfsdir* dir = nullptr;
    if (nfs_opendir(ctx, "/many", &dir) != 0) Die("opendir /many");
    nfs_closedir(ctx, dir);
    ++listings;
  }
  const double listing_ms = Seconds(Clock::now() - list_start) * 1000 / listings;

  nfs_destroy_context(ctx);

  // Baseline: the same bytes through vaultcore in this process.
  Figures direct;
  if (vault) {
    auto entry = vault->CreateFile(vault->Root(), "baseline.bin", 0644);
    if (!entry.ok()) Die(entry.status().ToString());
    auto opened = vault->OpenFile(*entry);
    if (!opened.ok()) Die(opened.status().ToString());
    auto& f = **opened;
    auto start = Clock::now();
    for (size_t off = 0; off < size; off += block) {
      if (!f.Write(off, {reinterpret_cast<const uint8_t*>(data.data()) + off, block}).ok()) {
        Die("baseline write");
      }
    }
    if (!f.Sync().ok()) Die("baseline sync");
    direct.write_mib_s = static_cast<double>(size_mib) / Seconds(Clock::now() - start);
    std::vector<uint8_t> back(block);
    start = Clock::now();
    for (size_t off = 0; off < size; off += block) {
      if (!f.Read(off, back).ok()) Die("baseline read");
    }
    direct.read_mib_s = static_cast<double>(size_mib) / Seconds(Clock::now() - start);
  }

  std::printf("vaultnfs over libnfs, %zu MiB file, %.0f s per rate\n", size_mib, seconds);
  std::printf("  %-36s %10.1f MiB/s", "sequential WRITE 1 MiB + COMMIT", nfs_figures.write_mib_s);
  if (direct.write_mib_s > 0) {
    std::printf("   baseline vaultcore %8.1f MiB/s  ratio %.2f", direct.write_mib_s,
                nfs_figures.write_mib_s / direct.write_mib_s);
  }
  std::printf("\n  %-36s %10.1f MiB/s", "sequential READ 1 MiB (1 in flight)",
              nfs_figures.read_mib_s);
  if (direct.read_mib_s > 0) {
    std::printf("   baseline vaultcore %8.1f MiB/s  ratio %.2f", direct.read_mib_s,
                nfs_figures.read_mib_s / direct.read_mib_s);
  }
  std::printf("\n  %-36s %10.1f MiB/s", "READ 1 MiB, 8 in flight",
              nfs_figures.read_pipelined_mib_s);
  if (direct.read_mib_s > 0)
    std::printf("   ratio %.2f", nfs_figures.read_pipelined_mib_s / direct.read_mib_s);
  std::printf("\n  %-36s %10.0f /s\n", "GETATTR, 1 in flight", getattr_serial);
  std::printf("  %-36s %10.0f /s\n", "GETATTR, 64 in flight", getattr_pipelined);
  std::printf("  %-36s %10.0f /s\n", "LOOKUP in /many, 64 in flight", lookup_pipelined);
  std::printf("  %-36s %10.2f ms   (%d listings)\n", "READDIRPLUS /many (1,000 entries)",
              listing_ms, listings);

  if (nfs) {
    nfs->Stop();
    io.join();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nfs_bench: %s\n", e.what());
    return 1;
  }
}
