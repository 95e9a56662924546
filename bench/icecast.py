#!/usr/bin/env python3
"""loaxa's Icecast output against Liquidsoap's output.icecast, on the same private icecast2,
in the same run: time from a programme's scheduled second to its first audio at the mount
(as a listener on loopback receives it), CPU per 128 kb/s MP3 stream, and RSS.

Both run without a sound card (loaxa: an Icecast output only, so a soft clock is the
master; Liquidsoap: its own clock) and air the same 1.2 s tone at every 10th second: loaxa
from its schedule, Liquidsoap from a `switch` on time predicates (its way of scheduling).
A listener records each mount's bytes with their arrival times; the first loud sample
after each second is found by decoding the capture with ffmpeg and mapped back to the byte
(128 kb/s CBR: 16 000 bytes a second) that carried it.

usage: bench/icecast.py [--seconds N] [--channels 1|2]      (needs: icecast2, liquidsoap, ffmpeg)"""
import argparse, json, math, os, shutil, signal, socket, statistics, struct, subprocess, tempfile, threading, time, wave

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(); ap.add_argument("--seconds", type=int, default=75)
ap.add_argument("--channels", type=int, default=2, help="1: mono mounts (both), as loudspeakers are"); a = ap.parse_args()
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")

# A private icecast2 on loopback.
ice = tempfile.mkdtemp(prefix="ice-bench-", dir="/tmp"); os.chmod(ice, 0o777)
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
pw = "bench-pw"
open(f"{ice}/icecast.xml", "w").write(f"""<icecast><limits><clients>50</clients><sources>4</sources><burst-on-connect>0</burst-on-connect><burst-size>0</burst-size></limits>
<authentication><source-password>{pw}</source-password><admin-user>admin</admin-user><admin-password>{pw}x</admin-password></authentication>
<hostname>127.0.0.1</hostname><listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
<paths><basedir>{ice}</basedir><logdir>{ice}</logdir><pidfile>{ice}/icecast.pid</pidfile><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
<logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
<security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security></icecast>""")
subprocess.run(["icecast2", "-b", "-c", f"{ice}/icecast.xml"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1)

# The material: a 1.2 s tone, 48 kHz stereo.
d = tempfile.mkdtemp(prefix="loaxa-icebench-")
tone = f"{d}/tone.wav"
with wave.open(tone, "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
    w.writeframes(b"".join(struct.pack("<hh", v, v) for v in (int(16000 * math.sin(2 * math.pi * 550 * i / 48000)) for i in range(int(1.2 * 48000)))))
os.makedirs(f"{d}/audio/tin"); shutil.copy(tone, f"{d}/audio/tin/2026-01-01 tone.wav")
old = time.time() - 120; os.utime(f"{d}/audio/tin/2026-01-01 tone.wav", (old, old))
open(f"{d}/pass", "w").write(pw)
open(f"{d}/schedule.yaml", "w").write(f"""station:
  name: "Bench"
library:
  settle: 1s
categories:
  tin: {{name: Tin}}
outputs:
  - icecast: "http://127.0.0.1:{port}/loaxa.mp3"
    password_file: pass
    bitrate: 128
    channels: {a.channels}
programmes:
  - name: Tone
    when: "*/10 * * * * *"
    segments: [{{category: tin}}]
""")
open(f"{d}/ls.liq", "w").write(f"""settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(false)
settings.frame.audio.samplerate.set(48000)
s = switch(track_sensitive=false, [({{0s or 10s or 20s or 30s or 40s or 50s}}, single("{tone}")), ({{true}}, blank())])
output.icecast(%mp3(bitrate=128, samplerate=48000, stereo={"true" if a.channels == 2 else "false"}), host="127.0.0.1", port={port}, password="{pw}", mount="ls.mp3", fallible=true, s)
""")
procs = {
    "loaxa": subprocess.Popen([loaxa, "run", "--config", f"{d}/schedule.yaml"], stdout=subprocess.DEVNULL, stderr=open(f"{d}/loaxa.log", "w")),
    "liquidsoap": subprocess.Popen(["liquidsoap", f"{d}/ls.liq"], stdout=subprocess.DEVNULL, stderr=open(f"{d}/ls.log", "w")),
}
def mounts():
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=2)
        c.sendall(b"GET /status-json.xsl HTTP/1.0\r\n\r\n")
        body = b""
        while True:
            b = c.recv(65536)
            if not b: break
            body += b
        return body.decode(errors="replace")
    except OSError:
        return ""
t = time.time()
while not ("/loaxa.mp3" in mounts() and "/ls.mp3" in mounts()):
    if time.time() - t > 30: raise SystemExit("the mounts did not come up: " + mounts())
    time.sleep(0.5)
time.sleep(2)

captures = {}
def listen(mount, key):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(f"GET /{mount} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head: head += c.recv(1)
    log, data = [], bytearray()
    captures[key] = (log, data)
    c.settimeout(3)
    end = time.time() + a.seconds
    while time.time() < end:
        try: b = c.recv(4096)
        except socket.timeout: continue
        if not b: break
        data += b; log.append((time.time(), len(data)))
threads = [threading.Thread(target=listen, args=(m, k)) for m, k in [("loaxa.mp3", "loaxa"), ("ls.mp3", "liquidsoap")]]
for t in threads: t.start()

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f: v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
def thread_cpu(pid, name):
    tot = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if open(f"/proc/{pid}/task/{tid}/comm").read().strip().startswith(name):
                tot += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0]) / 1e9
        except OSError: pass
    return tot
