#!/usr/bin/env python3
"""Hostile input against a live daemon: ≥50 kinds of bad audio dropped into a hot folder,
≥70 bad or hostile schedule.yaml edits (each one reloaded), and abuse of the control
socket, while a reference programme airs every 10 s. Counts crashes, hangs (status not
answering within 5 s) and airings lost (reference starts without a completed row).

usage: bench/hostile.py        (builds --release; the null output, no sound card needed)"""
import json, math, os, random, resource, shutil, signal, socket, sqlite3, struct, subprocess, sys, tempfile, time, wave

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
loaxa = os.path.join(root, "target/release/loaxa")
st = tempfile.mkdtemp(prefix="loaxa-hostile-")
audio = os.path.join(st, "audio")
cfg = os.path.join(st, "schedule.yaml")
random.seed(3)

def wav(path, secs, freq=440, rate=16000, amp=12000, channels=1):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(channels); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * freq * i / rate))) * channels for i in range(int(secs * rate))))
    old = time.time() - 120
    os.utime(path, (old, old))

GOOD = """station:
  name: "Đài thử"
library:
  settle: 1s
categories:
  tin: {name: Tin, pick: all}
  ref: {name: Ref}
programmes:
  - name: Ref
    when: "*/10 * * * * *"
    segments: [{category: ref}]
"""
wav(f"{audio}/ref/2026-01-01 ref.wav", 2.0)
os.makedirs(f"{audio}/tin", exist_ok=True)
open(cfg, "w").write(GOOD)
log = os.path.join(st, "daemon.log")
p = subprocess.Popen([loaxa, "run", "--output", "null", "--config", cfg], env={**os.environ, "RUST_LOG": "info"},
                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))
time.sleep(2)
t_start = time.time()
counts = dict(bad_audio=0, bad_configs=0, socket_attacks=0, crashes=0, hangs=0, busy_answers=0)

