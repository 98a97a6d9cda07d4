// vaultnfs-bench: measures an NFSv3 server (any, by URL) with many raw
// requests in flight through libnfs, every byte read checked. For each
// workload and --inflight: ops/s, MB/s, latency p50/p99/p99.9, errors, the
// NFS calls sent, its own CPU time (the client's) and (with --server-pid)
// the server's CPU time and peak RSS. Any error or data
// mismatch is printed and makes the exit status 1. With --rounds N every
// case runs N times and its median round is reported.
//
//   vaultnfs-bench 'nfs://127.0.0.1/?nfsport=2049&mountport=20048'
//       [--workloads seqread,getattr] [--inflight 1,8,32] [--seconds 5] [--rounds 3]
//       [--json out.json]
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "bench/process_usage.h"
#include "bench/workloads.h"

namespace {

namespace po = boost::program_options;
using bench::Measurement;

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> items;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// "64M", "1G", "4096".
uint64_t ParseSize(const std::string& text) {
  size_t used = 0;
  const uint64_t number = std::stoull(text, &used);
  const std::string suffix = text.substr(used);
  if (suffix.empty()) return number;
  if (suffix == "K" || suffix == "k") return number << 10;
  if (suffix == "M" || suffix == "m") return number << 20;
  if (suffix == "G" || suffix == "g") return number << 30;
  throw std::invalid_argument("bad size '" + text + "' (use a number with K, M or G)");
}

struct Server {
  std::string url;
  std::string label;
  int pid = 0;
  std::unique_ptr<bench::Session> session;
};

struct Result {
  std::string target;
  std::string workload;
  std::string parameter;
  int inflight = 0;
  Measurement m;
  std::optional<double> client_cpu_s;
  std::optional<double> server_cpu_s;
  std::optional<uint64_t> server_rss_kib;
  std::optional<uint64_t> server_peak_rss_kib;
  // With --rounds: each round's rates, in the order they ran; the rest of
  // the result is the median round's.
  std::vector<nlohmann::json> rounds;
};

nlohmann::json ToJson(const Result& r) {
  const double s = r.m.seconds > 0 ? r.m.seconds : 1;
  nlohmann::json j = {
      {"target", r.target},
      {"workload", r.workload},
      {"parameter", r.parameter},
      {"inflight", r.inflight},
      {"seconds", r.m.seconds},
      {"ops", r.m.ops},
      {"ops_per_s", static_cast<double>(r.m.ops) / s},
      {"mb_per_s", static_cast<double>(r.m.bytes) / s / 1e6},
      {"items_per_s", static_cast<double>(r.m.items) / s},
      {"p50_us", r.m.LatencyUs(0.5)},
      {"p99_us", r.m.LatencyUs(0.99)},
      {"p999_us", r.m.LatencyUs(0.999)},
      {"errors", r.m.errors},
      {"first_error", r.m.first_error},
      {"calls", r.m.calls},
  };
  if (r.client_cpu_s) j["client_cpu_s"] = *r.client_cpu_s;
  if (r.server_cpu_s) j["server_cpu_s"] = *r.server_cpu_s;
  if (r.server_rss_kib) j["server_rss_kib"] = *r.server_rss_kib;
  if (r.server_peak_rss_kib) j["server_peak_rss_kib"] = *r.server_peak_rss_kib;
  if (!r.rounds.empty()) j["rounds"] = r.rounds;
  return j;
}

// The result that stands for a case measured in several rounds: the median
// round's, with every round's errors and rates.
Result MedianOf(std::vector<Result> rounds) {
  std::vector<double> rates;
  rates.reserve(rounds.size());
  for (const Result& r : rounds) rates.push_back(r.m.OpsPerSecond());
  Result median = rounds[bench::MedianRound(rates)];
  median.m.errors = 0;
  median.m.first_error.clear();
  for (const Result& r : rounds) {
    if (median.m.errors == 0) median.m.first_error = r.m.first_error;
    median.m.errors += r.m.errors;
    const double s = r.m.seconds > 0 ? r.m.seconds : 1;
    median.rounds.push_back({{"ops_per_s", r.m.OpsPerSecond()},
                             {"mb_per_s", static_cast<double>(r.m.bytes) / s / 1e6},
                             {"items_per_s", static_cast<double>(r.m.items) / s}});
  }
  return median;
}

// One case against one server, with the client's and the server's CPU time
// and the server's memory.
Result Measure(const Server& server, const std::string& name, bench::Case& c, int depth,
               double seconds) {
  Result r;
  r.target = server.label;
  r.workload = name;
  r.parameter = c.parameter;
  r.inflight = depth;
  const auto before = server.pid > 0 ? bench::ReadProcessUsage(server.pid) : std::nullopt;
  const auto client_before = bench::ReadProcessUsage(getpid());
  r.m = bench::Run(*c.workload, c.connections, depth, seconds);
  const auto client_after = bench::ReadProcessUsage(getpid());
  const auto after = server.pid > 0 ? bench::ReadProcessUsage(server.pid) : std::nullopt;
  if (client_before && client_after) {
    r.client_cpu_s = client_after->cpu_seconds - client_before->cpu_seconds;
  }
  if (before && after) {
    r.server_cpu_s = after->cpu_seconds - before->cpu_seconds;
    r.server_rss_kib = after->rss_kib;
    r.server_peak_rss_kib = after->peak_rss_kib;
  }
  if (r.m.errors > 0) {
    std::fprintf(stderr, "vaultnfs-bench: %s on %s failed %llu times; first: %s\n", name.c_str(),
                 server.label.c_str(), static_cast<unsigned long long>(r.m.errors),
                 r.m.first_error.c_str());
  }
  return r;
}

void PrintHeader() {
  std::printf("%-10s %-12s %-14s %4s %10s %9s %9s %9s %9s %7s %7s %8s\n", "target", "workload", "",
              "infl", "ops/s", "MB/s", "p50 us", "p99 us", "p99.9 us", "cli cpu", "srv cpu",
              "srv MiB");
}

void PrintRow(const Result& r) {
  const double s = r.m.seconds > 0 ? r.m.seconds : 1;
  std::printf("%-10s %-12s %-14s %4d %10.0f %9.1f %9.0f %9.0f %9.0f", r.target.c_str(),
              r.workload.c_str(), r.parameter.c_str(), r.inflight, static_cast<double>(r.m.ops) / s,
              static_cast<double>(r.m.bytes) / s / 1e6, r.m.LatencyUs(0.5), r.m.LatencyUs(0.99),
              r.m.LatencyUs(0.999));
  if (r.client_cpu_s) std::printf(" %6.2fs", *r.client_cpu_s);
  if (r.server_cpu_s) std::printf(" %6.2fs", *r.server_cpu_s);
  if (r.server_peak_rss_kib)
    std::printf(" %8.1f", static_cast<double>(*r.server_peak_rss_kib) / 1024);
  std::printf("\n");
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  bench::Options options;
  std::vector<std::string> urls;
  std::string server_pids;
  std::string labels;
  std::string workloads = "all";
  std::string inflight = "1,8,32";
  std::string size = "1G";
  std::string hot_size = "1M";
  std::string json_path;
  double seconds = 5;
  int rounds = 1;
  po::options_description visible("Options");
  visible.add_options()("workloads", po::value(&workloads)->default_value(workloads),
                        "comma-separated, in order; all: every one")(
      "inflight", po::value(&inflight)->default_value(inflight),
      "operations in flight per connection; a list runs each")(
      "seconds", po::value(&seconds)->default_value(seconds), "measured time per case")(
      "rounds", po::value(&rounds)->default_value(rounds),
      "measure each case this many times on every target, taking turns at going first; "
      "the median round counts")("size", po::value(&size)->default_value(size),
                                 "size of the sequential file (K, M, G)")(
      "files", po::value(&options.files)->default_value(options.files),
      "files in the lookup and small readdirplus directory")(
      "big-dir", po::value(&options.big_dir)->default_value(options.big_dir),
      "entries of the large readdirplus directory")(
      "clients", po::value(&options.clients)->default_value(options.clients),
      "connections in the concurrent workload")(
      "hot-files", po::value(&options.hot_files)->default_value(options.hot_files),
      "files in the working set")("hot-size", po::value(&hot_size)->default_value(hot_size),
                                  "size of each of them")(
      "dir", po::value(&options.dir)->default_value(options.dir),
      "directory in the export that holds the data")(
      "server-pid", po::value(&server_pids),
      "the servers' process ids, one per URL: report their CPU time and peak RSS")(
      "label", po::value(&labels), "names of the targets, one per URL")(
      "json", po::value(&json_path), "write the results as JSON to this file (- for stdout)")(
      "quiet", "no setup progress on stderr")("list", "list the workloads and exit")(
      "help,h", "show this help");
  po::options_description all;
  all.add(visible).add_options()("url", po::value(&urls));
  po::positional_options_description positional;
  positional.add("url", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
    options.size = ParseSize(size);
    options.hot_file_size = ParseSize(hot_size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vaultnfs-bench: %s; see --help\n", e.what());
    return 2;
  }
  if (vm.count("help") || (urls.empty() && !vm.count("list"))) {
    std::cout
        << "usage: vaultnfs-bench URL... [options]\n\n"
           "Measures the NFSv3 server at each URL, e.g.\n"
           "  nfs://127.0.0.1/?nfsport=2049&mountport=20048   (export path after the host)\n"
           "with raw NFS calls in flight over libnfs. Given several URLs, it runs each\n"
           "case on every server in turn, so that they share the machine's moods. Data\n"
           "is made under --dir in each export on first use. Exit status: 0 all\n"
           "workloads ran cleanly, 1 an error or a data mismatch (printed), 2 usage error.\n\n"
        << visible;
    return vm.count("help") ? 0 : 2;
  }
  if (vm.count("list")) {
    for (const auto& w : bench::Workloads()) {
      std::printf("%-12s %s\n", std::string(w.name).c_str(), std::string(w.description).c_str());
    }
    return 0;
  }
  options.verbose = !vm.count("quiet");
  // In order, repeats allowed; "all" stands for every workload.
  std::vector<std::string> names;
  for (const std::string& name : SplitList(workloads)) {
    if (name == "all") {
      for (const auto& w : bench::Workloads()) names.emplace_back(w.name);
    } else {
      names.push_back(name);
    }
  }
  if (rounds < 1) {
    std::fprintf(stderr, "vaultnfs-bench: --rounds must be at least 1\n");
    return 2;
  }
  std::vector<int> depths;
  try {
    for (const auto& d : SplitList(inflight)) depths.push_back(std::stoi(d));
  } catch (const std::exception&) {
    std::fprintf(stderr, "vaultnfs-bench: bad --inflight '%s'\n", inflight.c_str());
    return 2;
  }

  std::vector<Server> servers(urls.size());
  const auto pid_list = SplitList(server_pids);
  const auto label_list = SplitList(labels);
  if (pid_list.size() > urls.size() || label_list.size() > urls.size()) {
    std::fprintf(stderr, "vaultnfs-bench: more --server-pid or --label entries than URLs\n");
    return 2;
  }
  for (size_t i = 0; i < urls.size(); ++i) {
    servers[i].url = urls[i];
    servers[i].label = i < label_list.size() ? label_list[i] : "target" + std::to_string(i + 1);
    try {
      servers[i].pid = i < pid_list.size() ? std::stoi(pid_list[i]) : 0;
    } catch (const std::exception&) {
      std::fprintf(stderr, "vaultnfs-bench: bad --server-pid '%s'\n", pid_list[i].c_str());
      return 2;
    }
  }

  std::vector<Result> results;
  try {
    for (Server& server : servers) {
      server.session = std::make_unique<bench::Session>(bench::Target::Parse(server.url), options);
    }
    PrintHeader();
    size_t turn = 0;  // cases so far: who goes first takes turns
    for (const std::string& name : names) {
      for (const int depth : depths) {
        // rounds_of[k][t]: case k on target t, one result per round.
        std::vector<std::vector<std::vector<Result>>> rounds_of;
        for (int round = 0; round < rounds; ++round) {
          // Every target gets the same cases, made afresh for each round.
          std::vector<std::vector<bench::Case>> cases;
          cases.reserve(servers.size());
          for (Server& server : servers) cases.push_back(bench::MakeCases(name, *server.session));
          rounds_of.resize(cases.front().size(), std::vector<std::vector<Result>>(servers.size()));
          for (size_t k = 0; k < cases.front().size(); ++k) {
            for (size_t n = 0; n < servers.size(); ++n) {
              const size_t t = (n + turn + k + static_cast<size_t>(round)) % servers.size();
              rounds_of[k][t].push_back(Measure(servers[t], name, cases[t][k], depth, seconds));
              PrintRow(rounds_of[k][t].back());
            }
          }
        }
        turn += rounds_of.size();
        for (auto& of_case : rounds_of) {
          for (auto& of_target : of_case) {
            results.push_back(rounds == 1 ? std::move(of_target.front())
                                          : MedianOf(std::move(of_target)));
          }
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vaultnfs-bench: %s\n", e.what());
    return 1;
  }

  bool failed = false;
  nlohmann::json targets = nlohmann::json::array();
  for (const Server& server : servers) {
    targets.push_back({{"label", server.label}, {"url", server.url}, {"pid", server.pid}});
  }
  nlohmann::json out = {{"targets", targets},
                        {"seconds", seconds},
                        {"size", options.size},
                        {"results", nlohmann::json::array()}};
  for (const Result& r : results) {
    failed = failed || r.m.errors > 0;
    out["results"].push_back(ToJson(r));
  }
  if (json_path == "-") {
    std::cout << out.dump(2) << "\n";
  } else if (!json_path.empty()) {
    std::FILE* f = std::fopen(json_path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "vaultnfs-bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
    std::fputs((out.dump(2) + "\n").c_str(), f);
    std::fclose(f);
  }
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vaultnfs-bench: %s\n", e.what());
    return 1;
  }
}
