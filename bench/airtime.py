#!/usr/bin/env python3
"""Airtime log benchmarks: export 1 000 000 rows (CSV, JSON, XLSX) and the monthly report,
timing each `loaxa` run and its peak memory (max RSS of the child).
usage: bench/airtime.py [ROWS]   (default 1000000; builds release binaries first)"""
import os, resource, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "loaxa", "--example", "gen_airtime"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")
gen = os.path.join(root, "target/release/examples/gen_airtime")
tmp = tempfile.mkdtemp(prefix="loaxa-bench-")
db = os.path.join(tmp, "airtime.db")
t = time.time(); subprocess.run([gen, db, str(rows)], check=True, stdout=subprocess.DEVNULL)
print(f"generated {rows} rows in {time.time()-t:.1f}s ({os.path.getsize(db)/1e6:.0f} MB)")
cfg = os.path.join(root, "schedule.yaml")

def run(name, args, out=subprocess.DEVNULL):
    # each run in its own child so ru_maxrss is that run's peak
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)
        os.execv(loaxa, [loaxa] + args + ["--config", cfg, "--db", db])
    t = time.time(); _, status, ru = os.wait4(pid, 0); dt = time.time() - t
    assert os.waitstatus_to_exitcode(status) == 0, name
    print(f"{name:<34} {dt:6.2f} s   peak RSS {ru.ru_maxrss/1024:6.1f} MB")

run("export csv (Nov 2026)", ["export", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv", "--output", os.path.join(tmp, "x.csv")])
run("export json (Nov 2026)", ["export", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json", "--output", os.path.join(tmp, "x.jsonl")])
run("export xlsx (Nov 2026)", ["export", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xlsx", "--output", os.path.join(tmp, "x.xlsx")])
run("report --month 2026-11 (json)", ["report", "--month", "2026-11", "--format", "json"])
run("report --month 2026-11 (html)", ["report", "--month", "2026-11", "--format", "html"])
for f in ["x.csv", "x.jsonl", "x.xlsx"]:
    print(f"  {f}: {os.path.getsize(os.path.join(tmp, f))/1e6:.0f} MB")
subprocess.run(["rm", "-rf", tmp])
