#!/usr/bin/env python3
"""loaxa's relays and live input against Liquidsoap's `fallback` + `blank.strip` (its blank
detection) and `input.pulseaudio`, on the same private audio rig, in the same run.

One upstream station (ffmpeg: a 1000 Hz tone as 128 kb/s MP3 to a private icecast2) is
relayed by both at once, each to its own PulseAudio null sink, with a local fallback (a
500 Hz file); both monitors are recorded with wall-clock times (tests/rig/capture.py).
Per cycle: the relay window opens on a whole second (loaxa: a `relay:` segment; Liquidsoap:
a `switch` on a time predicate), the upstream is killed 8 s in and started again 8 s later.
Measured: switch-in error at the second, time from the upstream's death to the fallback
heard, time from its return to the stream heard again, CPU while relaying (both processes'
CPU time over the windows). Then the microphone: beeps played into a null sink whose
monitor both capture (loaxa: `play --live`; Liquidsoap: input.pulseaudio → output), each
beep's delay from microphone to output.

The silence threshold is 2 s for both (loaxa `alarms.after`, Liquidsoap `max_blank`).

usage: bench/relay.py [--cycles N]      (needs: pulseaudio, icecast2, liquidsoap, ffmpeg)"""
import argparse, datetime, json, math, os, shutil, signal, socket, statistics, struct, subprocess, sys, tempfile, time, wave

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(); ap.add_argument("--cycles", type=int, default=3); a = ap.parse_args()
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")
capture = os.path.join(root, "tests/rig/capture.py")
WINDOW, KILL, BACK, CYCLE = 24, 8, 16, 32

# A private rig: `rig` (loaxa's ALSA default), `ls` (Liquidsoap's sink), `mic`.
rig = tempfile.mkdtemp(prefix="relay-bench-rig-", dir="/tmp")
env = dict(os.environ, RIG_DIR=rig)
subprocess.run([f"{root}/tests/rig/start.sh"], env=env, check=True, stdout=subprocess.DEVNULL)
env.update({k: v for k, v in (l.split("=", 1) for l in subprocess.run(
    ["bash", "-c", f". {root}/tests/rig/env.sh && env"], env=env, capture_output=True, text=True).stdout.splitlines() if "=" in l)
    if k in ("RIG_DIR", "XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_COOKIE", "PULSE_SINK")})
for m in (["module-null-sink", "sink_name=ls", "rate=48000", "channels=2"], ["module-null-sink", "sink_name=mic", "rate=48000", "channels=1"]):
    subprocess.run(["pactl", "load-module", *m], env=env, check=True, stdout=subprocess.DEVNULL)
