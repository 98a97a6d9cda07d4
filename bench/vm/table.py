#!/usr/bin/env python3
"""Turns the results.json of bench/vm/run.sh (a list of {target, workload,
value, unit[, detail]}) into a markdown table: one row per workload, the
columns vaultnfs, gocryptfs, ganesha (plaintext NFS, the floor under
vaultnfs), ext4 (the ceiling), vaultnfs/gocryptfs, ganesha/gocryptfs (what
any NFS server could reach at best: ganesha does no encryption), and the
target ratio with whether it was met.

Ratios are oriented so that > 1 means the NFS side is better: for times
(unit "ms") gocryptfs / X, for throughput (MiB/s, IOPS) X / gocryptfs. Targets: >= 2x on the sequential ("seq ...") and tree ("tree
...") workloads, >= 1x on 4 KiB random reads ("rand read ..."); the other
rows have none. The details of each workload follow the table.

Usage: bench/vm/table.py results.json      (python3, standard library only)
Exit status: 0 (also when a target is missed), 2 on a bad file.
"""
import json
import sys

COLUMNS = ("vaultnfs", "gocryptfs", "ganesha", "ext4")


def target_ratio(workload):
    if workload.startswith(("seq ", "tree ")):
        return 2.0
    if workload.startswith("rand read"):
        return 1.0
    return None


def against_gocryptfs(value, gocryptfs, unit):
    if not value or not gocryptfs:
        return None
    return gocryptfs / value if unit == "ms" else value / gocryptfs


def fmt_ratio(ratio):
    return "–" if ratio is None else f"{ratio:.2f}×"


def fmt(value, unit):
    if value is None:
        return "–"
    if unit == "IOPS" or abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.1f}"


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            records = json.load(f)
    except (OSError, ValueError) as e:
        print(f"table.py: {sys.argv[1]}: {e}", file=sys.stderr)
        return 2

    workloads, values, units, details = [], {}, {}, {}
    for r in records:
        w = r["workload"]
        if w not in workloads:
            workloads.append(w)
        values[(w, r["target"])] = float(r["value"])
        units[w] = r["unit"]
        if r.get("detail"):
            details.setdefault(w, r["detail"])

    header = ["workload", "unit", *COLUMNS, "vaultnfs/gocryptfs", "ganesha/gocryptfs", "target"]
    rows, met, judged = [], 0, 0
    for w in workloads:
        g = values.get((w, "gocryptfs"))
        ratio = against_gocryptfs(values.get((w, "vaultnfs")), g, units[w])
        floor = against_gocryptfs(values.get((w, "ganesha")), g, units[w])
        goal = target_ratio(w)
        if goal is None:
            verdict = "–"
        elif ratio is None:
            verdict = f"≥ {goal:g}× (not measured)"
        else:
            judged += 1
            ok = ratio >= goal
            met += ok
            verdict = f"≥ {goal:g}× {'met' if ok else 'MISSED'}"
        better = "lower is better" if units[w] == "ms" else "higher is better"
        rows.append([w, f"{units[w]} ({better})", *(fmt(values.get((w, c)), units[w]) for c in COLUMNS),
                     fmt_ratio(ratio), fmt_ratio(floor), verdict])

    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---", "---"] + ["--:"] * (len(header) - 3) + ["---"]) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(f"Targets met: {met} of {judged}.")
    if details:
        print()
        for w in workloads:
            if w in details:
                print(f"- {w}: {details[w]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
