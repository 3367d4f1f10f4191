#!/usr/bin/env bash
# RabbitMQ (Debian's rabbitmq-server package) on this machine for the tests: AMQP on 127.0.0.1:5672, guest/guest.
#
#   scripts/rabbitmq.sh up       install if missing (apt), start if not running, wait until ready; reuses a running one
#   scripts/rabbitmq.sh down     stop the node (rabbitmqctl stop), idempotent
#   scripts/rabbitmq.sh restart  down + up
#   scripts/rabbitmq.sh status   exit 0 if the node is up and AMQP answers on 127.0.0.1:5672
#
# Env: RABBITMQ_START_TIMEOUT (120 s), RABBITMQ_STOP_TIMEOUT (60 s), RABBITMQ_NODENAME (Debian default rabbit@<host>),
#      RABBITMQ_MAX_MESSAGE_BYTES (4 MiB: the broker refuses larger messages).
#
# The broker is a trust boundary (docs/operations.md, "The broker"): messages are capped at
# RABBITMQ_MAX_MESSAGE_BYTES (in the config file for fresh starts, and applied to the running node
# at once for new channels: no restart), and build workers get the user logstore-worker /
# logstore-worker, which may only publish to the chunks exchange: no configure, no read, and no
# write to logstore.live (where ingesters announce stored chunks to viewers). Its write pattern also
# admits the tests' namespaced copies (test-<hex>.logstore.chunks) on this test broker; in
# production use exactly '^logstore\.chunks$'.
# Needs root or sudo (the Debian wrappers run the server and rabbitmqctl as the rabbitmq user).
# The management plugin is not used; the rabbitmq_prometheus plugin is enabled (metrics on
# 127.0.0.1:15692, for scripts/prometheus.sh). Data lives in Debian's /var/lib/rabbitmq, logs in /var/log/rabbitmq.
set -euo pipefail
LOG_PREFIX=rabbitmq
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOST=127.0.0.1
AMQP_PORT=5672
PROMETHEUS_PORT=15692
START_TIMEOUT=${RABBITMQ_START_TIMEOUT:-120}
STOP_TIMEOUT=${RABBITMQ_STOP_TIMEOUT:-60}
SBIN=/usr/sbin
LOCK_FILE=$LOGSTORE_RUN_BASE/rabbitmq.lock
CONFIG_FILE=/etc/rabbitmq/rabbitmq.conf
# a chunk is at most 1 MiB by default (--max-chunk-bytes); headers and dead-letter copies add little
MAX_MESSAGE_BYTES=${RABBITMQ_MAX_MESSAGE_BYTES:-4194304}
WORKER_USER=logstore-worker
WORKER_PASSWORD=logstore-worker
WORKER_WRITE='^(test-[0-9a-f]+\.)?logstore\.chunks$'

# Debian's default node name is rabbit@<short hostname>; that needs the hostname to resolve.
if [ -z "${RABBITMQ_NODENAME:-}" ] && ! getent hosts "$(hostname -s)" >/dev/null 2>&1; then
    export RABBITMQ_NODENAME=rabbit@localhost
fi
NODE_NAME=${RABBITMQ_NODENAME:-rabbit@$(hostname -s)}
PID_FILE=/var/lib/rabbitmq/mnesia/$NODE_NAME.pid

# rmq TOOL ARGS...: run a RabbitMQ CLI tool as root (Debian's wrapper then switches to the rabbitmq user).
rmq() {
    local tool=$1
    shift
    as_root env ${RABBITMQ_NODENAME:+RABBITMQ_NODENAME=$RABBITMQ_NODENAME} "$SBIN/$tool" "$@"
}

node_up() { rmq rabbitmqctl -q ping >/dev/null 2>&1; }

# amqp_answers: true if an AMQP 0-9-1 server answers the protocol header on 127.0.0.1:5672 (connection.start).
amqp_answers() {
    local reply
    # shellcheck disable=SC2016 # the inner script expands its own variables
    reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf "AMQP\x00\x00\x09\x01" >&3; head -c 11 <&3 | od -An -v -tx1 | tr -d " \n"' \
        "$HOST" "$AMQP_PORT" 2>/dev/null) || return 1
    [ "${reply:0:2}" = 01 ] && [ "${reply:14:8}" = 000a000a ] # method frame, class 10 (connection) method 10 (start)
}

