#!/bin/sh
# Runs inside the test VM (tests/vm/run.sh), as root, once systemd has booted: installs the
# Debian package the way a technician does, then checks that the packaged unit runs loaxa as
# the `loaxa` user under its hardening, on the VM's emulated sound card (snd-hda-intel, a
# real ALSA device), that a bulletin dropped in the emergency folder airs and is logged,
# that a kill -9 mid-bulletin is survived (systemd restarts it, the row says `interrupted`
# and the bulletin airs again whole), that the console answers on the loopback, and that
# the card itself (`plughw:`) works as output.device.
# Every result is a line `LOAXA-VM: ok|FAIL …` on the serial console; the last line is
# `LOAXA-VM-DONE <failures>`. The host then checks what the card played (card.wav).
# No `set -e`: a failed check is reported and the rest still run.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
fails=0
ok() { echo "LOAXA-VM: ok $*"; }
bad() { echo "LOAXA-VM: FAIL $*"; fails=$((fails + 1)); }
check() { # check WHAT CMD… : ok when CMD succeeds
  what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# until SECONDS CMD…: true as soon as CMD succeeds, false after SECONDS.
until_ok() {
  n=$(($1 * 5)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.2; n=$((n - 1)); done
  return 1
}
cfg=/etc/loaxa/schedule.yaml
as_loaxa() { runuser -u loaxa -- "$@"; }
rows() { as_loaxa loaxa export --config $cfg --format json 2>/dev/null; }
# row_count FILE STATUS: the airings of audio FILE with STATUS.
row_count() { rows | grep -F "\"item_path\":\"$1\"" | grep -c -F "\"status\":\"$2\""; }
has_rows() { [ "$(row_count "$1" "$2")" -ge "$3" ]; }
main_pid() { systemctl show -p MainPID --value loaxa; }
answering() { loaxa status --config $cfg >/dev/null 2>&1; }
# on_air FILE: the airtime log has a row for audio FILE that is playing now.
on_air() { has_rows "$1" playing 1; }
# card_running: the card's playback stream is open and running, by the daemon's process.
card_running() {
  grep -q RUNNING /proc/asound/card0/pcm0p/sub0/status 2>/dev/null &&
    grep -q "owner_pid *: *$(main_pid)\$" /proc/asound/card0/pcm0p/sub0/status
}

echo "LOAXA-VM: start $(date -u +%FT%TZ), kernel $(uname -r), card: $(head -1 /proc/asound/cards)"

# 1. Install as a technician does; the package creates the user and starts the unit.
if dpkg -i /root/vm/loaxa.deb >/root/vm/dpkg.log 2>&1; then ok "dpkg -i"; else
  bad "dpkg -i: $(tail -3 /root/vm/dpkg.log | tr '\n' ' ')"
fi
check "the unit is enabled" systemctl is-enabled --quiet loaxa
check "the unit is active after install" until_ok 60 systemctl is-active --quiet loaxa
check "the daemon answers status" until_ok 60 answering

# 2. Who it runs as, and under what.
pid=$(main_pid)
st=/proc/$pid/status
uid=$(id -u loaxa); audio_gid=$(getent group audio | cut -d: -f3)
in_audio() { grep '^Groups:' "$st" | tr -s ' \t' '\n' | grep -qx "$audio_gid"; }
check "runs as user loaxa (uid $uid)" grep -q "^Uid:[[:space:]]*$uid[[:space:]]" "$st"
check "in the audio group ($audio_gid)" in_audio
check "no new privileges" grep -q "^NoNewPrivs:[[:space:]]*1" "$st"
check "a seccomp filter" grep -q "^Seccomp:[[:space:]]*2" "$st"
check "no capabilities" grep -q "^CapEff:[[:space:]]*0000000000000000" "$st"
# The mounts it sees (ProtectSystem=strict, ProtectHome): mountinfo's field 5 is the mount
# point, field 6 its options; the last mount at a point is the one in effect.
mount_opts() { awk -v m="$1" '$5 == m { o = $6 } END { print o }' /proc/$pid/mountinfo; }
root_ro() { case $(mount_opts /) in ro*) ;; *) return 1 ;; esac; }
state_rw() { case $(mount_opts /var/lib/loaxa) in rw*) ;; *) return 1 ;; esac; }
home_hidden() { [ -n "$(mount_opts /home)" ]; }
check "/ is read-only to it" root_ro
check "/var/lib/loaxa is writable to it" state_rw
check "/home is hidden from it" home_hidden
dev_closed() { [ "$(systemctl show -p DevicePolicy --value loaxa)" = closed ]; }
check "the device cgroup keeps it to the sound cards" dev_closed