def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1]) / 1024
time.sleep(5)
c0 = {k: cpu(p.pid) for k, p in procs.items()}; s0 = thread_cpu(procs["loaxa"].pid, "sink-icecast"); t0 = time.time()
for t in threads: t.join()
c1 = {k: cpu(p.pid) for k, p in procs.items()}; s1 = thread_cpu(procs["loaxa"].pid, "sink-icecast"); t1 = time.time()
mem = {k: rss(p.pid) for k, p in procs.items()}
for p in procs.values(): p.send_signal(signal.SIGTERM)
for p in procs.values(): p.wait(timeout=10)
subprocess.run(["pkill", "-F", f"{ice}/icecast.pid"], check=False)

def onsets(key):
    log, data = captures[key]
    # Drop the bytes before the first whole MP3 frame (the listener joined mid-frame).
    start = next(i for i in range(len(data) - 4) if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0 and data[i + 2] & 0xF0 not in (0, 0xF0))
    path = f"{d}/{key}.mp3"; open(path, "wb").write(bytes(data[start:]))
    pcm = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-"], capture_output=True).stdout
    n = len(pcm) // 2
    samples = struct.unpack(f"<{n}h", pcm[:n * 2])
    def arrival(byte):
        byte += start
        for t, total in log:
            if total >= byte: return t
        return None
    t_first = log[0][0]
    out = []
    # Each 10th second in the capture: the first loud sample after it (20 ms RMS blocks).
    sec = math.ceil(t_first / 10) * 10 + 10
    while sec < log[-1][0] - 2:
        # Search the bytes that arrived from 0.5 s before the second.
        b0 = next(total for t, total in log if t >= sec - 0.5) - start
        i = max(0, int(b0 / 16000 * 48000))
        while i + 960 < n and math.sqrt(sum(x * x for x in samples[i:i + 960:8]) / 120) < 3000: i += 960
        if i + 960 >= n: break
        j = i
        while abs(samples[j]) < 3000: j += 1
        t = arrival(int(j / 48000 * 16000))
        if t: out.append((t - sec) * 1000)
        sec += 10
    return out

res = {}
for k in procs:
    o = onsets(k)
    res[k] = dict(onsets=len(o), median_ms=round(statistics.median(o), 1) if o else None,
                  max_ms=round(max(o), 1) if o else None, min_ms=round(min(o), 1) if o else None,
                  cpu_pct=round((c1[k] - c0[k]) / (t1 - t0) * 100, 2), rss_mb=round(mem[k], 1))
res["loaxa"]["encoder_thread_cpu_pct"] = round((s1 - s0) / (t1 - t0) * 100, 3)
print(json.dumps(res, indent=1))