def status_ok():
    """An answer within 5 s: the status, or a prompt `busy` while the socket is flooded."""
    t = time.time()
    while time.time() - t < 5:
        try:
            r = subprocess.run([loaxa, "status", "--config", cfg], capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        if r.returncode == 0:
            return True
        if b"try again" in r.stderr:
            counts["busy_answers"] += 1
            return True
        time.sleep(0.2)
    return False

def check(phase):
    if p.poll() is not None:
        counts["crashes"] += 1
        print(f"CRASH after {phase}", file=sys.stderr)
        sys.exit(1)
    if not status_ok():
        counts["hangs"] += 1
        print(f"HANG after {phase}", file=sys.stderr)

# 1. Bad audio.
d = f"{audio}/tin"
def raw(name, data):
    with open(os.path.join(d, name), "wb") as f: f.write(data)
def hdr(rate=16000, ch=1, bits=16, data_len=32000, fmt=1):
    return (b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, fmt, ch, rate, rate * ch * bits // 8, ch * bits // 8, bits)
            + b"data" + struct.pack("<I", data_len))
bad = []
for ext in ["mp3", "wav", "ogg", "flac", "m4a", "opus", "aac"]:
    bad.append((f"rỗng.{ext}", b""))
    bad.append((f"rác.{ext}", os.urandom(20000)))
    bad.append((f"chữ.{ext}", "đây không phải âm thanh\n".encode() * 100))
bad += [
    ("đầu-wav.wav", hdr()), ("10 byte.wav", hdr()[:10]), ("44 byte.wav", hdr()[:44]),
    ("0 kênh.wav", hdr(ch=0) + b"\0" * 32000), ("0 Hz.wav", hdr(rate=0) + b"\0" * 32000),
    ("1 Hz.wav", hdr(rate=1) + b"\1\2" * 100), ("32 kênh.wav", hdr(ch=32) + os.urandom(32000)),
    ("3 bit.wav", hdr(bits=3) + os.urandom(32000)), ("float lạ.wav", hdr(fmt=77) + os.urandom(32000)),
    ("hứa 1 ngày.wav", hdr(data_len=16000 * 2 * 86400) + os.urandom(32000)),
    ("id3.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\0" * 16), ("id3 rác.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + os.urandom(5000)),
    ("html.mp3", b"<html><body>404</body></html>"), ("png.wav", b"\x89PNG\r\n\x1a\n" + os.urandom(3000)),
    ("zip.flac", b"PK\x03\x04" + os.urandom(3000)), ("ogg rác.ogg", b"OggS" + os.urandom(3000)),
    ("fLaC rác.flac", b"fLaC" + os.urandom(3000)), ("ftyp rác.m4a", b"\0\0\0\x20ftypM4A " + os.urandom(3000)),
]
for name, data in bad:
    raw(name, data)
wav(f"{d}/im lặng.wav", 5.0, amp=0)
wav(f"{d}/ngắn.wav", 0.5)
wav(f"{d}/rất dài tên {'x' * 200}.wav", 1.5)
wav(f"{d}/Ba\u0309n tin.wav", 1.5)   # NFD
wav(f"{d}/Bản tin.wav", 1.5)          # NFC twin
wav(f"{d}/-rf.wav", 1.5)
wav(f"{d}/dòng\nmới.wav", 1.5)
wav(f"{d}/.ẩn.wav", 1.5)
with open(os.path.join(d.encode(), b"bad-\xff\xfe.wav"), "wb") as f: f.write(open(f"{d}/ngắn.wav", "rb").read())
os.mkfifo(f"{d}/ống.mp3")
s_ = socket.socket(socket.AF_UNIX); s_.bind(f"{d}/ổ cắm.mp3")
os.symlink(f"{d}/không có.mp3", f"{d}/gãy.mp3")
os.symlink(f"{d}/vòng.mp3", f"{d}/vòng.mp3")
os.symlink("/etc/passwd", f"{d}/passwd.mp3")
os.symlink("/dev/zero", f"{d}/zero.wav")
os.makedirs(f"{d}/thư mục.mp3")
with open(f"{d}/thưa.wav", "wb") as f: f.write(hdr(data_len=2**31)); f.truncate(2**30)   # 1 GB sparse
wav(f"{d}/có sidecar.wav", 1.5)
for name, text in [("có sidecar.yaml", "title: [unclosed\n"), ("ngắn.yaml", "valid_from: 2026-12-02\nvalid_until: 2026-12-01\n"),
                   ("im lặng.yaml", "title: " + "x" * 1_000_000 + "\n"), ("-rf.yaml", "\0\1\2binary")]:
    open(os.path.join(d, name), "w").write(text)
grow = open(f"{d}/đang lớn.wav", "wb"); grow.write(hdr(data_len=10**8))
n_bad = len(bad) + 9 + 7 + 1 + 4 + 1
counts["bad_audio"] = n_bad
for i in range(20):
    grow.write(os.urandom(4000)); grow.flush(); time.sleep(0.25)
check("bad audio")
time.sleep(5)
check("bad audio, settled")

# 2. Bad and hostile configs, each saved over the running one.
base = GOOD
muts = []
for k in ["station", "library", "categories", "programmes", "output", "paths", "emergency", "quiet_hours", "catch_up", "outputs"]:
    muts.append(base + f"{k}: [1, 2\n")
    muts.append(base + f"{k}x: 1\n")
for cron in ["", "*", "61 * * * *", "* * * * * * *", "@yearlyy", "*/0 * * * *", "1-99 * * * *", "MON * * * *", "* * 32 * *", "\u0000"]:
    muts.append(base.replace('"*/10 * * * * *"', json.dumps(cron)))
for dur in ["0s", "-1s", "1y", "99999999999h", "abc", "10", "1.5m"]:
    muts.append(base.replace("settle: 1s", f"settle: {dur}"))
    muts.append(base + f"catch_up: {dur}\n")
muts += [
    "", "\ufeff", "\ufeff" + base.replace("Ref", "Ré", 1), "---\n---\n", "a: b\n" * 10000, base + "x: " + "[" * 100_000 + "\n",
    base + "x: " + "{a: " * 5000 + "\n", "x: &a [" + ",".join(["*a"] * 10) + "]\n",
    "a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    base + "# " + "x" * 2_000_000 + "\n", base.encode("utf-16").decode("latin-1"), base.replace("name: \"Đài thử\"", "name: \"\""),
    base.replace("tin: {name: Tin, pick: all}", "tin: {name: Tin, pick: sometimes}"), base.replace("{category: ref}", "{category: nope}"),
    base.replace("{category: ref}", "{jingle: ../../../../etc/passwd}"), base.replace("{category: ref}", "{file: /dev/zero}"),
    base + "quiet_hours: \"00:00-23:59\"\n", base + "quiet_hours: \"25:00-26:00\"\n", base + "emergency: {category: tin, repeat: 0}\n",
    base + "emergency: {category: tin, every: 0s}\n", base + "outputs: [{wav: /proc/x}, {device: a}, {device: b}]\n",
    base.replace("Asia", "Asai") + "station: {timezone: Mars/Olympus}\n", "\t" + base, base.replace("  ", "\t"),
    base + "programmes:\n" + "".join(f"  - name: P{i}\n    when: \"{i % 60} * * * * *\"\n    segments: [{{category: tin}}]\n" for i in range(2000)),
    base.replace('"*/10 * * * * *"', '"* * * * * *"') + "  - name: B\n    when: \"* * * * * *\"\n    segments: [{category: ref}]\n",
]
raw_muts = [b"\xff\xfe\xfd" * 100, os.urandom(5000), b"station:\n  name: \"\xd0ai\"\n"]
counts["bad_configs"] = len(muts) + len(raw_muts)
for m in muts:
    open(cfg, "w").write(m); time.sleep(0.6)
for m in raw_muts:
    open(cfg, "wb").write(m); time.sleep(0.6)
check("bad configs")
open(cfg, "w").write(GOOD)
time.sleep(2)
check("good config back")

# 3. The control socket.
sock_path = os.path.join(st, "state/control.sock")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
idle = []
for _ in range(1100):
    try:
        c = socket.socket(socket.AF_UNIX); c.connect(sock_path); idle.append(c)
    except OSError:
        break
counts["socket_attacks"] += 1
time.sleep(1); check("1100 idle connections")
for c in idle: c.close()
big = socket.socket(socket.AF_UNIX); big.connect(sock_path)
try:
    big.sendall(b"x" * (50 * 1024 * 1024))
except OSError:
    pass
big.close(); counts["socket_attacks"] += 1; check("a 50 MB line")
for line in [b"{\"cmd\":\"play\",\"category\":\"" + b"x" * 10_000_000 + b"\"}\n", b"\xff\xfe\n", b"{\"cmd\":\"play\",\"item\":\"../../../etc/passwd\"}\n",
             b"{\"cmd\":\"play\",\"item\":\"" + b"../" * 1000 + b"\"}\n", b"[" * 100000 + b"\n", b"{\"cmd\":\"events\"}\n"]:
    c = socket.socket(socket.AF_UNIX); c.connect(sock_path)
    try:
        c.sendall(line); c.settimeout(3); c.recv(300)
    except OSError:
        pass
    c.close(); counts["socket_attacks"] += 1
check("hostile lines")
for _ in range(5000):
    c = socket.socket(socket.AF_UNIX); c.connect(sock_path); c.close()
counts["socket_attacks"] += 1
check("5000 connects")

# The daemon's library still takes a good file after all that.
def ready_count():
    r = subprocess.run([loaxa, "status", "--format", "json", "--config", cfg], capture_output=True)
    try:
        return json.loads(r.stdout)["library"].get("ready", 0)
    except Exception:
        return -1
before_ready = ready_count()
wav(f"{audio}/tin/2026-02-02 sau cùng.wav", 1.5)
library_alive = False
t = time.time()
while time.time() - t < 20 and not library_alive:
    library_alive = ready_count() > before_ready
    time.sleep(0.5)
counts["library_alive_at_end"] = library_alive
# Let the reference programme air a little more, then count.
time.sleep(12)
t_end = time.time()
p.send_signal(signal.SIGTERM); p.wait(timeout=10)
c = sqlite3.connect(os.path.join(st, "state/airtime.db"))
# Every start of the reference programme in the run, from the schedule itself (every 10 s),
# against the rows: each must have aired whole.
first = int(t_start // 10 + 1) * 10
slots = [first + 10 * i for i in range(int((t_end - 3 - first) // 10) + 1)]
done = {r[0] // 1000 for r in c.execute(
    "SELECT scheduled_at FROM airings WHERE programme = 'Ref' AND title = 'ref' AND status = 'completed'")}
counts["reference_slots"] = len(slots)
counts["reference_airings_completed"] = sum(1 for t in slots if t in done)
counts["airings_lost"] = len(slots) - counts["reference_airings_completed"]
log_text = open(log).read()
counts["decoder_panics_caught"] = log_text.count("panicked")
counts["daemon_log_lines"] = log_text.count("\n")
print(json.dumps(counts, indent=1))
