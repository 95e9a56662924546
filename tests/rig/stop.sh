#!/usr/bin/env bash
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
[ -f "$RIG_DIR/pin.pid" ] && kill "$(cat "$RIG_DIR/pin.pid")" 2>/dev/null; rm -f "$RIG_DIR/pin.pid"
HOME=$RIG_DIR/home XDG_CONFIG_HOME=$RIG_DIR/home/.config pulseaudio --kill 2>/dev/null || true