subprocess.run(["pactl", "set-default-source", "mic.monitor"], env=env, check=True)
pins = [subprocess.Popen(["parec", "--device=ls.monitor", "--format=s16le", "--rate=8000", "--channels=1",
                          "--latency-msec=5", "--raw"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]

# A private icecast2 and the upstream.
ice = tempfile.mkdtemp(prefix="ice-relay-bench-", dir="/tmp"); os.chmod(ice, 0o777)
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
pw = "bench-pw"
open(f"{ice}/icecast.xml", "w").write(f"""<icecast><limits><clients>50</clients><sources>4</sources><burst-on-connect>0</burst-on-connect><burst-size>0</burst-size><source-timeout>3</source-timeout></limits>
<authentication><source-password>{pw}</source-password><admin-user>admin</admin-user><admin-password>{pw}x</admin-password></authentication>
<hostname>127.0.0.1</hostname><listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
<paths><basedir>{ice}</basedir><logdir>{ice}</logdir><pidfile>{ice}/icecast.pid</pidfile><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
<logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
<security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security></icecast>""")
subprocess.run(["icecast2", "-b", "-c", f"{ice}/icecast.xml"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
up_url = f"http://127.0.0.1:{port}/up.mp3"

def upstream():
    p = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100",
                          "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg", "-f", "mp3",
                          f"icecast://source:{pw}@127.0.0.1:{port}/up.mp3"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=2); c.sendall(b"GET /status-json.xsl HTTP/1.0\r\n\r\n")
            body = b""
            while True:
                b = c.recv(65536)
                if not b: break
                body += b
            if b"/up.mp3" in body: return p
        except OSError: pass
        time.sleep(0.05)
    sys.exit("the upstream did not reach icecast2")

# The material: a 500 Hz fallback file (30 s), a microphone's beeps.
d = tempfile.mkdtemp(prefix="loaxa-relaybench-")
def wav(path, rate, ch, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(ch); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<" + "h" * ch, *([v] * ch)) for v in samples))
os.makedirs(f"{d}/audio/nen")
fb = f"{d}/audio/nen/2026-01-01 nen.wav"
wav(fb, 48000, 2, (int(12000 * math.sin(2 * math.pi * 500 * i / 48000)) for i in range(30 * 48000)))
old = time.time() - 120; os.utime(fb, (old, old))
wav(f"{d}/beeps.wav", 48000, 1, (int(16000 * math.sin(2 * math.pi * 1000 * i / 48000)) if (i % 48000) < 9600 else 0 for i in range(8 * 48000)))

start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=12)
starts = [start + datetime.timedelta(seconds=CYCLE * k) for k in range(a.cycles)]
tz = "Asia/Ho_Chi_Minh"
def local(t): return t.astimezone(datetime.timezone(datetime.timedelta(hours=7)))
progs = "".join(f"""  - name: "Relay {k}"
    when: "{local(t).second} {local(t).minute} {local(t).hour} * * *"
    segments:
      - relay: "{up_url}"
        duration: {WINDOW}s
        fallback: [{{file: "nen/2026-01-01 nen.wav"}}]
""" for k, t in enumerate(starts))
open(f"{d}/schedule.yaml", "w").write(f"""station:
  name: "Bench"
  timezone: {tz}
library:
  settle: 1s
categories:
  nen: {{name: Nền}}
alarms:
  after: 2s
programmes:
{progs}""")
def hms(t): return f"{t.hour}h{t.minute:02d}m{t.second:02d}s"
preds = "{ " + " or ".join(f"{hms(t)}-{hms(t + datetime.timedelta(seconds=WINDOW - 1))}" for t in starts) + " }"
open(f"{d}/ls.liq", "w").write(f"""settings.init.allow_root.set(true)
settings.log.stdout.set(true)
settings.log.file.set(false)
settings.frame.audio.samplerate.set(48000)
up = input.http("{up_url}")
up = blank.strip(max_blank=2., threshold=-45., up)
relay = fallback(track_sensitive=false, [up, single("{fb}")])
s = switch(track_sensitive=false, [({preds}, relay), ({{true}}, blank())])
output.pulseaudio(device="ls", s)
""")

if subprocess.run(["liquidsoap", "--check", f"{d}/ls.liq"], capture_output=True).returncode != 0:
    sys.exit(f"liquidsoap refuses {d}/ls.liq")
up = upstream()
caps = {n: subprocess.Popen(["python3", capture, "record", f"{d}/{n}", f"--device={dev}"], env=env)
        for n, dev in (("loaxa", "rig.monitor"), ("liquidsoap", "ls.monitor"), ("mic", "mic.monitor"))}
time.sleep(0.7)
procs = {
    "loaxa": subprocess.Popen([loaxa, "run", "--config", f"{d}/schedule.yaml"], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{d}/loaxa.log", "w")),
    "liquidsoap": subprocess.Popen(["liquidsoap", f"{d}/ls.liq"], env=dict(env, TZ="UTC"), stdout=open(f"{d}/ls.log", "w"), stderr=subprocess.STDOUT),
}
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def sleep_until(t):
    dt = (t - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    if dt > 0: time.sleep(dt)
cpu_used = {n: 0.0 for n in procs}; kills, backs = [], []
for t in starts:
    sleep_until(t)
    c0 = {n: cpu(p.pid) for n, p in procs.items()}
    sleep_until(t + datetime.timedelta(seconds=KILL)); up.kill(); up.wait(); kills.append(time.time())
    sleep_until(t + datetime.timedelta(seconds=BACK)); up = upstream(); backs.append(time.time())
    sleep_until(t + datetime.timedelta(seconds=WINDOW))
    for n, p in procs.items(): cpu_used[n] += cpu(p.pid) - c0[n]
time.sleep(2)

# The microphone: loaxa goes live, Liquidsoap relays the same source; beeps into it.
open(f"{d}/mic.liq", "w").write("""settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(false)
settings.frame.audio.samplerate.set(48000)
output.pulseaudio(device="ls", fallible=true, input.pulseaudio(device="mic.monitor"))
""")
procs["liquidsoap"].send_signal(signal.SIGTERM); procs["liquidsoap"].wait()
lsmic = subprocess.Popen(["liquidsoap", f"{d}/mic.liq"], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{d}/lsmic.log", "w"))
subprocess.run([loaxa, "play", "--live", "--for", "12s", "--config", f"{d}/schedule.yaml"], env=env, check=True, stdout=subprocess.DEVNULL)
time.sleep(2)
subprocess.run(["paplay", "--device=mic", f"{d}/beeps.wav"], env=env, check=True)
time.sleep(1.5)
for p in (procs["loaxa"], lsmic, *caps.values(), up, *pins):
    p.send_signal(signal.SIGTERM); p.wait()
try:
    os.kill(int(open(f"{ice}/icecast.pid").read()), signal.SIGKILL)
except Exception: pass
subprocess.run([f"{root}/tests/rig/stop.sh"], env=env, stdout=subprocess.DEVNULL)

def analyse(n, what):
    return json.loads(subprocess.run(["python3", capture, what, f"{d}/{n}"], capture_output=True, text=True, check=True).stdout)
mic = analyse("mic", "analyze")["segments"]
res = {}
for n in ("loaxa", "liquidsoap"):
    r = analyse(n, "tones")
    tones = [x for x in r["tones"] if x["hz"] == 0 or x["dur_s"] >= 0.2]
    segs = r["segments"]
    sw, fall, back = [], [], []
    for k, t in enumerate(starts):
        tn = t.timestamp() * 1e9
        on = [s for s in segs if abs(s["start_ns"] - tn) < 1e9]
        if on: sw.append((min(on, key=lambda s: abs(s["start_ns"] - tn))["start_ns"] - tn) / 1e6)
        f = [x for x in tones if x["hz"] == 500 and x["start_ns"] > kills[k] * 1e9 - 5e8 and x["start_ns"] < tn + WINDOW * 1e9]
        if f: fall.append((f[0]["start_ns"] - kills[k] * 1e9) / 1e6)
        b = [x for x in tones if x["hz"] == 1000 and x["start_ns"] > backs[k] * 1e9 and x["start_ns"] < tn + WINDOW * 1e9]
        if b: back.append((b[0]["start_ns"] - backs[k] * 1e9) / 1e6)
    out = segs
    beeps = [m for m in mic if m["start_ns"] > starts[-1].timestamp() * 1e9 + WINDOW * 1e9]
    lat = []
    for m in beeps:
        o = [s for s in out if 0 < s["start_ns"] - m["start_ns"] < 900e6]
        if o: lat.append((o[0]["start_ns"] - m["start_ns"]) / 1e6)
    res[n] = {"switch_in_ms": sw, "death_to_fallback_ms": fall, "back_to_primary_ms": back,
              "cpu_pct": 100 * cpu_used[n] / (WINDOW * a.cycles), "mic_to_air_ms": lat}

def fmt(xs): return "—" if not xs else f"{statistics.median(xs):+.1f} (min {min(xs):+.1f}, max {max(xs):+.1f}, n={len(xs)})"
print(f"{a.cycles} relay windows of {WINDOW} s; upstream killed {KILL} s in, back {BACK - KILL} s later; threshold 2 s")
for n, r in res.items():
    print(f"\n{n}")
    print(f"  switch-in error at the second (ms): {fmt(r['switch_in_ms'])}")
    print(f"  upstream death → fallback heard (ms): {fmt(r['death_to_fallback_ms'])}")
    print(f"  upstream back → stream heard (ms): {fmt(r['back_to_primary_ms'])}")
    print(f"  CPU while relaying: {r['cpu_pct']:.2f} % of a core")
    print(f"  microphone → output (ms): {fmt(r['mic_to_air_ms'])}")
json.dump(res, open(f"{d}/result.json", "w"), indent=1)
print(f"\n(raw: {d}/result.json)")
