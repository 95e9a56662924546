#!/usr/bin/env python3
"""Records the rig's monitor with wall-clock time for every read, and finds the sound in it.

capture.py record OUT [--seconds N] [--device SRC]   writes OUT.raw (s16le mono 48 kHz) and OUT.json (reads)
capture.py analyze OUT [--threshold 0.02]   prints JSON: segments with wall-clock start/end (ns)
capture.py tones OUT [--threshold 0.02]     prints JSON: runs of one pure tone (Hz, to 50 Hz; 0 is
                                            silence) with wall-clock start/end (ns), and the segments
capture.py wav-tones FILE.wav [--threshold 0.02]  prints JSON: the same tone runs of a WAV file, in
                                            seconds from its start

Anchoring: sample n arrived no later than the read that returned it, so the wall-clock time
of sample 0 is at most (read time - samples so far / rate) for every read; the tightest such
bound anchors the capture. Each segment is anchored on the reads around its own onset, so the
sink's clock drift over a long capture does not add up."""
import argparse, array, json, os, signal, subprocess, sys, time

RATE = 48000

def record(a):
    stop = False
    def _s(*_):
        nonlocal stop; stop = True
    signal.signal(signal.SIGTERM, _s); signal.signal(signal.SIGINT, _s)
    p = subprocess.Popen(["parec", f"--device={a.device}", "--format=s16le", f"--rate={RATE}", "--channels=1",
                          "--latency-msec=5", "--raw"], stdout=subprocess.PIPE, bufsize=0)
    fd = p.stdout.fileno(); total = 0; reads = []; end = time.monotonic() + a.seconds
    with open(a.out + ".raw", "wb") as f:
        while not stop and time.monotonic() < end:
            try: b = os.read(fd, 4096)
            except InterruptedError: continue
            t = time.time_ns()
            if not b: break
            f.write(b); total += len(b); reads.append([t, total])
    p.terminate(); p.wait()
    json.dump({"rate": RATE, "reads": reads}, open(a.out + ".json", "w"))

def analyze(a):
    print(json.dumps(segments(a)))

def segments(a):
    meta = json.load(open(a.out + ".json")); rate = meta["rate"]; reads = meta["reads"]
    x = array.array("h"); x.frombytes(open(a.out + ".raw", "rb").read())
    thr = int(a.threshold * 32767); win = rate // 1000
    loud = [max((abs(v) for v in x[i:i + win]), default=0) > thr for i in range(0, len(x), win)]
    segs = []; i = 0; gap = int(a.min_gap_ms)
    while i < len(loud):
        if loud[i]:
            j = i
            while j < len(loud) and loud[j]: j += 1
            if segs and i - segs[-1][1] <= gap: segs[-1][1] = j
            else: segs.append([i, j])
            i = j
        else: i += 1
    def first(wi):
        for k in range(wi * win, min(len(x), wi * win + win)):
            if abs(x[k]) > thr: return k
        return wi * win
    def last(wj):
        for k in range(min(len(x), wj * win) - 1, (wj - 1) * win - 1, -1):
            if abs(x[k]) > thr: return k + 1
        return wj * win
    def t_of(n):
        # anchor on reads within 2 s of sample n (skipping the first read: it may hold a backlog)
        near = [t - (nb // 2 - n) * 1e9 / rate for t, nb in reads[1:] if abs(nb // 2 - n) < 2 * rate]
        if not near: near = [t - (nb // 2 - n) * 1e9 / rate for t, nb in reads]
        return min(near)
    out = []
    for s, e in segs:
        a0, b0 = first(s), last(e)
        out.append({"start_ns": int(t_of(a0)), "end_ns": int(t_of(b0)), "dur_s": round((b0 - a0) / rate, 4)})
    return {"capture_s": len(x) / rate, "segments": out}

def tone_runs(x, rate, thr):
    """Which tone sounds when, 20 ms at a time (zero crossings of a pure tone give its
    frequency, to 50 Hz; 0 is silence); runs of the same tone are merged into
    [hz, first sample, end sample].
    Each window counts the crossing between its first sample and the one before it: 20 ms
    of a 650 Hz tone hold 26 crossings, and one that fell between two windows, counted in
    neither, read as 25, "600 Hz", for as long as the tone's phase stayed there (0.22 s in
    the VM test of CI run 43)."""
    win = rate // 50; runs = []
    for i in range(0, len(x) - win + 1, win):
        w = x[i:i + win]
        if max(abs(v) for v in w) <= thr: f = 0
        else:
            pairs = zip(x[i - 1:i + win], w) if i > 0 else zip(w, w[1:])
            zc = sum(1 for p, q in pairs if (p < 0) != (q < 0))
            f = int(round(zc / 2 * 50 / 50.0)) * 50
        if runs and runs[-1][0] == f: runs[-1][2] = i + win
        else: runs.append([f, i, i + win])
    return runs

def tones(a):
    meta = json.load(open(a.out + ".json")); rate = meta["rate"]; reads = meta["reads"]
    x = array.array("h"); x.frombytes(open(a.out + ".raw", "rb").read())
    thr = int(a.threshold * 32767)
    def t_of(n):
        near = [t - (nb // 2 - n) * 1e9 / rate for t, nb in reads[1:] if abs(nb // 2 - n) < 2 * rate]
        if not near: near = [t - (nb // 2 - n) * 1e9 / rate for t, nb in reads]
        return min(near)
    out = [{"hz": f, "start_ns": int(t_of(s0)), "end_ns": int(t_of(e0)), "dur_s": round((e0 - s0) / rate, 3)}
           for f, s0, e0 in tone_runs(x, rate, thr)]
    seg = segments(a)
    print(json.dumps({"capture_s": len(x) / rate, "tones": out, "segments": seg["segments"]}))

def wav_tones(a):
    """The tone runs of a 16-bit WAV file (its first channel), in seconds from its start: what
    a recording made elsewhere (the test VM's sound card, tests/vm) played."""
    import wave
    with wave.open(a.wav) as w:
        if w.getsampwidth() != 2: sys.exit(f"{a.wav}: not 16-bit PCM")
        rate, ch = w.getframerate(), w.getnchannels()
        x = array.array("h"); x.frombytes(w.readframes(w.getnframes()))
    x = x[::ch]
    out = [{"hz": f, "start_s": round(s0 / rate, 3), "dur_s": round((e0 - s0) / rate, 3)}
           for f, s0, e0 in tone_runs(x, rate, int(a.threshold * 32767))]
    print(json.dumps({"capture_s": len(x) / rate, "tones": out}))

ap = argparse.ArgumentParser(); sub = ap.add_subparsers(dest="cmd", required=True)
r = sub.add_parser("record"); r.add_argument("out"); r.add_argument("--seconds", type=float, default=3600); r.add_argument("--device", default="rig.monitor")
z = sub.add_parser("analyze"); z.add_argument("out"); z.add_argument("--threshold", type=float, default=0.02); z.add_argument("--min-gap-ms", type=float, default=3)
t = sub.add_parser("tones"); t.add_argument("out"); t.add_argument("--threshold", type=float, default=0.02); t.add_argument("--min-gap-ms", type=float, default=3)
w = sub.add_parser("wav-tones"); w.add_argument("wav"); w.add_argument("--threshold", type=float, default=0.02)
a = ap.parse_args()
{"record": record, "analyze": analyze, "tones": tones, "wav-tones": wav_tones}[a.cmd](a)
