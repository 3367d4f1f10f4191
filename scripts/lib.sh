# shellcheck shell=bash
# Small helpers shared by scripts/cassandra.sh and scripts/rabbitmq.sh (sourced, not run).
# The sourcing script sets LOG_PREFIX (e.g. "cassandra") before sourcing this file.
# shellcheck disable=SC2016,SC2034 # inner bash -c scripts expand their own args; the *_BASE vars are for the callers

LOGSTORE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOGSTORE_CACHE_BASE=${LOGSTORE_CACHE_DIR:-$LOGSTORE_ROOT/.cache} # downloads (gitignored)
LOGSTORE_RUN_BASE=${LOGSTORE_RUN_DIR:-$LOGSTORE_ROOT/.run}       # server data, logs, pid files (gitignored)

say() { printf '%s: %s\n' "${LOG_PREFIX:-logstore}" "$*"; }
die() {
    printf '%s: ERROR: %s\n' "${LOG_PREFIX:-logstore}" "$*" >&2
    exit 1
}

# port_open HOST PORT: true if a TCP connection to HOST:PORT succeeds within 2 s.
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# Milliseconds since the epoch, and "N.N" seconds elapsed since a value of it.
now_ms() { date +%s%3N; }
elapsed_s() {
    local ms=$(($(now_ms) - $1))
    printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# as_root CMD...: run as root (directly when we are root, else through sudo).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# apt_install PKG...: install Debian packages; runs `apt-get update` only if the first try fails.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install manually: $*"
    say "installing $* with apt-get"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; then
        say "apt-get install failed; running apt-get update and retrying"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
    fi
}

# with_lock FILE: serialize concurrent runs of the same script (the lock is held until exit).
with_lock() {
    mkdir -p "$(dirname "$1")"
    exec 9>"$1"
    flock -w 900 9 || die "timed out waiting for lock $1"
}
