#!/usr/bin/env python3
"""Crash loop on the audio rig: `kill -9` of the live daemon at random moments, N times,
while it airs programmes (and now and then an emergency), each time started again at once.

After every kill and restart it checks the airtime log: integrity (PRAGMA integrity_check),
lost rows (a row seen before the kill that is gone after), stuck rows (still `playing`
once the next daemon has started), and counts the programmes and emergencies the restart
took up again. Prints a JSON summary; the figures go into docs/BENCHMARKS.md.

usage: bench/chaos.py [--kills N] [--seed S]      (needs: pulseaudio; builds --release)"""
import argparse, json, os, random, shutil, signal, sqlite3, subprocess, sys, tempfile, time, wave, math, struct

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rig = os.path.join(root, "tests/rig")
ap = argparse.ArgumentParser()
ap.add_argument("--kills", type=int, default=200)
ap.add_argument("--seed", type=int, default=7)
a = ap.parse_args()
random.seed(a.seed)

def rig_env():
    out = subprocess.run(["bash", "-c", f". {rig}/env.sh && env"], capture_output=True, text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        k, _, v = line.partition("=")
        if k in ("RIG_DIR", "XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_COOKIE", "PULSE_SINK"): env[k] = v
    return env

env = rig_env()
subprocess.run([f"{rig}/start.sh"], env=env, check=True, stdout=subprocess.DEVNULL)
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")
st = tempfile.mkdtemp(prefix="loaxa-chaos-")

def tone(path, secs, freq, rate=16000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(int(secs * rate))))
    old = time.time() - 120
    os.utime(path, (old, old))

audio = os.path.join(st, "audio")
tone(f"{audio}/nhac-hieu/mo.wav", 1.0, 880)
tone(f"{audio}/nhac-hieu/coi.wav", 1.0, 1200)
for i, f in enumerate([440, 550, 660]):
    tone(f"{audio}/tin/2026-01-0{i+1} tin {i}.wav", 3.0, f)
alert = os.path.join(st, "bao.wav"); tone(alert, 4.0, 300)
with open(os.path.join(st, "schedule.yaml"), "w") as f:
    f.write("""station:
  name: "Đài thử"
library:
  settle: 1s
categories:
  tin: {name: Tin, pick: all}
  khan-cap: {name: Khẩn cấp, priority: emergency}
  nhac-hieu: {name: Nhạc hiệu}
programmes:
  - name: Thử
    when: "*/15 * * * * *"
    segments: [{jingle: nhac-hieu/mo.wav}, {category: tin}]
emergency:
  category: khan-cap
  alert_tone: nhac-hieu/coi.wav
  repeat: 2
  every: 20s
  after: resume
""")
db = os.path.join(st, "state/airtime.db")

def rows():
    if not os.path.exists(db): return {}
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {r[0]: r[1:] for r in c.execute("SELECT id, status, trigger, title FROM airings")}
    finally:
        c.close()

def integrity():
    c = sqlite3.connect(db, timeout=5)
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()

def start(log):
    p = subprocess.Popen([loaxa, "run", "--config", os.path.join(st, "schedule.yaml")], env={**env, "RUST_LOG": "info"},
                         stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    sock = os.path.join(st, "state/control.sock")
    t = time.time()
    while time.time() - t < 10:
        if "loaxa running" in open(log).read(): break
        time.sleep(0.05)
    return p

counts = dict(kills=0, corrupt=0, lost_rows=0, stuck_rows=0, killed_mid_programme=0, programmes_resumed=0,
              killed_mid_emergency=0, emergencies_reaired=0, emergencies_dropped=0, daemon_start_failures=0)
logs = os.path.join(st, "logs"); os.makedirs(logs)
prev = {}
p = start(os.path.join(logs, "0.log"))
for k in range(1, a.kills + 1):
    if k % 10 == 0:
        shutil.copy(alert, f"{audio}/khan-cap/bao-{k}.wav")
    time.sleep(random.uniform(0.5, 9.0))
    before = rows()
    playing = [r for r in before.values() if r[0] == "playing"]
    p.kill(); p.wait()
    counts["kills"] += 1
    if integrity() != "ok": counts["corrupt"] += 1
    mid_prog = any(r[1] == "schedule" for r in playing)
    mid_em = any(r[1] == "emergency" for r in playing)
    log = os.path.join(logs, f"{k}.log")
    p = start(log)
    if "loaxa running" not in open(log).read(): counts["daemon_start_failures"] += 1
    time.sleep(0.7)
    after = rows()
    counts["lost_rows"] += sum(1 for i in before if i not in after)
    counts["stuck_rows"] += sum(1 for i, r in after.items() if i in before and r[0] == "playing")
    text = open(log).read()
    if mid_prog:
        counts["killed_mid_programme"] += 1
        if "where the stop cut it" in text or "catch-up" in text: counts["programmes_resumed"] += 1
    if mid_em:
        counts["killed_mid_emergency"] += 1
        if "airing again the emergency broadcast" in text: counts["emergencies_reaired"] += 1
        else: counts["emergencies_dropped"] += 1
    print(f"kill {k}: {json.dumps(counts)}", file=sys.stderr, flush=True)
time.sleep(20)
p.send_signal(signal.SIGTERM); p.wait()
final = rows()
counts["rows"] = len(final)
counts["playing_at_end"] = sum(1 for r in final.values() if r[0] == "playing")
counts["integrity_at_end"] = integrity()
print(json.dumps(counts, indent=1))
