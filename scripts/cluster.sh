#!/usr/bin/env bash
# A 3-node Apache Cassandra cluster on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (loopback only), for the
# fault suite (`make faults`). Each node is scripts/cassandra.sh with its own address, run dir,
# JMX port and token; the cluster uses its own ports so it can run beside the single test node:
#
#   native (CQL) 9043, storage 7001, JMX 7100/7200/7300, seeds 127.0.0.1, heap 768M per node.
#
# Node 2's CQL port listens on 127.0.0.12 behind a proxy on 127.0.0.2:9043 (scripts/delay_proxy.py,
# the address the node tells drivers), which can delay what clients send it by 200 ms: a slow
# network to one node, since tc netem is not available in this sandbox.
#
#   scripts/cluster.sh up            start the nodes one after the other; reuses running ones
#   scripts/cluster.sh down          stop every node
#   scripts/cluster.sh status        exit 0 if all three nodes answer CQL
#   scripts/cluster.sh start N       start node N (1-3) again, e.g. after `kill N`
#   scripts/cluster.sh kill N        SIGKILL node N (a crash: no drain, no announcement)
#   scripts/cluster.sh freeze N      SIGSTOP node N (a hung JVM: the port stays open, nothing answers)
#   scripts/cluster.sh thaw N        SIGCONT node N
#   scripts/cluster.sh delay 2       requests to node 2 arrive 200 ms late (until undelay 2)
#   scripts/cluster.sh undelay 2     no delay
#   scripts/cluster.sh url [KS]      print the store URL (QUORUM, replication 3)
set -euo pipefail
LOG_PREFIX=cluster
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NATIVE_PORT=9043
STORAGE_PORT=7001
TOKENS=(-9223372036854775808 -3074457345618258603 3074457345618258602)
CASSANDRA=$(dirname "${BASH_SOURCE[0]}")/cassandra.sh
DELAY_PROXY=$(dirname "${BASH_SOURCE[0]}")/delay_proxy.py
DELAYED_NODE=2
DELAY_MS=200
PROXY_PID_FILE=$LOGSTORE_RUN_BASE/cluster-delay-proxy.pid

on_node() { # on_node N SUBCOMMAND: run scripts/cassandra.sh SUBCOMMAND as node N
    local n=$1
    shift
    case "$n" in 1 | 2 | 3) ;; *) die "node must be 1, 2 or 3, not '$n'" ;; esac
    local rpc_host="127.0.0.$n"
    [ "$n" = "$DELAYED_NODE" ] && rpc_host="127.0.0.1$n"
    CASSANDRA_NODE="cluster-node$n" CASSANDRA_HOST="127.0.0.$n" CASSANDRA_RPC_HOST="$rpc_host" \
        CASSANDRA_NATIVE_PORT=$NATIVE_PORT CASSANDRA_STORAGE_PORT=$STORAGE_PORT \
        CASSANDRA_JMX_PORT=$((7000 + n * 100)) CASSANDRA_SEEDS="127.0.0.1:$STORAGE_PORT" \
        CASSANDRA_CLUSTER_NAME=logstore-cluster CASSANDRA_INITIAL_TOKEN="${TOKENS[$((n - 1))]}" \
        CASSANDRA_MULTI_NODE=1 CASSANDRA_HEAP="${CASSANDRA_HEAP:-768M}" \
        "$CASSANDRA" "$@"
}

proxy_pid() { # the delay proxy's pid, if it runs
    local pid
    pid=$(tr -dc 0-9 2>/dev/null <"$PROXY_PID_FILE" || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

proxy_up() {
    local i
    proxy_pid >/dev/null && return 0
    mkdir -p "$LOGSTORE_RUN_BASE"
    rm -f "$PROXY_PID_FILE"
    nohup python3 "$DELAY_PROXY" "127.0.0.$DELAYED_NODE:$NATIVE_PORT" "127.0.0.1$DELAYED_NODE:$NATIVE_PORT" \
        "$DELAY_MS" "$PROXY_PID_FILE" >"$LOGSTORE_RUN_BASE/cluster-delay-proxy.log" 2>&1 &
    for ((i = 0; i < 100; i++)); do
        proxy_pid >/dev/null && port_open "127.0.0.$DELAYED_NODE" "$NATIVE_PORT" && return 0
        sleep 0.1
    done
    die "the delay proxy did not start; see $LOGSTORE_RUN_BASE/cluster-delay-proxy.log"
}

proxy_signal() { # proxy_signal N USR1|USR2
    local pid
    [ "${1:-}" = "$DELAYED_NODE" ] || die "only node $DELAYED_NODE has a delay proxy, not '${1:-}'"
    pid=$(proxy_pid) || die "the delay proxy is not running (scripts/cluster.sh up starts it)"
    kill -"$2" "$pid"
}

cmd_url() {
    echo "cassandra://127.0.0.1:$NATIVE_PORT,127.0.0.2:$NATIVE_PORT,127.0.0.3:$NATIVE_PORT/${1:-logstore}?consistency=QUORUM&replication=3"
}

cmd_up() {
    local n start
    start=$(now_ms)
    for n in 1 2 3; do # one after the other, seed first, with the gossip waits
        on_node "$n" up
    done
    proxy_up
    say "3 nodes up on 127.0.0.1-3:$NATIVE_PORT after $(elapsed_s "$start") s; store URL: $(cmd_url)"
}

cmd_status() {
    local n ok=0
    for n in 1 2 3; do
        on_node "$n" status || ok=1
    done
    if ! proxy_pid >/dev/null; then
        say "node $DELAYED_NODE's delay proxy is not running"
        ok=1
    fi
    return $ok
}

case "${1:-}" in
up) cmd_up ;;
down)
    for n in 3 2 1; do on_node "$n" down; done
    if pid=$(proxy_pid); then kill "$pid"; fi
    rm -f "$PROXY_PID_FILE"
    ;;
status) cmd_status ;;
start)
    on_node "${2:-}" up
    proxy_up
    ;;
delay) proxy_signal "${2:-}" USR1 ;;
undelay) proxy_signal "${2:-}" USR2 ;;
kill | freeze | thaw) on_node "${2:-}" "$1" ;;
url) cmd_url "${2:-}" ;;
*)
    echo "usage: $0 up|down|status|start N|kill N|freeze N|thaw N|delay 2|undelay 2|url [KEYSPACE]" >&2
    exit 2
    ;;
esac
