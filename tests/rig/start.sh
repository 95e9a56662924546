#!/usr/bin/env bash
# The test rig: real audio output without a sound card. A private PulseAudio server with a
# null sink `rig` (clocked by the system clock, so playback runs in real time) that ALSA's
# `default` device reaches through the pulse plugin; tests record its monitor.
# Idempotent: does nothing if the rig already answers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
if pactl info >/dev/null 2>&1; then echo "rig already running"; exit 0; fi
mkdir -p "$XDG_RUNTIME_DIR/pulse" "$RIG_DIR/home/.config/pulse"; chmod 700 "$XDG_RUNTIME_DIR"
printf 'default-sample-rate = 48000\nalternate-sample-rate = 48000\ndefault-sample-channels = 2\n' > "$RIG_DIR/home/.config/pulse/daemon.conf"
HOME=$RIG_DIR/home XDG_CONFIG_HOME=$RIG_DIR/home/.config pulseaudio \
  --daemonize=yes -n --use-pid-file=yes --exit-idle-time=-1 --disallow-exit=yes \
  --realtime=no --high-priority=no --log-target=file:$RIG_DIR/pulseaudio.log --log-level=notice \
  --load="module-native-protocol-unix auth-anonymous=1 socket=$XDG_RUNTIME_DIR/pulse/native" \
  --load="module-null-sink sink_name=rig rate=48000 channels=2 sink_properties=device.description=rig"
for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
pactl set-default-sink rig
# Without a low-latency reader the null sink renders up to 2 s ahead of the wall clock,
# which would delay a new player by a random amount: a permanent reader pins it.
nohup parec --device=rig.monitor --format=s16le --rate=8000 --channels=1 \
  --latency-msec="${RIG_LATENCY_MS:-5}" --raw >/dev/null 2>"$RIG_DIR/pin.log" </dev/null &
echo $! > "$RIG_DIR/pin.pid"
for _ in $(seq 40); do
  lat=$(pactl list sinks | awk '/^[ \t]+Latency:/{print $2; exit}')
  [ -n "$lat" ] && [ "$lat" -lt 20000 ] && break; sleep 0.1
done
echo "rig ready (PULSE_SERVER=$PULSE_SERVER)"
