# Source me: the environment every process of the test rig shares (server, loaxa, capture).
export RIG_DIR=${RIG_DIR:-${TMPDIR:-/tmp}/loaxa-rig}
export XDG_RUNTIME_DIR=$RIG_DIR/run
export PULSE_SERVER=unix:$XDG_RUNTIME_DIR/pulse/native
export PULSE_COOKIE=$RIG_DIR/home/cookie
export PULSE_SINK=rig
