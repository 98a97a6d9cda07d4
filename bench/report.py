#!/usr/bin/env python3
"""Turns vaultnfs-bench JSON from bench/compare into report.md (the ratio
table, vaultnfs / peer, with the issue's targets), results.json (everything
in one file) and SVG plots drawn by gnuplot.

Each input holds one pair of targets measured in one run: the first label is
vaultnfs, the second its peer. Usage (bench/compare runs it):
  report.py --out DIR [--iperf iperf3.json] [--idle-rss a=KiB,b=KiB]
            [--peak-rss a=KiB] [--profile quick|full] [--aes-gcm MB/s]
            [--crypto OPENSSL] PAIR.json...
Exit status 0; 1 when an input is missing or a case failed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

# (workload, parameter or None, inflight or None) -> minimum ratio.
TARGETS = [
    ("seqread", None, 1, 1.0),
    ("seqread", None, 8, 0.8),
    ("seqread", None, 32, 0.8),
    ("seqwrite", None, None, 1.0),
    ("randread4k", None, None, 1.0),
    ("ide", None, None, 1.5),
    ("getattr", None, None, 2.0),
    ("lookup", None, None, 2.0),
    ("readdirplus", "1000 entries", None, 1.5),
    ("create", None, None, 1.5),
]
# Ceilings of a missed ratio assume the client and the servers share this
# machine's cores, as bench/compare runs them.
CORES = os.cpu_count() or 1
# The ceilings come from other cases of the same run (the NULL case), so
# they carry its noise: a verdict needs them this far from the target.
CEILING_NOISE = 1.1
IDLE_RSS_LIMIT_MIB = 20
PEAK_RSS_LIMIT_MIB = 150
LOOPBACK_SHARE = 0.70


def target_for(workload, parameter, inflight):
    for name, param, depth, minimum in TARGETS:
        if name == workload and (param is None or param == parameter) and (
                depth is None or depth == inflight):
            return minimum
    return None


def figure(result, rates=None):
    """The figure a workload is judged by, and its unit; from `rates` (one
    round's) when given, else from the result."""
    rates = rates or result
    if result["workload"] == "readdirplus":
        return rates["items_per_s"], "entries/s"
    if result["mb_per_s"] > 0 and result["workload"] not in ("ide", "create", "concurrent"):
        return rates["mb_per_s"], "MB/s"
    return rates["ops_per_s"], "ops/s"


def round_ratios(ours, peer):
    """With vaultnfs-bench --rounds: the ratio of each round, the two targets'
    runs of one round being next to each other in time."""
    ratios = []
    for mine, theirs in zip(ours.get("rounds", []), peer.get("rounds", [])):
        theirs_figure = figure(peer, theirs)[0]
        if theirs_figure > 0:
            ratios.append(figure(ours, mine)[0] / theirs_figure)
    return ratios


def pairs(document):
    labels = [t["label"] for t in document["targets"]]
    ours, peer = labels[0], labels[1]
    by_key = {}
    for r in document["results"]:
        by_key.setdefault((r["workload"], r["parameter"], r["inflight"]), {})[r["target"]] = r
    for key, results in by_key.items():
        if ours in results and peer in results:
            yield key, results[ours], results[peer], ours, peer


def ceilings(document, ours, peer):
    """What vaultnfs's ratio could reach at most in this run, from two bounds:
    - the round trip (1 in flight): each of its calls takes at least a NULL
      call's round trip on the same server;
    - the CPU: the client's and vaultnfs's CPU per operation, on CORES cores.
    Each is None where the run did not measure what it needs."""
    peer_ops = peer["ops_per_s"]
    if peer_ops <= 0 or ours["ops"] == 0:
        return None, None
    round_trip = None
    # A disturbance only slows a case down, so the fastest NULL is the
    # truest (bench/compare measures it first and last).
    null_rate = max((r["ops_per_s"] for r in document["results"] if r["workload"] == "null"
                     and r["target"] == ours["target"] and r["inflight"] == 1), default=0)
    if ours["inflight"] == 1 and null_rate > 0 and ours.get("calls"):
        calls_per_op = ours["calls"] / ours["ops"]
        round_trip = null_rate / calls_per_op / peer_ops
    cpu = None
    if "client_cpu_s" in ours and "server_cpu_s" in ours:
        cpu_per_op = (ours["client_cpu_s"] + ours["server_cpu_s"]) / ours["ops"]
        if cpu_per_op > 0:
            cpu = CORES / cpu_per_op / peer_ops
    return round_trip, cpu


def kib_map(text):
    out = {}
    for item in filter(None, (text or "").split(",")):
        name, value = item.split("=")
        out[name] = int(value)
    return out


def two_places(value):
    return "–" if value is None else f"{value:.2f}"


def fmt(value):
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--iperf")
    parser.add_argument("--idle-rss")
    parser.add_argument("--peak-rss")
    parser.add_argument("--profile", default="full")
    parser.add_argument("--aes-gcm", type=float, default=0,
                        help="AES-256-GCM MB/s on one core (openssl speed, 32 KiB)")
    parser.add_argument("--crypto", default="", help="the OpenSSL vaultnfs runs on")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()

    documents = []
    for path in args.inputs:
        if not os.path.exists(path):
            print(f"report.py: {path} is missing (its run failed)", file=sys.stderr)
            return 1
        with open(path) as f:
            documents.append(json.load(f))

    lines = []
    if args.profile == "quick":
        lines += ["**Quick profile**: tiny sizes and 0.3 s cases, a smoke test; "
                  "the ratios below are not measurements.", ""]
    rounds = max((len(r.get("rounds", [])) for d in documents for r in d["results"]), default=0)
    if rounds > 1:
        lines += [f"Each case ran in {rounds} rounds, the targets taking turns at going first; "
                  "the figures are each target's median round, the ratio theirs, and the "
                  "last column the lowest and highest ratio of a single round.", ""]
    lines += ["| workload | | inflight | vaultnfs | peer | unit | ratio | target | "
              "p99 µs vaultnfs / peer | server CPU µs/op vaultnfs / peer |" +
              (" rounds' ratios |" if rounds > 1 else ""),
              "|---|---|---:|---:|---:|---|---:|---|---:|---:|" + ("---:|" if rounds > 1 else "")]
    rows = []
    failed = False
    misses = []
    bounds = []
    for document in documents:
        for (workload, parameter, inflight), ours, peer, our_label, peer_label in pairs(document):
            failed = failed or ours["errors"] > 0 or peer["errors"] > 0
            mine, unit = figure(ours)
            theirs, _ = figure(peer)
            ratio = mine / theirs if theirs > 0 else float("inf")
            minimum = target_for(workload, parameter, inflight)
            verdict = ""
            if minimum is not None:
                met = ratio >= minimum
                verdict = f"≥ {minimum:.1f} {'met' if met else '**missed**'}"
                if not met:
                    misses.append(f"{workload} {parameter} inflight {inflight} ({peer_label})")
                    bounds.append((workload, parameter, inflight, peer_label, ratio, minimum,
                                   *ceilings(document, ours, peer)))

            def cpu_per_op(r):
                if "server_cpu_s" not in r or r["ops"] == 0:
                    return "–"
                return fmt(r["server_cpu_s"] * 1e6 / r["ops"])

            name = workload if peer_label == "ganesha" else f"{workload} ({our_label.split('-')[-1]})"
            spread = ""
            if rounds > 1:
                each = round_ratios(ours, peer)
                spread = f" {min(each):.2f} – {max(each):.2f} |" if each else " – |"
            lines.append(
                f"| {name} | {parameter} | {inflight} | {fmt(mine)} | {fmt(theirs)} | {unit} | "
                f"**{ratio:.2f}** | {verdict} | {fmt(ours['p99_us'])} / {fmt(peer['p99_us'])} | "
                f"{cpu_per_op(ours)} / {cpu_per_op(peer)} |{spread}")
            rows.append((f"{name} {parameter} {inflight}".replace("  ", " ").strip(), ratio))

    notes = ["", "Ratio: vaultnfs / peer (above 1: vaultnfs is faster). Peer: nfs-ganesha "
             "FSAL_VFS serving the same workloads as plaintext from the same filesystem."]
    seqread_best = max((figure(r)[0] for d in documents for r in d["results"]
                        if r["workload"] == "seqread" and r["target"] == "vaultnfs"), default=0)
    # A run of --workloads without seqread has nothing to set against the loopback.
    if args.iperf and os.path.exists(args.iperf) and seqread_best > 0:
        with open(args.iperf) as f:
            loopback = json.load(f)["end"]["sum_received"]["bits_per_second"] / 8e6
        share = seqread_best / loopback if loopback else 0
        met = share >= LOOPBACK_SHARE
        notes.append(f"- seqread at its best inflight: {fmt(seqread_best)} MB/s = **{share:.0%}** of "
                     f"single-stream loopback TCP ({fmt(loopback)} MB/s, iperf3); target ≥ 70 %: "
                     f"{'met' if met else '**missed**'}")
        if not met:
            misses.append("seqread vs loopback TCP")
    if args.aes_gcm > 0:
        notes.append(f"- AES-256-GCM on one core (`openssl speed`, 32 KiB): {fmt(args.aes_gcm)} MB/s; "
                     f"vaultnfs runs on {args.crypto or 'an unknown OpenSSL'}")
    idle = kib_map(args.idle_rss)
    peak = kib_map(args.peak_rss)
    if "vaultnfs" in idle:
        met = idle["vaultnfs"] / 1024 < IDLE_RSS_LIMIT_MIB
        notes.append(f"- vaultnfs RSS when idle (unlocked, before the first request): "
                     f"**{idle['vaultnfs'] / 1024:.1f} MiB** (target < {IDLE_RSS_LIMIT_MIB} MiB: "
                     f"{'met' if met else '**missed**'}); nfs-ganesha "
                     f"{idle.get('ganesha', 0) / 1024:.1f} MiB")
        if not met:
            misses.append("idle RSS")
    # Each vaultnfs server's own peak: the one on disk runs every workload,
    # the one on tmpfs only some, yet its writes can take it higher.
    for server, kib in peak.items():
        met = kib / 1024 < PEAK_RSS_LIMIT_MIB
        notes.append(f"- {server} peak RSS through the whole run: **{kib / 1024:.1f} MiB**"
                     f" (target < {PEAK_RSS_LIMIT_MIB} MiB: {'met' if met else '**missed**'})")
        if not met:
            misses.append(f"peak RSS ({server})")
    if misses:
        notes.append(f"- targets missed: {', '.join(misses)}")
    if bounds:
        notes += ["", "What this run shows of each missed ratio's reach: the round-trip "
                  "ceiling is the ratio if every call of the operation took only a NULL "
                  "call's round trip on vaultnfs (1 in flight); the CPU ceiling is the ratio "
                  f"if the client's and vaultnfs's CPU per operation were spread over all "
                  f"{CORES} cores without a gap. A round-trip ceiling more than 10 % below "
                  "the target puts it out of reach of any server on this machine; a CPU "
                  "ceiling that far below puts it out of reach until vaultnfs or the "
                  "client spends less CPU per operation. Within 10 %, the run's noise "
                  "decides.", "",
                  "| workload | | inflight | peer | ratio | target | round-trip ceiling | "
                  "CPU ceiling | verdict |", "|---|---|---:|---|---:|---:|---:|---:|---|"]
        for workload, parameter, inflight, peer_label, ratio, minimum, trip, cpu in bounds:
            known = [c for c in (trip, cpu) if c is not None]
            if trip is not None and trip < minimum / CEILING_NOISE:
                verdict = "out of reach: round trip"
            elif cpu is not None and cpu < minimum / CEILING_NOISE:
                verdict = "out of reach at this CPU per operation"
            elif known and min(known) < minimum * CEILING_NOISE:
                verdict = "ceiling at the target"
            elif known:
                verdict = "within the ceilings"
            else:
                verdict = "not measured"
            notes.append(f"| {workload} | {parameter} | {inflight} | {peer_label} | {ratio:.2f} | "
                         f"{minimum:.1f} | {two_places(trip)} | {two_places(cpu)} | {verdict} |")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines + notes) + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"runs": documents, "idle_rss_kib": idle, "peak_rss_kib": peak,
                   "aes_gcm_mb_per_s": args.aes_gcm, "crypto": args.crypto}, f, indent=1)
    plot(args.out, rows)
    print("\n".join(lines + notes))
    return 1 if failed else 0


def plot(out, rows):
    if not shutil.which("gnuplot") or not rows:
        print("report.py: gnuplot not found; no plots", file=sys.stderr)
        return
    data = os.path.join(out, "ratios.dat")
    with open(data, "w") as f:
        for label, ratio in rows:
            f.write(f"\"{label}\" {ratio:.3f}\n")
    script = f"""
set terminal svg size 1200,{300 + 18 * len(rows)} dynamic font "sans,11"
set output "ratios.svg"
set title "vaultnfs / nfs-ganesha (above 1: vaultnfs faster)"
set style fill solid 0.7
set yrange [-0.5:{len(rows) - 0.5}] reverse
set xrange [0:*]
set ytics nomirror
set grid x
set arrow from 1, graph 0 to 1, graph 1 nohead dt 2 lw 2
unset key
plot "ratios.dat" using 2:0:(0):2:($0-0.35):($0+0.35):yticlabels(1) with boxxyerror
"""
    # Relative names, run in `out`: the SVG names its data file.
    subprocess.run(["gnuplot"], input=script, text=True, check=True, cwd=out)


if __name__ == "__main__":
    sys.exit(main())