log_tail() {
    local f
    for f in "/var/log/rabbitmq/$NODE_NAME.log" /var/log/rabbitmq/startup_err /var/log/rabbitmq/startup_log; do
        if as_root test -s "$f"; then
            echo "----- last 40 lines of $f -----" >&2
            as_root tail -n 40 "$f" >&2
        fi
    done
    echo "-----" >&2
}

beam_pid() {
    local pid
    pid=$(as_root cat "$PID_FILE" 2>/dev/null | tr -dc 0-9) || true
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && echo "$pid"
}

ensure_installed() {
    if [ ! -x "$SBIN/rabbitmq-server" ] || [ ! -x "$SBIN/rabbitmqctl" ]; then
        apt_install rabbitmq-server
        # the package's init script may already have started a node (it does so where services may start)
    fi
    [ -x "$SBIN/rabbitmqctl" ] || die "rabbitmq-server is not installed and could not be installed"
}

# write_config: /etc/rabbitmq/rabbitmq.conf, if there is none or it is ours; read when the node
# starts. A quorum queue keeps what it writes in memory until its write-ahead log rolls over at
# raft.wal_max_size_bytes (512 MiB by default, so the broker's memory saws between its base and
# base + 512 MiB: seen in the soak); 32 MiB keeps that swing small on a small machine, as RabbitMQ
# advises for hosts with little memory.
write_config() {
    local want
    want="# Written by logstore's scripts/rabbitmq.sh (rewritten on every up while this line is here).
raft.wal_max_size_bytes = ${RABBITMQ_WAL_MAX_BYTES:-33554432}
max_message_size = $MAX_MESSAGE_BYTES"
    if [ -f "$CONFIG_FILE" ] && ! grep -q "logstore's scripts/rabbitmq.sh" "$CONFIG_FILE"; then
        say "leaving $CONFIG_FILE as it is (not written by this script)"
        return 0
    fi
    if [ "$(cat "$CONFIG_FILE" 2>/dev/null)" != "$want" ]; then
        printf '%s\n' "$want" | as_root tee "$CONFIG_FILE" >/dev/null
        say "wrote $CONFIG_FILE (read when the node starts: scripts/rabbitmq.sh restart applies it)"
    fi
}

# configure: things the tests rely on, done on every `up` (cheap and idempotent).
configure() {
    # quorum queues need their feature flag; a node that was upgraded may have flags still disabled
    local flags
    flags=$(rmq rabbitmqctl -q list_feature_flags name state 2>/dev/null) || die "cannot list feature flags"
    if grep -w disabled <<<"$flags" >/dev/null; then
        say "enabling all feature flags"
        rmq rabbitmqctl -q enable_feature_flag all >/dev/null
        flags=$(rmq rabbitmqctl -q list_feature_flags name state 2>/dev/null) || die "cannot list feature flags"
    fi
    grep -E '^quorum_queue[[:space:]]+enabled' <<<"$flags" >/dev/null ||
        die "feature flag quorum_queue is not enabled on $NODE_NAME"
    # guest/guest must work (from loopback, RabbitMQ's default for guest)
    if ! rmq rabbitmqctl -q authenticate_user guest guest >/dev/null 2>&1; then
        say "(re)creating user guest/guest with full permissions on vhost /"
        rmq rabbitmqctl -q add_user guest guest >/dev/null 2>&1 || rmq rabbitmqctl -q change_password guest guest >/dev/null
        rmq rabbitmqctl -q set_user_tags guest administrator >/dev/null
        rmq rabbitmqctl -q set_permissions -p / guest '.*' '.*' '.*' >/dev/null
    fi
    # the message size cap, on the running node too (the config file is read only at start); it
    # applies to channels opened from now on
    if [ "$(rmq rabbitmqctl -q eval 'application:get_env(rabbit, max_message_size).')" != "{ok,$MAX_MESSAGE_BYTES}" ]; then
        say "capping messages at $MAX_MESSAGE_BYTES bytes on the running node"
        rmq rabbitmqctl -q eval "application:set_env(rabbit, max_message_size, $MAX_MESSAGE_BYTES)." >/dev/null ||
            die "cannot set max_message_size"
    fi
    # the build workers' user: publish to the chunks exchange, nothing else
    if ! rmq rabbitmqctl -q authenticate_user "$WORKER_USER" "$WORKER_PASSWORD" >/dev/null 2>&1; then
        say "(re)creating user $WORKER_USER (may only publish to logstore.chunks)"
        rmq rabbitmqctl -q add_user "$WORKER_USER" "$WORKER_PASSWORD" >/dev/null 2>&1 ||
            rmq rabbitmqctl -q change_password "$WORKER_USER" "$WORKER_PASSWORD" >/dev/null
    fi
    rmq rabbitmqctl -q set_user_tags "$WORKER_USER" >/dev/null
    rmq rabbitmqctl -q set_permissions -p / "$WORKER_USER" '^$' "$WORKER_WRITE" '^$' >/dev/null
    # queue depths and consumers for Prometheus (the alerts on ingestion); enabling it on a running node is online
    if ! port_open "$HOST" "$PROMETHEUS_PORT"; then
        say "enabling the rabbitmq_prometheus plugin (metrics on $HOST:$PROMETHEUS_PORT)"
        rmq rabbitmq-plugins -q enable rabbitmq_prometheus >/dev/null || die "cannot enable rabbitmq_prometheus"
    fi
}

