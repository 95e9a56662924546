#!/usr/bin/env python3
"""Airing timing under web load, on the audio rig: a programme every 10 s airs a 1.2 s tone
while (a) nothing else happens, then (b) 50 clients poll GET /api/v1/status without pause
and one client downloads the month's airtime log as XLSX (1 000 000 rows) again and again.
Onsets are measured on the rig's monitor against each programme's second. Also: the
status latency under that load, a 100 MB upload with the daemon's RSS before and after, and
the daemon's idle RSS with the console on.

usage: bench/web.py [--seconds N] [--rows N]   (needs: pulseaudio; builds --release)"""
import argparse, http.client, json, math, os, struct, subprocess, sys, tempfile, threading, time, wave

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rig = os.path.join(root, "tests/rig")
ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=int, default=90)
ap.add_argument("--rows", type=int, default=1_000_000)
a = ap.parse_args()

os.environ.setdefault("RIG_DIR", "/tmp/loaxa-rig-web")
def rig_env():
    out = subprocess.run(["bash", "-c", f". {rig}/env.sh && env"], capture_output=True, text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        k, _, v = line.partition("=")
        if k in ("RIG_DIR", "XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_COOKIE", "PULSE_SINK"): env[k] = v
    return env
env = rig_env()
subprocess.run([f"{rig}/start.sh"], env=env, check=True, stdout=subprocess.DEVNULL)
subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "loaxa", "--example", "gen_airtime"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")
st = tempfile.mkdtemp(prefix="loaxa-web-")

def tone(path, secs, freq, rate=44100):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(int(secs * rate))))
    old = time.time() - 120
    os.utime(path, (old, old))

tone(f"{st}/audio/tin/2026-01-01 onset.wav", 1.2, 550)
open(f"{st}/schedule.yaml", "w").write("""station:
  name: "Đài đo tải"
categories:
  tin: {name: Tin, pick: newest}
programmes:
  - name: "Mỗi 10 giây"
    when: "*/10 * * * * *"
    segments: [{category: tin}]
http:
  listen: 127.0.0.1:0
""")
os.makedirs(f"{st}/state")
t = time.time()
subprocess.run([os.path.join(root, "target/release/examples/gen_airtime"), f"{st}/state/airtime.db", str(a.rows)], check=True, stdout=subprocess.DEVNULL)
print(f"airtime log: {a.rows} rows generated in {time.time()-t:.0f} s")
cfg = ["--config", f"{st}/schedule.yaml"]
subprocess.run([loaxa, "user", "add", "quan", "--role", "admin", "--password-stdin"] + cfg, input=b"mat-khau-do-tai\n", check=True, stdout=subprocess.DEVNULL)
log = open(f"{st}/daemon.log", "w")
def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
# The same station without the console, for its idle RSS.
text = open(f"{st}/schedule.yaml").read()
open(f"{st}/schedule.yaml", "w").write(text.split("http:")[0])
d = subprocess.Popen([loaxa, "run"] + cfg, env=env, stdout=log, stderr=log)
time.sleep(5); idle_off = rss_mb(d.pid); d.terminate(); d.wait()
open(f"{st}/schedule.yaml", "w").write(text)
d = subprocess.Popen([loaxa, "run"] + cfg, env=env, stdout=log, stderr=log)
port = None
for _ in range(200):
    r = subprocess.run([loaxa, "status", "--format", "json"] + cfg, capture_output=True)
    if r.returncode == 0 and json.loads(r.stdout).get("console"):
        port = int(json.loads(r.stdout)["console"].rstrip("/").rsplit(":", 1)[1]); break
    time.sleep(0.1)
assert port, open(f"{st}/daemon.log").read()

def login():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/api/v1/session", json.dumps({"user": "quan", "password": "mat-khau-do-tai"}), {"Content-Type": "application/json"})
    r = c.getresponse(); body = json.loads(r.read())
    return r.getheader("Set-Cookie").split(";")[0], body["csrf"]
cookie, csrf = login()
time.sleep(3)
idle_rss = rss_mb(d.pid)

def capture(out):
    return subprocess.Popen([sys.executable, f"{rig}/capture.py", "record", out], env=env)
