#!/usr/bin/env bash
# A 3-node Apache Cassandra cluster on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (loopback only), for the
# fault suite (`make faults`). Each node is scripts/cassandra.sh with its own address, run dir,
# JMX port and token; the cluster uses its own ports so it can run beside the single test node:
#
#   native (CQL) 9043, storage 7001, JMX 7100/7200/7300, seeds 127.0.0.1, heap 768M per node.
#
#   scripts/cluster.sh up            start the nodes one after the other; reuses running ones
#   scripts/cluster.sh down          stop every node
#   scripts/cluster.sh status        exit 0 if all three nodes answer CQL
#   scripts/cluster.sh start N       start node N (1-3) again, e.g. after `kill N`
#   scripts/cluster.sh kill N        SIGKILL node N (a crash: no drain, no announcement)
#   scripts/cluster.sh freeze N      SIGSTOP node N (a hung JVM: the port stays open, nothing answers)
#   scripts/cluster.sh thaw N        SIGCONT node N
#   scripts/cluster.sh url [KS]      print the store URL (QUORUM, replication 3)
set -euo pipefail
LOG_PREFIX=cluster
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NATIVE_PORT=9043
STORAGE_PORT=7001
TOKENS=(-9223372036854775808 -3074457345618258603 3074457345618258602)
CASSANDRA=$(dirname "${BASH_SOURCE[0]}")/cassandra.sh

on_node() { # on_node N SUBCOMMAND: run scripts/cassandra.sh SUBCOMMAND as node N
    local n=$1
    shift
    case "$n" in 1 | 2 | 3) ;; *) die "node must be 1, 2 or 3, not '$n'" ;; esac
    CASSANDRA_NODE="cluster-node$n" CASSANDRA_HOST="127.0.0.$n" \
        CASSANDRA_NATIVE_PORT=$NATIVE_PORT CASSANDRA_STORAGE_PORT=$STORAGE_PORT \
        CASSANDRA_JMX_PORT=$((7000 + n * 100)) CASSANDRA_SEEDS="127.0.0.1:$STORAGE_PORT" \
        CASSANDRA_CLUSTER_NAME=logstore-cluster CASSANDRA_INITIAL_TOKEN="${TOKENS[$((n - 1))]}" \
        CASSANDRA_MULTI_NODE=1 CASSANDRA_HEAP="${CASSANDRA_HEAP:-768M}" \
        "$CASSANDRA" "$@"
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
    say "3 nodes up on 127.0.0.1-3:$NATIVE_PORT after $(elapsed_s "$start") s; store URL: $(cmd_url)"
}

cmd_status() {
    local n ok=0
    for n in 1 2 3; do
        on_node "$n" status || ok=1
    done
    return $ok
}

case "${1:-}" in
up) cmd_up ;;
down) for n in 3 2 1; do on_node "$n" down; done ;;
status) cmd_status ;;
start) on_node "${2:-}" up ;;
kill | freeze | thaw) on_node "${2:-}" "$1" ;;
url) cmd_url "${2:-}" ;;
*)
    echo "usage: $0 up|down|status|start N|kill N|freeze N|thaw N|url [KEYSPACE]" >&2
    exit 2
    ;;
esac