wait_ready() { # wait_ready START_MS
    local start=$1 deadline=$(($(date +%s) + START_TIMEOUT)) left
    while :; do
        if port_open "$HOST" "$AMQP_PORT" || node_up; then
            left=$((deadline - $(date +%s)))
            if [ "$left" -gt 0 ] && rmq rabbitmqctl -q await_startup --timeout "$left" >/dev/null 2>&1 &&
                port_open "$HOST" "$AMQP_PORT"; then
                return 0
            fi
        elif [ "$(($(now_ms) - start))" -gt 15000 ] && [ -z "$(beam_pid)" ]; then
            log_tail
            die "the node $NODE_NAME is not running 15 s after start; see the log above"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log_tail
            die "not ready on $HOST:$AMQP_PORT after ${START_TIMEOUT} s"
        fi
        sleep 0.5
    done
}

cmd_up() {
    local start
    ensure_installed
    with_lock "$LOCK_FILE"
    write_config
    start=$(now_ms)
    if rmq rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1; then
        configure
        say "reusing the running node $NODE_NAME on $HOST:$AMQP_PORT"
        return 0
    fi
    if node_up; then
        say "node $NODE_NAME runs but the rabbit app does not; starting it"
        rmq rabbitmqctl -q start_app >/dev/null
        wait_ready "$start"
        configure
        say "ready on $HOST:$AMQP_PORT after $(elapsed_s "$start") s"
        return 0
    fi
    if port_open "$HOST" "$AMQP_PORT"; then
        amqp_answers || die "port $HOST:$AMQP_PORT is in use by something that is not AMQP; free it first"
        say "reusing the AMQP server on $HOST:$AMQP_PORT (not manageable with rabbitmqctl here)"
        return 0
    fi
    say "starting $NODE_NAME (rabbitmq-server -detached)"
    start=$(now_ms)
    rmq rabbitmq-server -detached 9>&- || {
        log_tail
        die "rabbitmq-server -detached failed"
    }
    wait_ready "$start"
    configure
    amqp_answers || die "node is up but AMQP does not answer on $HOST:$AMQP_PORT"
    say "ready on $HOST:$AMQP_PORT after $(elapsed_s "$start") s"
}

cmd_down() {
    local i pid
    [ -x "$SBIN/rabbitmqctl" ] || {
        say "not installed"
        return 0
    }
    with_lock "$LOCK_FILE"
    if ! node_up; then
        say "not running"
        return 0
    fi
    pid=$(beam_pid) || true
    say "stopping $NODE_NAME"
    rmq rabbitmqctl -q stop >/dev/null 2>&1 || true
    for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
        if ! node_up && ! port_open "$HOST" "$AMQP_PORT" && { [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; }; then
            say "stopped"
            return 0
        fi
        sleep 0.5
    done
    if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
        say "still running after ${STOP_TIMEOUT} s; killing pid $pid"
        as_root kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    node_up && die "could not stop $NODE_NAME"
    say "stopped"
}

cmd_status() {
    if [ -x "$SBIN/rabbitmqctl" ] && node_up && rmq rabbitmqctl -q await_startup --timeout 2 >/dev/null 2>&1 &&
        amqp_answers; then
        say "up on $HOST:$AMQP_PORT (node $NODE_NAME)"
        return 0
    fi
    say "down"
    return 1
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
restart)
    cmd_down
    exec 9>&- # release the lock before `up` takes it again
    cmd_up
    ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|restart|status" >&2
    exit 2
    ;;
esac