def onsets(p, out):
    p.terminate(); p.wait()
    r = subprocess.run([sys.executable, f"{rig}/capture.py", "analyze", out], capture_output=True, text=True, check=True)
    errs = []; segs = json.loads(r.stdout)["segments"]
    if not segs: print(f"  (nothing heard in {out})")
    for s in segs:
        start = s["start_ns"] / 1e9
        due = round(start / 10) * 10
        if abs(start - due) < 1 and 1.0 < s["dur_s"] < 1.4: errs.append((start - due) * 1000)
    return errs
def pct(xs, p): xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")

# (a) no load
cap = capture(f"{st}/quiet"); time.sleep(a.seconds)
quiet = onsets(cap, f"{st}/quiet")

# (b) 50 pollers and XLSX exports
stop = False; lat = []; lock = threading.Lock(); exports = []; errors = []
def poller():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop:
        t = time.perf_counter()
        try:
            c.request("GET", "/api/v1/status", headers={"Cookie": cookie}); r = c.getresponse(); r.read()
            if r.status != 200: errors.append(r.status)
        except Exception as e:
            errors.append(str(e)); c = http.client.HTTPConnection("127.0.0.1", port, timeout=30); continue
        with lock: lat.append((time.perf_counter() - t) * 1000)
def exporter():
    while not stop:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        t = time.perf_counter()
        try:
            c.request("GET", "/api/v1/airings?from=2026-11-01&to=2026-11-30&format=xlsx", headers={"Cookie": cookie})
            r = c.getresponse(); n = len(r.read())
        except Exception:
            return  # the daemon stopped at the end of the run
        if not stop: exports.append((time.perf_counter() - t, n, r.status))
threads = [threading.Thread(target=poller, daemon=True) for _ in range(50)] + [threading.Thread(target=exporter, daemon=True)]
peak = [idle_rss]
def watch_rss():
    while not stop:
        peak[0] = max(peak[0], rss_mb(d.pid)); time.sleep(0.2)
threads.append(threading.Thread(target=watch_rss, daemon=True))
cap = capture(f"{st}/load")
for th in threads: th.start()
time.sleep(a.seconds)
stop = True
loaded = onsets(cap, f"{st}/load")
time.sleep(1)

# (c) a 100 MB upload
before = rss_mb(d.pid)
big = f"{st}/big.wav"
with wave.open(big, "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
    chunk = struct.pack("<hh", 3000, -3000) * 44100
    for _ in range(int(100e6 / len(chunk))): w.writeframes(chunk)
upeak = [before]; ustop = False
def uwatch():
    while not ustop:
        upeak[0] = max(upeak[0], rss_mb(d.pid)); time.sleep(0.05)
uw = threading.Thread(target=uwatch, daemon=True); uw.start()
t = time.perf_counter()
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", cookie, "-H", f"X-CSRF-Token: {csrf}",
                    "-F", f"file=@{big};filename=lon.wav", f"http://127.0.0.1:{port}/api/v1/library/tin"], capture_output=True, text=True)
up_s = time.perf_counter() - t
ustop = True; uw.join()
d.terminate(); d.wait()

print(f"\nprogramme onsets (ms after their second), {a.seconds} s each:")
for name, e in [("no load", quiet), ("50 pollers + XLSX export", loaded)]:
    print(f"  {name:<26} n={len(e):3d}  median {pct(e,50):6.2f}  p99 {pct(e,99):6.2f}  max {max(e) if e else float('nan'):6.2f}  min {min(e) if e else float('nan'):6.2f}")
print(f"GET /api/v1/status under load: {len(lat)} requests, median {pct(lat,50):.1f} ms, p99 {pct(lat,99):.1f} ms, max {max(lat):.1f} ms; errors {len(errors)}")
ex = [s for s, n, c in exports if c == 200]
print(f"XLSX exports of the month ({a.rows} rows in the log) finished during the load: {len(ex)}" + (f", {min(ex):.1f}–{max(ex):.1f} s each, {exports[0][1]/1e6:.0f} MB" if ex else ""))
print(f"daemon RSS: idle without the console {idle_off:.1f} MB, with it {idle_rss:.1f} MB (after one login); peak under load {peak[0]:.1f} MB")
print(f"100 MB upload: HTTP {r.stdout} in {up_s:.1f} s; RSS {before:.1f} MB before, peak {upeak[0]:.1f} MB during")
if quiet and loaded: subprocess.run(["rm", "-rf", st])
else: print("kept", st)
