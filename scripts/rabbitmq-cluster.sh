#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on loopback (Debian's rabbitmq-server), for the fault suite. It runs beside
# the single test node of scripts/rabbitmq.sh (rabbit@<host> on 5672) with its own names, ports and data:
#
#   node N (1-3): name rabbit-N@localhost, AMQP 127.0.0.1:568N, distribution port 2568N,
#                 data and logs in .run/rabbitmq-cluster/nodeN, no plugins; guest/guest.
#
# The nodes run as the rabbitmq user and share its Erlang cookie (/var/lib/rabbitmq/.erlang.cookie) and
# the machine's epmd (4369). Quorum queues get a member on each of the three nodes (RabbitMQ's default
# initial group size, quorum_cluster_size, is 3, set here explicitly in each node's config).
#
#   scripts/rabbitmq-cluster.sh up        start the nodes (reuses running ones), join 2 and 3 to node 1
#   scripts/rabbitmq-cluster.sh down      stop every node, idempotent
#   scripts/rabbitmq-cluster.sh status    exit 0 if all three nodes run and form one cluster
#   scripts/rabbitmq-cluster.sh kill N    SIGKILL node N's Erlang VM (a crash: nothing is announced)
#   scripts/rabbitmq-cluster.sh stop N    stop node N cleanly (rabbitmqctl stop)
#   scripts/rabbitmq-cluster.sh start N   start node N again; it rejoins the cluster by itself
#   scripts/rabbitmq-cluster.sh urls      print the --bus value: the three AMQP URLs, comma-separated
#   scripts/rabbitmq-cluster.sh leader Q  print the number of the node holding quorum queue Q's leader
#
# Env: RABBITMQ_START_TIMEOUT (120 s per wait), RABBITMQ_STOP_TIMEOUT (60 s). Needs root or sudo.
set -euo pipefail
LOG_PREFIX=rabbitmq-cluster
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOST=127.0.0.1
START_TIMEOUT=${RABBITMQ_START_TIMEOUT:-120}
STOP_TIMEOUT=${RABBITMQ_STOP_TIMEOUT:-60}
BASE=$LOGSTORE_RUN_BASE/rabbitmq-cluster
LOCK_FILE=$LOGSTORE_RUN_BASE/rabbitmq-cluster.lock
LIB=/usr/lib/rabbitmq/bin
NODES=(1 2 3)

name() { echo "rabbit-$1@localhost"; }
amqp_port() { echo $((5680 + $1)); }
dist_port() { echo $((25680 + $1)); }
dir() { echo "$BASE/node$1"; }

check_n() { case "${1:-}" in 1 | 2 | 3) ;; *) die "node must be 1, 2 or 3, not '${1:-}'" ;; esac }

# as_rabbitmq N TOOL ARGS...: run a RabbitMQ tool as the rabbitmq user with node N's environment.
as_rabbitmq() {
    local n=$1 tool=$2 d
    shift 2
    d=$(dir "$n")
    as_root runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq \
        RABBITMQ_NODENAME="$(name "$n")" RABBITMQ_NODE_IP_ADDRESS=$HOST RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
        RABBITMQ_DIST_PORT="$(dist_port "$n")" RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" \
        RABBITMQ_PID_FILE="$d/rabbit.pid" RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_CONF_ENV_FILE=/dev/null \
        "$LIB/$tool" "$@"
}

ctl() { # ctl N ARGS...: rabbitmqctl against node N
    local n=$1
    shift
    as_rabbitmq "$n" rabbitmqctl -q -n "$(name "$n")" "$@"
}

running() { ctl "$1" ping >/dev/null 2>&1; }

beam_pid() {
    local pid
    pid=$(cat "$(dir "$1")/rabbit.pid" 2>/dev/null | tr -dc 0-9) || true
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && echo "$pid"
}

log_tail() {
    local f
    for f in "$(dir "$1")/log/$(name "$1").log" "$(dir "$1")/startup.log"; do
        if [ -s "$f" ]; then
            echo "----- last 30 lines of $f -----" >&2
            tail -n 30 "$f" >&2
        fi
    done
}

ensure_installed() {
    [ -x "$LIB/rabbitmq-server" ] || apt_install rabbitmq-server
    [ -x "$LIB/rabbitmqctl" ] || die "rabbitmq-server is not installed and could not be installed"
    id rabbitmq >/dev/null 2>&1 || die "the rabbitmq user is missing (Debian's package creates it)"
}

# A quorum queue keeps what it writes in memory until its write-ahead log rolls over at this size
# (RabbitMQ's default, 512 MiB, makes a broker's memory saw between its base and base + 512 MiB);
# 32 MiB keeps that swing small on a small machine, as RabbitMQ advises for hosts with little memory.
WAL_MAX_BYTES=${RABBITMQ_WAL_MAX_BYTES:-33554432}

prepare() { # prepare N: node N's folders and config files (rewritten on every start)
    local d
    d=$(dir "$1")
    mkdir -p "$d/mnesia" "$d/log"
    echo '[].' >"$d/enabled_plugins"
    cat >"$d/rabbitmq.conf" <<EOF
loopback_users.guest = true
raft.wal_max_size_bytes = $WAL_MAX_BYTES
EOF
    echo '[{rabbit, [{quorum_cluster_size, 3}]}].' >"$d/advanced.config"
    as_root chown -R rabbitmq:rabbitmq "$d"
}

port_free_or_ours() { # fail clearly if node N's ports are held by something that is not node N
    local n=$1 p
    for p in "$(amqp_port "$n")" "$(dist_port "$n")"; do
        if port_open "$HOST" "$p" && ! running "$n"; then
            die "port $p (node $n) is in use by another process; free it first"
        fi
    done
}

