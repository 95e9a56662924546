#!/usr/bin/env python3
"""Playout benchmark on the audio rig (tests/rig): how close to its second each programme's
first sample reaches the output, the gap between items, and the daemon's idle and airing
cost; with the same figures for `sleep until the second + mpg123` and for MPD, measured in
the same run so the comparison is a ratio.

usage: bench/playout.py [--programmes N]      (needs: pulseaudio, mpg123, mpd, mpc, ffmpeg)
The rig runs with its latency pin at 1 ms (RIG_LATENCY_MS=1): it then reads ~1 ms early."""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rig = os.path.join(root, "tests/rig")
ap = argparse.ArgumentParser(); ap.add_argument("--programmes", type=int, default=24); a = ap.parse_args()

def rig_env():
    out = subprocess.run(["bash", "-c", f". {rig}/env.sh && env"], capture_output=True, text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        k, _, v = line.partition("=")
        if k in ("RIG_DIR", "XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_COOKIE", "PULSE_SINK"): env[k] = v
    return env

env = rig_env()
subprocess.run([f"{rig}/stop.sh"], env=env)
subprocess.run([f"{rig}/start.sh"], env={**env, "RIG_LATENCY_MS": "1"}, check=True)
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")
tmp = tempfile.mkdtemp(prefix="loaxa-bench-")

def sh(*c, **k): return subprocess.run(list(c), check=True, **k)
# Material: two 1.2 s tones (gapless pair), a 0.6 s MP3 tone for onsets, a 60 s MP3 for CPU.
for name, f, d in [("a", 440, 1.2), ("b", 660, 1.2)]:
    sh("ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={f}:duration={d}:sample_rate=48000", "-ac", "1", f"{tmp}/{name}.wav")
sh("ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=550:duration=0.6:sample_rate=44100", "-c:a", "libmp3lame", "-b:a", "128k", f"{tmp}/onset.mp3")
sh("ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=500:duration=60:sample_rate=44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", f"{tmp}/long.mp3")

def capture(out):
    p = subprocess.Popen([sys.executable, f"{rig}/capture.py", "record", out], env=env)
    time.sleep(0.8); return p

def segments(p, out):
    p.send_signal(signal.SIGTERM); p.wait()
    r = subprocess.run([sys.executable, f"{rig}/capture.py", "analyze", out], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["segments"]

def errors(segs, seconds):
    # match each scheduled second to the first segment starting within 0.5 s after it - 50 ms
    out = []
    for s in seconds:
        m = [g for g in segs if -50e6 <= g["start_ns"] - s * 1e9 <= 500e6]
        if m: out.append((m[0]["start_ns"] - s * 1e9) / 1e6)
    return out

def pct(xs, p): xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

def threads(pid):
    """CPU time (ns, from schedstat: exact, not clock ticks) of each live thread, by tid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            ns = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip().rstrip("0123456789-")
            out[tid] = (name, ns)
        except OSError: pass
    return out

def rss_mb(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1]) / 1024
    return 0

def cost(pid, secs):
    """Share of a core over `secs`, the whole process and per thread (threads alive throughout)."""
    a = threads(pid); t0 = time.time(); time.sleep(secs); b = threads(pid); dt = time.time() - t0
    per = {}
    for tid, (name, ns) in b.items():
        if tid in a: per[name] = per.get(name, 0) + 100 * (ns - a[tid][1]) / 1e9 / dt
    return sum(per.values()), rss_mb(pid), per

results = {}

# --- loaxa: a programme every 5 s (first sample on the second), two items back to back.
st = f"{tmp}/station"; os.makedirs(f"{st}/audio/tin"); os.makedirs(f"{st}/audio/nhac-hieu")
shutil.copy(f"{tmp}/a.wav", f"{st}/audio/nhac-hieu/a.wav"); shutil.copy(f"{tmp}/b.wav", f"{st}/audio/tin/2026-01-01 b.wav")
open(f"{st}/schedule.yaml", "w").write("""station: {name: Bench}
library: {settle: 1s}
output: {volume: 1.0}
categories:
  tin: {name: Tin}
  nhac-hieu: {name: Nhac hieu}
programmes:
  - name: P
    when: "*/5 * * * * *"
    segments: [{jingle: nhac-hieu/a.wav}, {category: tin}]
""")
cap = capture(f"{tmp}/loaxa")
d = subprocess.Popen([loaxa, "run", "--config", f"{st}/schedule.yaml"], env={**env, "RUST_LOG": "warn"}, stderr=subprocess.DEVNULL)
t_start = time.time()
time.sleep(5 * a.programmes + 7)
d.send_signal(signal.SIGTERM); d.wait()
segs = segments(cap, f"{tmp}/loaxa")
secs = [s for s in range(int(t_start) + 3, int(time.time())) if s % 5 == 0]
errs = errors(segs, secs)
pairs = [g for g in segs if 2.3 < g["dur_s"] < 2.5]
results["loaxa onset"] = errs
results["loaxa pair"] = [round((g["dur_s"] - 2.4) * 1e3, 2) for g in pairs]
print("loaxa onsets (ms):", [round(e, 2) for e in errs])

# --- loaxa idle and airing cost.
open(f"{st}/schedule.yaml", "w").write("""station: {name: Bench}
library: {settle: 1s}
categories:
  tin: {name: Tin}
programmes:
  - name: P
    when: "0 0 3 * * *"
    segments: [{category: tin}]
""")
d = subprocess.Popen([loaxa, "run", "--config", f"{st}/schedule.yaml"], env={**env, "RUST_LOG": "warn"}, stderr=subprocess.DEVNULL)
time.sleep(15)   # past the idle close of the output
results["loaxa idle"] = cost(d.pid, 45)
sh(loaxa, "play", f"{tmp}/long.mp3", "--config", f"{st}/schedule.yaml", env=env, stdout=subprocess.DEVNULL)
time.sleep(3)
results["loaxa airing mp3"] = cost(d.pid, 45)
d.send_signal(signal.SIGTERM); d.wait()

# --- sleep until the second, then mpg123.
cap = capture(f"{tmp}/mpg123")
secs = []
for k in range(a.programmes):
    t = int(time.time()) + 2; time.sleep(max(0, t - time.time()))
    secs.append(t); subprocess.run(["mpg123", "-q", "-o", "alsa", f"{tmp}/onset.mp3"], env=env)
time.sleep(1)
results["mpg123 onset"] = errors(segments(cap, f"{tmp}/mpg123"), secs)
p = subprocess.Popen(["mpg123", "-q", "-o", "alsa", f"{tmp}/long.mp3"], env=env); time.sleep(3)
results["mpg123 airing mp3"] = cost(p.pid, 45); p.kill(); p.wait()

# --- MPD: `mpc play` on the second.
if shutil.which("mpd") and shutil.which("mpc"):
    m = f"{tmp}/mpd"; os.makedirs(f"{m}/music"); os.makedirs(f"{m}/playlists")
    shutil.copy(f"{tmp}/onset.mp3", f"{m}/music/onset.mp3"); shutil.copy(f"{tmp}/long.mp3", f"{m}/music/long.mp3")
    open(f"{m}/mpd.conf", "w").write(f"""music_directory "{m}/music"
playlist_directory "{m}/playlists"
db_file "{m}/db"
state_file "{m}/state"
pid_file "{m}/pid"
bind_to_address "127.0.0.1"
port "6611"
audio_output {{
  type "alsa"
  name "default"
  device "default"
}}
""")
    menv = {**env, "MPD_PORT": "6611", "MPD_HOST": "127.0.0.1"}
    mpd = subprocess.Popen(["mpd", "--no-daemon", f"{m}/mpd.conf"], env=menv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    sh("mpc", "-q", "update", "--wait", env=menv)
    cap = capture(f"{tmp}/mpd-cap")
    secs = []
    for k in range(a.programmes):
        sh("mpc", "-q", "clear", env=menv); sh("mpc", "-q", "add", "onset.mp3", env=menv)
        t = int(time.time()) + 2; time.sleep(max(0, t - time.time()))
        secs.append(t); sh("mpc", "-q", "play", env=menv)
        time.sleep(1.2)
    results["mpd onset"] = errors(segments(cap, f"{tmp}/mpd-cap"), secs)
    sh("mpc", "-q", "stop", env=menv); time.sleep(12)
    results["mpd idle"] = cost(mpd.pid, 45)
    sh("mpc", "-q", "clear", env=menv); sh("mpc", "-q", "add", "long.mp3", env=menv); sh("mpc", "-q", "play", env=menv); time.sleep(3)
    results["mpd airing mp3"] = cost(mpd.pid, 45)
    mpd.terminate(); mpd.wait()

print()
for k in ["loaxa onset", "mpg123 onset", "mpd onset"]:
    if k in results and results[k]:
        e = results[k]
        print(f"{k:<16} n={len(e):<3} median {statistics.median(e):+7.2f} ms   p99 |err| {pct([abs(x) for x in e], 99):6.2f} ms   min {min(e):+7.2f}  max {max(e):+7.2f}")
if results.get("loaxa pair"):
    e = results["loaxa pair"]
    print(f"loaxa items back to back: {len(e)} pairs heard as one segment; length error median {statistics.median(e):+.2f} ms, max {max(e, key=abs):+.2f} ms (0 = no added silence)")
for k in ["loaxa idle", "mpd idle", "loaxa airing mp3", "mpd airing mp3", "mpg123 airing mp3"]:
    if k in results:
        cpu, rss, per = results[k]
        top = ", ".join(f"{n} {c:.3f}" for n, c in sorted(per.items(), key=lambda x: -x[1]) if c >= 0.005)
        print(f"{k:<18} CPU {cpu:5.2f} % of a core   RSS {rss:6.1f} MB   threads: {top}")
subprocess.run([f"{rig}/stop.sh"], env=env); subprocess.run([f"{rig}/start.sh"], env=env, stdout=subprocess.DEVNULL)
shutil.rmtree(tmp, ignore_errors=True)
