#!/usr/bin/env python3
"""How long `loaxa check` takes, and its peak memory, on schedules that are expensive to
check: programmes every second, 2 000 programmes, and a hostile file of 100 000 nested
brackets. Every reload runs the same checks (off the loop that cues programmes).

usage: bench/config.py [--runs N]      (builds --release)"""
import argparse, os, resource, statistics, subprocess, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(); ap.add_argument("--runs", type=int, default=10); a = ap.parse_args()
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")
d = tempfile.mkdtemp(prefix="loaxa-cfg-")
os.makedirs(os.path.join(d, "audio/a"))
base = 'station:\n  name: "Đài"\ncategories:\n  a: {name: A}\nquiet_hours: "22:00-05:00"\nprogrammes:\n'
cases = {
    "two programmes every second (with quiet hours)": base + ''.join(
        f'  - name: "P{i}"\n    when: "* * * * * *"\n    segments: [{{category: a}}]\n' for i in range(2)),
    "2 000 programmes at distinct times": base + ''.join(
        f'  - name: "P{i}"\n    when: "{i % 60} {i // 60 % 60} {5 + i // 3600} * * *"\n    segments: [{{category: a}}]\n' for i in range(2000)),
    "2 000 programmes on weekdays, from a date months ahead": base + ''.join(
        f'  - name: "P{i}"\n    when: "{i % 60} {i // 60 % 60} {5 + i // 3600} * * 1-5"\n    from: 2027-{1 + i % 12:02d}-01\n    segments: [{{category: a}}]\n' for i in range(2000)),
    "2 000 programmes at one instant, 1 h each (two million overlapping pairs)": base + ''.join(
        f'  - name: "P{i}"\n    when: "0 0 5 * * *"\n    max_duration: 1h\n    segments: [{{category: a}}]\n' for i in range(2000)),
    "100 000 nested brackets (200 KB)": base.replace("programmes:\n", "") + "x: " + "[" * 100_000 + "\n",
}
print("| schedule | median | max | peak RSS |\n|---|---|---|---|")
for name, text in cases.items():
    path = os.path.join(d, "schedule.yaml")
    open(path, "w").write(text)
    times, rss = [], []
    for _ in range(a.runs):
        t = time.perf_counter()
        p = subprocess.Popen([loaxa, "check", "--config", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        times.append((time.perf_counter() - t) * 1000)
        rss.append(ru.ru_maxrss / 1024)
    print(f"| {name} | {statistics.median(times):.0f} ms | {max(times):.0f} ms | {max(rss):.1f} MB |")