launch() { # launch N: start node N detached, if it is not running
    local n=$1
    if running "$n"; then
        return 0
    fi
    port_free_or_ours "$n"
    prepare "$n"
    say "starting $(name "$n") on $HOST:$(amqp_port "$n")"
    as_rabbitmq "$n" rabbitmq-server -detached >"$(dir "$n")/startup.log" 2>&1 9>&- || {
        log_tail "$n"
        die "rabbitmq-server -detached failed for node $n"
    }
}

await_node() { # await_node N: wait until node N's rabbit app runs and its AMQP port answers
    local n=$1 deadline=$(($(date +%s) + START_TIMEOUT)) left
    while :; do
        left=$((deadline - $(date +%s)))
        if [ "$left" -le 0 ]; then
            log_tail "$n"
            die "node $n ($(name "$n")) not ready on $HOST:$(amqp_port "$n") after ${START_TIMEOUT} s"
        fi
        if running "$n" && ctl "$n" await_startup --timeout "$left" >/dev/null 2>&1 &&
            port_open "$HOST" "$(amqp_port "$n")"; then
            return 0
        fi
        sleep 1
    done
}

joined() { # joined N: node N's cluster includes node 1
    ctl "$1" cluster_status --formatter json 2>/dev/null | grep -q "\"$(name 1)\""
}

join() { # join N: make node N a member of node 1's cluster (a fresh node clusters with itself only)
    local n=$1
    joined "$n" && return 0
    say "joining $(name "$n") to $(name 1)"
    local out=$(dir "$n")/join.log
    { ctl "$n" stop_app && ctl "$n" reset && ctl "$n" join_cluster "$(name 1)" && ctl "$n" start_app; } >"$out" 2>&1 || {
        cat "$out" >&2
        die "node $n could not join $(name 1)"
    }
    await_node "$n"
}

cmd_up() {
    local n start
    ensure_installed
    with_lock "$LOCK_FILE"
    start=$(now_ms)
    # all at once: nodes of an existing cluster that stopped wait for each other at boot
    for n in "${NODES[@]}"; do launch "$n"; done
    for n in "${NODES[@]}"; do await_node "$n"; done
    join 2
    join 3
    ctl 1 authenticate_user guest guest >/dev/null 2>&1 || die "guest/guest is refused on $(name 1)"
    say "3 nodes up after $(elapsed_s "$start") s; --bus $(cmd_urls)"
}

stop_node() { # stop_node N: rabbitmqctl stop, bounded; SIGKILL if it hangs
    local n=$1 pid i
    running "$n" || return 0
    pid=$(beam_pid "$n") || true
    say "stopping $(name "$n")"
    ctl "$n" stop >/dev/null 2>&1 || true
    for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
        if ! running "$n" && { [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; }; then
            return 0
        fi
        sleep 0.5
    done
    if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
        say "node $n still running after ${STOP_TIMEOUT} s; killing pid $pid"
        as_root kill -KILL "$pid" 2>/dev/null || true
    fi
}

cmd_down() {
    local n
    [ -x "$LIB/rabbitmqctl" ] || {
        say "not installed"
        return 0
    }
    with_lock "$LOCK_FILE"
    for n in 3 2 1; do stop_node "$n"; done
    say "stopped"
}

cmd_kill() {
    local n=$1 pid i
    check_n "$n"
    pid=$(beam_pid "$n") || die "node $n is not running (no live pid in $(dir "$n")/rabbit.pid)"
    as_root kill -KILL "$pid"
    for ((i = 0; i < 20; i++)); do
        [ -d "/proc/$pid" ] || break
        sleep 0.25
    done
    say "killed node $n ($(name "$n"), pid $pid)"
}

cmd_start() {
    local n=$1 start
    check_n "$n"
    ensure_installed
    start=$(now_ms)
    launch "$n"
    await_node "$n"
    say "node $n up after $(elapsed_s "$start") s"
}

cmd_status() {
    local n ok=0
    for n in "${NODES[@]}"; do
        if running "$n" && ctl "$n" await_startup --timeout 2 >/dev/null 2>&1 && port_open "$HOST" "$(amqp_port "$n")" &&
            joined "$n"; then
            say "node $n up on $HOST:$(amqp_port "$n") ($(name "$n")) in the cluster of $(name 1)"
        else
            say "node $n down"
            ok=1
        fi
    done
    return $ok
}

cmd_leader() { # cmd_leader QUEUE [VHOST]: print the number of the node holding the quorum queue's leader
    local queue=${1:-} n leader
    [ -n "$queue" ] || die "usage: $0 leader QUEUE [VHOST]"
    for n in "${NODES[@]}"; do
        running "$n" || continue
        leader=$(ctl "$n" list_queues -p "${2:-/}" --no-table-headers name leader 2>/dev/null |
            awk -v q="$queue" '$1 == q { print $2 }') || continue
        case "$leader" in
        rabbit-[123]@localhost)
            leader=${leader#rabbit-}
            echo "${leader%@localhost}"
            return 0
            ;;
        esac
    done
    die "no running node knows a leader for queue '$queue'"
}

cmd_urls() {
    local n urls=()
    for n in "${NODES[@]}"; do urls+=("amqp://guest:guest@$HOST:$(amqp_port "$n")/"); done
    (
        IFS=,
        echo "${urls[*]}"
    )
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
kill) cmd_kill "${2:-}" ;;
start) cmd_start "${2:-}" ;;
stop)
    check_n "${2:-}"
    stop_node "$2"
    ;;
urls) cmd_urls ;;
leader) cmd_leader "${2:-}" "${3:-}" ;;
*)
    echo "usage: $0 up|down|status|kill N|start N|stop N|urls|leader QUEUE [VHOST]" >&2
    exit 2
    ;;
esac
