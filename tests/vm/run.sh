#!/usr/bin/env bash
# The packaged service on a real system: boots a Debian VM (this machine's release, made
# with debootstrap) whose PID 1 is systemd and whose sound card is an emulated Intel HDA
# (the guest's snd-hda-intel driver: a real ALSA device), installs the package in it and
# runs tests/vm/guest.sh there: loaxa as the `loaxa` user under the hardened unit, an
# emergency bulletin dropped and aired on the card, a kill -9 survived, the console. Then it
# checks, from the recording QEMU made of the card's output, that the bulletins were heard.
#
# Usage: tests/vm/run.sh DEB        (run by scripts/package; needs root for debootstrap)
#        tests/vm/run.sh --prepare  (only make the guest's tree: scripts/test starts this
#                                    early, in the background, while the tests compile)
# The guest's root tree is kept in target/vm/ and made again only when the package list or
# the release changes. QEMU runs with software emulation (TCG): nested KVM is not reliable
# on cloud machines (here the guest hung in early boot), and TCG boots in ~20 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"
prepare_only=false
if [ "${1:-}" = --prepare ]; then prepare_only=true; else
  deb=$(realpath "${1:?usage: tests/vm/run.sh DEB | --prepare}")
fi
work=$repo/target/vm
mkdir -p "$work"
exec 9>"$work/.lock"; flock 9  # one VM (and one debootstrap) at a time
. /etc/os-release
release=${VERSION_CODENAME:?/etc/os-release names no release}
# The Debian mirror this machine's apt uses (it is the one known to be reachable).
apt_mirror() {
  { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}'
  } | grep -v -e security -e '^$' | grep /debian | head -1 || true
}
mirror=${LOAXA_VM_MIRROR:-$(apt_mirror)}
mirror=${mirror:-http://deb.debian.org/debian}
pkgs=systemd-sysv,udev,kmod,linux-image-amd64,libasound2,libopus0,alsa-utils,adduser,curl
base=$work/root-$release
stamp="$release $pkgs"

if [ ! -f "$base/.loaxa-vm" ] || [ "$(cat "$base/.loaxa-vm")" != "$stamp" ]; then
  echo "== vm: debootstrap $release (once; kept in $base)"
  rm -rf "$base" "$base.new"
  if ! debootstrap --variant=minbase --include="$pkgs" "$release" "$base.new" "$mirror" \
      >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2; echo "vm: debootstrap failed (log: $work/debootstrap.log)" >&2; exit 1
  fi
  echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$base.new/etc/fstab"
  echo loaxa-vm >"$base.new/etc/hostname"
  # No login prompt on the serial console: its getty would hang up the tty the test
  # writes its results to (vhangup). The guest needs no network and no time sync either.
  ln -sf /dev/null "$base.new/etc/systemd/system/serial-getty@ttyS0.service"
  ln -sf /dev/null "$base.new/etc/systemd/system/getty@tty1.service"
  echo "$stamp" >"$base.new/.loaxa-vm"
  mv "$base.new" "$base"
fi
if $prepare_only; then echo "== vm: the guest's tree is ready ($base)"; exit 0; fi

# What the guest runs: the package, the script, two test bulletins (pure tones with silence
# around them, so the card's recording shows each one apart).
mkdir -p "$base/root/vm"
rm -f "$base/root/vm"/*
cp "$deb" "$base/root/vm/loaxa.deb"
install -m 755 "$here/guest.sh" "$base/root/vm/guest.sh"
python3 - "$base/root/vm" <<'EOF'
import math, struct, sys, wave
def tone(path, hz, seconds, rate=44100):
    pad = [0] * int(0.3 * rate)
    body = [int(12000 * math.sin(2 * math.pi * hz * n / rate)) for n in range(int(seconds * rate))]
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(pad) * 2 + len(body)}h", *pad, *body, *pad))
tone(sys.argv[1] + "/vm-a.wav", 650, 2.0)
tone(sys.argv[1] + "/vm-b.wav", 1000, 8.0)
EOF
cat >"$base/etc/systemd/system/loaxa-vm-test.service" <<'EOF'
[Unit]
Description=loaxa package test (tests/vm/guest.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/root/vm/guest.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$base/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/loaxa-vm-test.service "$base/etc/systemd/system/multi-user.target.wants/"

echo "== vm: image"
rm -f "$work/root.img"
mkfs.ext4 -q -F -L loaxa-vm -d "$base" "$work/root.img" 3G
kernel=$(ls "$base"/boot/vmlinuz-* | tail -1); initrd=$(ls "$base"/boot/initrd.img-* | tail -1)

echo "== vm: boot (systemd, Intel HDA card), install, test"
rm -f "$work/serial.log" "$work/card.wav"
start=$(date +%s)
# The card's output goes to card.wav at 48 kHz stereo, in real time (QEMU's audio timer).
timeout 900 qemu-system-x86_64 -machine q35,accel=tcg -m 1024 -smp 2 \
  -display none -monitor none -no-reboot \
  -kernel "$kernel" -initrd "$initrd" \
  -append "root=/dev/vda rw console=ttyS0 quiet systemd.show_status=0" \
  -drive file="$work/root.img",format=raw,if=virtio \
  -audiodev wav,id=card,path="$work/card.wav",out.frequency=48000,out.channels=2,out.format=s16 \
  -device intel-hda -device hda-output,audiodev=card \
  -serial file:"$work/serial.log" >"$work/qemu.log" 2>&1 || {
    echo "vm: qemu failed or timed out after $(( $(date +%s) - start )) s:" >&2
    tail -5 "$work/qemu.log" >&2; tail -40 "$work/serial.log" >&2; exit 1; }
echo "== vm: ran $(( $(date +%s) - start )) s"

grep -a "LOAXA-VM" "$work/serial.log" | tr -d '\r' | grep -v "LOAXA-VM: row " || true
done_line=$(grep -a "LOAXA-VM-DONE" "$work/serial.log" | tr -d '\r' | tail -1)
[ -n "$done_line" ] || { echo "vm: the guest test did not finish; its console:" >&2; tail -40 "$work/serial.log" >&2; exit 1; }
[ "$done_line" = "LOAXA-VM-DONE 0" ] || { echo "vm: $done_line check(s) failed (above)" >&2; exit 1; }

# What the card played, in order: vm-a's 2 s of 650 Hz, vm-b's 8 s of 1000 Hz cut short by
# the kill, then vm-b again, whole, then vm-c (vm-a's tone) through `plughw:` (each after the
# alert sweep, whose steps are other tones).
# A bulletin is the runs of its tone with only silence or clicks (< 60 ms) between them, for
# at most 0.5 s: the emulated machine underruns now and then (ALSA's dmix holds two periods
# of 1024 frames), which delays the rest of the bulletin without losing any of it, so its
# tone must add up to its length; the breaks are reported.
python3 "$repo/tests/rig/capture.py" wav-tones "$work/card.wav" >"$work/card.json"
python3 - "$work/card.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
heard = []  # [hz, start, end, tone seconds, breaks]
between = 0.0  # seconds of something else since the last bulletin tone
for r in t["tones"]:
    if r["hz"] == 0 or r["dur_s"] < 0.06:
        between += r["dur_s"]
        continue
    if r["hz"] not in (650, 1000):
        between = 99
        continue
    end = r["start_s"] + r["dur_s"]
    if heard and heard[-1][0] == r["hz"] and between <= 0.5:
        h = heard[-1]
        if between > 0:
            h[4].append(round(between, 2))
        h[2], h[3] = end, h[3] + r["dur_s"]
    else:
        heard.append([r["hz"], r["start_s"], end, r["dur_s"], []])
    between = 0.0
heard = [h for h in heard if h[3] >= 0.5]
print(f"== vm: the card played {t['capture_s']:.1f} s; bulletins heard: " + ", ".join(
    f"{hz} Hz {tone:.2f} s at {s0:.2f} s" + (f" (breaks {br} s)" if br else "")
    for hz, s0, _, tone, br in heard))
want = ("650 Hz 2.0 s, then 1000 Hz for less than 7 s (cut), then 1000 Hz 8.0 s (whole), "
        "then 650 Hz 2.0 s (through plughw:)")
ok = (len(heard) == 4 and heard[0][0] == 650 and abs(heard[0][3] - 2.0) <= 0.15
      and heard[1][0] == 1000 and heard[1][3] < 7.0
      and heard[2][0] == 1000 and abs(heard[2][3] - 8.0) <= 0.15
      and heard[2][2] - heard[2][1] <= 9.0
      and heard[3][0] == 650 and abs(heard[3][3] - 2.0) <= 0.15)
if not ok:
    # What the detector saw in and around each bulletin (20 ms windows): where tone is
    # missing, and whether it was cut, chopped or played twice.
    for hz, s0, e0, _, _ in heard:
        near = [r for r in t["tones"] if r["start_s"] + r["dur_s"] >= s0 - 0.3 and r["start_s"] <= e0 + 0.3]
        print(f"vm: runs around {hz} Hz at {s0:.2f} s: " + " ".join(
            f"{r['hz']}@{r['start_s']:.2f}+{r['dur_s']:.2f}" for r in near))
    sys.exit(f"vm: the card did not play {want}")
EOF
echo "vm check passed"