# 3. A bulletin dropped in the emergency folder airs on the card, after the alert tone.
cp /root/vm/vm-a.wav /var/lib/loaxa/audio/khan-cap/vm-a.wav
check "the dropped bulletin plays on the card (pcmC0D0p running, owned by the daemon)" until_ok 30 card_running
check "its row is completed" until_ok 60 has_rows khan-cap/vm-a.wav completed 1
check "the alert tone's row is completed" has_rows nhac-hieu/canh-bao.mp3 completed 1
echo "LOAXA-VM: card $(grep -E '^(format|rate|period_size|buffer_size)' /proc/asound/card0/pcm0p/sub0/hw_params | tr '\n' ' ')"
as_loaxa loaxa devices 2>&1 | tr '\n' ';' | sed 's/^/LOAXA-VM: devices /; s/$/\n/'
marks_default() { as_loaxa loaxa devices 2>/dev/null | grep -q '^\* default'; }
check "loaxa devices marks the default device" marks_default
journalctl -u loaxa -o cat --no-pager | grep -i -m3 "device\|output" | sed 's/^/LOAXA-VM: log /'

# 4. kill -9 while a bulletin is on air: systemd restarts the daemon (Restart=always), the
# cut row is closed `interrupted`, and the bulletin airs again, whole (the emergency's
# state survives the crash).
cp /root/vm/vm-b.wav /var/lib/loaxa/audio/khan-cap/vm-b.wav
if until_ok 30 on_air khan-cap/vm-b.wav; then
  sleep 2
  old=$(main_pid)
  kill -9 "$old"
  echo "LOAXA-VM: killed $old with vm-b.wav on air"
  restarted() { systemctl is-active --quiet loaxa && [ "$(main_pid)" != "$old" ]; }
  check "systemd restarted the daemon" until_ok 30 restarted
  check "the restarted daemon answers" until_ok 60 answering
  check "the cut row is closed interrupted" until_ok 30 has_rows khan-cap/vm-b.wav interrupted 1
  check "the cut bulletin airs again and completes" until_ok 90 has_rows khan-cap/vm-b.wav completed 1
else
  bad "vm-b.wav never went on air"
fi
one_restart() { [ "$(systemctl show -p NRestarts --value loaxa)" = 1 ]; }
check "one restart in all (the watchdog never fired)" one_restart

# 5. The console answers on the loopback, with the account the package made.
pw=$(cat /etc/loaxa/admin-password 2>/dev/null)
jar=/root/vm/cookies
if curl -sf -c $jar -H 'Content-Type: application/json' \
     -d "{\"user\":\"admin\",\"password\":\"$pw\"}" http://127.0.0.1:8080/api/v1/session >/root/vm/login.json; then
  ok "console login as admin"
  check "console airings show the bulletins" sh -c "curl -sf -b $jar http://127.0.0.1:8080/api/v1/airings | grep -q vm-a.wav"
else
  bad "console login as admin: $(curl -s -H 'Content-Type: application/json' \
     -d "{\"user\":\"admin\",\"password\":\"$pw\"}" http://127.0.0.1:8080/api/v1/session | head -c 200)"
fi
check "the console refuses a wrong password" sh -c \
  "! curl -sf -H 'Content-Type: application/json' -d '{\"user\":\"admin\",\"password\":\"wrong\"}' http://127.0.0.1:8080/api/v1/session >/dev/null"

# 6. The card itself, as the technician's guide advises for a busy PC: `plughw:` in
# output.device gives loaxa the card alone, with its own period (6144 frames, not dmix's
# 1024); a bulletin dropped then airs there too.
dev=plughw:CARD=Intel,DEV=0
sed -i "s|^  device: default |  device: $dev |" $cfg
period() { sed -n 's/^period_size: *//p' /proc/asound/card0/pcm0p/sub0/hw_params; }
if grep -q "^  device: $dev " $cfg && systemctl restart loaxa && until_ok 60 answering; then
  cp /root/vm/vm-a.wav /var/lib/loaxa/audio/khan-cap/vm-c.wav
  check "a bulletin airs on $dev" until_ok 30 card_running
  p=$(period)
  echo "LOAXA-VM: card $(grep -E '^(format|rate|period_size|buffer_size)' /proc/asound/card0/pcm0p/sub0/hw_params | tr '\n' ' ')"
  check "with its own period on $dev (6144 frames; got ${p:-none})" [ "$p" = 6144 ]
  check "its row is completed" until_ok 60 has_rows khan-cap/vm-c.wav completed 1
else
  bad "output.device $dev: the daemon did not come back ($(journalctl -u loaxa -o cat -n 3 --no-pager | tr '\n' ' '))"
fi

# 7. A clean stop within TimeoutStopSec.
systemctl stop loaxa
stopped_clean() { [ "$(systemctl show -p Result --value loaxa)" = success ]; }
none_playing() { ! rows | grep -q -F '"status":"playing"'; }
check "stops cleanly (Result=success)" stopped_clean
check "no row left playing" none_playing

rows | sed 's/^/LOAXA-VM: row /'
# The card's underruns, as the daemon logged them (one line a minute at most), with how
# many periods the card never got were played again.
journalctl -u loaxa -o cat --no-pager | grep -E "audio device:|output: the sound device missed" | tail -5 | sed 's/^/LOAXA-VM: log /'
if [ "$fails" -gt 0 ]; then journalctl -u loaxa -o short-precise --no-pager | tail -60 | sed 's/^/LOAXA-VM: journal /'; fi
echo "LOAXA-VM-DONE $fails"
systemctl poweroff
