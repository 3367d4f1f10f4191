#!/usr/bin/env bash
# PostgreSQL (Debian's postgresql package) for the benchmark baselines: 127.0.0.1:5432, role and
# database logstore_bench (password logstore_bench).
#
#   scripts/postgres.sh up       install if missing (apt), create the cluster if missing, start it if not
#                                running, wait until ready, create the role and database; reuses a running one
#   scripts/postgres.sh down     stop the cluster (pg_ctlcluster stop), idempotent
#   scripts/postgres.sh status   exit 0 if the server answers on 127.0.0.1:5432 as logstore_bench
#
# Env: POSTGRES_START_TIMEOUT (60 s). Needs root or sudo (the server runs as the postgres user).
# Data lives in Debian's /var/lib/postgresql/<version>/main, logs in /var/log/postgresql.
set -euo pipefail
LOG_PREFIX=postgres
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOST=127.0.0.1
PORT=5432
CLUSTER=main
ROLE=logstore_bench
START_TIMEOUT=${POSTGRES_START_TIMEOUT:-60}
LOCK_FILE=$LOGSTORE_RUN_BASE/postgres.lock

pg_version() { find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1; }

ensure_installed() {
    if [ -z "$(pg_version)" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt_install postgresql
    fi
    [ -n "$(pg_version)" ] || die "postgresql is not installed and could not be installed"
}

# psql_admin ARGS...: psql as the postgres superuser over the local socket.
psql_admin() { as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }

answers() { PGPASSWORD=$ROLE timeout 5 psql -X -q -h "$HOST" -p "$PORT" -U "$ROLE" -d "$ROLE" -c 'select 1' >/dev/null 2>&1; }

log_tail() {
    local f=/var/log/postgresql/postgresql-$1-$CLUSTER.log
    if as_root test -s "$f"; then
        echo "----- last 40 lines of $f -----" >&2
        as_root tail -n 40 "$f" >&2
        echo "-----" >&2
    fi
}

configure() { # on every `up`, cheap and idempotent
    psql_admin -d postgres <<SQL || die "cannot create the role and database $ROLE"
SELECT 'CREATE ROLE $ROLE LOGIN PASSWORD ''$ROLE''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')\gexec
SELECT 'CREATE DATABASE $ROLE OWNER $ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$ROLE')\gexec
SQL
}

cmd_up() {
    local version start deadline
    ensure_installed
    with_lock "$LOCK_FILE"
    version=$(pg_version)
    start=$(now_ms)
    if ! as_root pg_lsclusters -h "$version" "$CLUSTER" >/dev/null 2>&1; then
        say "creating cluster $version/$CLUSTER"
        as_root pg_createcluster "$version" "$CLUSTER" -p "$PORT" >/dev/null || die "pg_createcluster failed"
    fi
    # loopback only, whatever the package default says (Debian's postgresql.conf reads conf.d/)
    as_root pg_conftool "$version" "$CLUSTER" remove listen_addresses
    printf "listen_addresses = '%s'\n" "$HOST" | as_root tee "/etc/postgresql/$version/$CLUSTER/conf.d/logstore.conf" >/dev/null
    if as_root pg_lsclusters -h "$version" "$CLUSTER" | grep -qw online; then
        say "reusing the running cluster $version/$CLUSTER"
    else
        say "starting cluster $version/$CLUSTER"
        # 9>&-: the server must not inherit the lock (it would hold it for its whole life)
        as_root pg_ctlcluster "$version" "$CLUSTER" start 9>&- || {
            log_tail "$version"
            die "pg_ctlcluster $version $CLUSTER start failed"
        }
    fi
    deadline=$(($(date +%s) + START_TIMEOUT))
    until port_open "$HOST" "$PORT" && psql_admin -d postgres -c 'select 1' >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log_tail "$version"
            die "not ready on $HOST:$PORT after ${START_TIMEOUT} s"
        fi
        sleep 0.5
    done
    configure
    answers || die "the server runs but $ROLE cannot log in on $HOST:$PORT (check pg_hba.conf)"
    say "ready on $HOST:$PORT after $(elapsed_s "$start") s"
}

cmd_down() {
    local version
    version=$(pg_version)
    [ -n "$version" ] || {
        say "not installed"
        return 0
    }
    with_lock "$LOCK_FILE"
    if as_root pg_lsclusters -h "$version" "$CLUSTER" 2>/dev/null | grep -qw online; then
        say "stopping cluster $version/$CLUSTER"
        as_root pg_ctlcluster "$version" "$CLUSTER" stop -m fast || die "could not stop $version/$CLUSTER"
    fi
    say "stopped"
}

cmd_status() {
    if answers; then
        say "up on $HOST:$PORT"
        return 0
    fi
    say "down"
    return 1
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
