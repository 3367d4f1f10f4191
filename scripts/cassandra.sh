#!/usr/bin/env bash
# A single throwaway Apache Cassandra node on 127.0.0.1 for the tests (no Docker needed).
#
#   scripts/cassandra.sh up      install (first run: Maven Central -> cache) and start; reuses a running one
#   scripts/cassandra.sh down    stop the node started by `up` (SIGTERM, then SIGKILL after a timeout)
#   scripts/cassandra.sh status  exit 0 if a CQL server answers on 127.0.0.1:9042
#   scripts/cassandra.sh kill|freeze|thaw   SIGKILL, SIGSTOP or SIGCONT the node (fault tests)
#
# Jars:  ${LOGSTORE_CACHE_DIR:-<repo>/.cache}/cassandra-5.0.9/lib
# Run:   ${LOGSTORE_RUN_DIR:-<repo>/.run}/cassandra/{cassandra.yaml,logback.xml,data/,logs/,cassandra.pid}
# Env:   CASSANDRA_TIMER_SLACK_NS (200000), CASSANDRA_HEAP (1G), CASSANDRA_START_TIMEOUT (180 s), CASSANDRA_STOP_TIMEOUT (60 s), JAVA_HOME
# Ports: native 9042, storage 7000, JMX 7199 (all on 127.0.0.1). Data is kept between down/up.
#
# scripts/cluster.sh runs this same script once per node of a multi-node cluster, overriding:
#   CASSANDRA_NODE (run dir name), CASSANDRA_HOST, CASSANDRA_RPC_HOST, CASSANDRA_NATIVE_PORT, CASSANDRA_STORAGE_PORT,
#   CASSANDRA_JMX_PORT, CASSANDRA_SEEDS, CASSANDRA_CLUSTER_NAME, CASSANDRA_INITIAL_TOKEN and
#   CASSANDRA_MULTI_NODE=1 (keeps the gossip waits and hinted handoff a real cluster needs).
set -euo pipefail
LOG_PREFIX=${CASSANDRA_NODE:-cassandra}
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CASSANDRA_VERSION=5.0.9
HOST=${CASSANDRA_HOST:-127.0.0.1}
RPC_HOST=${CASSANDRA_RPC_HOST:-$HOST} # where CQL listens; drivers are told $HOST (a proxy may sit there)
NATIVE_PORT=${CASSANDRA_NATIVE_PORT:-9042}
STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
JMX_PORT=${CASSANDRA_JMX_PORT:-7199}
SEEDS=${CASSANDRA_SEEDS:-$HOST:$STORAGE_PORT}
CLUSTER_NAME=${CASSANDRA_CLUSTER_NAME:-logstore-test}
INITIAL_TOKEN=${CASSANDRA_INITIAL_TOKEN:-0}
MULTI_NODE=${CASSANDRA_MULTI_NODE:-0}
HEAP=${CASSANDRA_HEAP:-1G}
TIMER_SLACK_NS=${CASSANDRA_TIMER_SLACK_NS:-200000}
START_TIMEOUT=${CASSANDRA_START_TIMEOUT:-180}
STOP_TIMEOUT=${CASSANDRA_STOP_TIMEOUT:-60}

INSTALL_DIR=$LOGSTORE_CACHE_BASE/cassandra-$CASSANDRA_VERSION
LIB_DIR=$INSTALL_DIR/lib
RUN_DIR=$LOGSTORE_RUN_BASE/${CASSANDRA_NODE:-cassandra}
DATA_DIR=$RUN_DIR/data
LOG_DIR=$RUN_DIR/logs
PID_FILE=$RUN_DIR/cassandra.pid
CONFIG_ARG="-Dcassandra.config=file://$RUN_DIR/cassandra.yaml"

# --- CQL probe: a real STARTUP + QUERY over the native protocol v4, in pure bash ---------------------

# cql_release_version: print the server's release_version; fail if no working CQL server answers.
cql_release_version() {
    # shellcheck disable=SC2016 # the inner script expands its own variables
    timeout 5 bash -c '
        set -eu
        be32() { printf "\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x" $(($1>>24&255)) $(($1>>16&255)) $(($1>>8&255)) $(($1&255)); }
        read_frame() {  # sets OPCODE and BODY (printable runs of the body, one per line) from fd 3
            local hdr
            hdr=$(head -c 9 <&3 | od -An -v -tx1 | tr -d " \n")
            [ ${#hdr} -eq 18 ] || exit 1
            OPCODE=${hdr:8:2}
            BODY=$(head -c $((16#${hdr:10:8})) <&3 | tr -c "0-9A-Za-z._-" "\n")
        }
        exec 3<>"/dev/tcp/$0/$1"
        # STARTUP {CQL_VERSION: 3.0.0}, stream 1
        printf "\x04\x00\x00\x01\x01\x00\x00\x00\x16\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0" >&3
        read_frame
        [ "$OPCODE" = 02 ] || exit 1   # READY (auth is off on the test node)
        q="SELECT release_version FROM system.local"
        printf "\x04\x00\x00\x02\x07$(be32 $((4 + ${#q} + 3)))$(be32 ${#q})%s\x00\x01\x00" "$q" >&3
        read_frame
        [ "$OPCODE" = 08 ] || exit 1   # RESULT
        grep -E "^[0-9]+\.[0-9]+" <<<"$BODY" | tail -n 1
    ' "$RPC_HOST" "$NATIVE_PORT" 2>/dev/null
}

# --- process bookkeeping ------------------------------------------------------------------------------

# is_ours PID: true if PID is a live java process started with this run dir's cassandra.yaml.
is_ours() {
    [ -n "$1" ] && [[ "$(readlink "/proc/$1/exe" 2>/dev/null)" == */java ]] &&
        tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -xF -- "$CONFIG_ARG" >/dev/null
}

# our_pid: print the pid of the Cassandra started from this run dir, if it is alive.
our_pid() {
    local pid d
    pid=$(tr -dc 0-9 2>/dev/null <"$PID_FILE" || true)
    if is_ours "$pid"; then
        echo "$pid"
        return 0
    fi
    for d in /proc/[0-9]*; do # pid file missing or stale: look for our exact config argument
        pid=${d#/proc/}
        if is_ours "$pid"; then
            echo "$pid" | tee "$PID_FILE"
            return 0
        fi
    done
    return 1
}

# log_tail [SYSTEM_LOG_OFFSET CONSOLE_LOG_OFFSET]: the end of what this start wrote to the logs.
log_tail() {
    local f off
    for f in system.log:"${1:-0}" console.log:"${2:-0}"; do
        off=${f#*:}
        f=$LOG_DIR/${f%%:*}
        if [ -s "$f" ] && [ "$(stat -c %s "$f")" -gt "$off" ]; then
            echo "----- last 40 lines of $f -----" >&2
            tail -c +$((off + 1)) "$f" | tail -n 40 >&2
        fi
    done
    echo "-----" >&2
}

# --- installation -------------------------------------------------------------------------------------

java_major() { "$1" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1; }

find_java() {
    local j
    for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/java-17-openjdk-*/bin/java; do
        if [ -n "$j" ] && [ -x "$j" ] && [ "$(java_major "$j")" = 17 ]; then
            JAVA=$j
            return 0
        fi
    done
    return 1
}

ensure_java() {
    if ! find_java; then
        say "no Java 17 found (java -version: $(java -version 2>&1 | head -n 1 || echo none))"
        apt_install openjdk-17-jre-headless
        find_java || die "Java 17 is required (Cassandra 5.0); set JAVA_HOME to a JDK 17"
    fi
}

ensure_jars() {
    if [ -f "$INSTALL_DIR/.complete" ] && [ -f "$LIB_DIR/cassandra-all-$CASSANDRA_VERSION.jar" ]; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    mkdir -p "$LOGSTORE_CACHE_BASE"
    rm -rf "$INSTALL_DIR" "$LOGSTORE_CACHE_BASE"/.cassandra-"$CASSANDRA_VERSION".tmp.* # half or foreign leftovers
    local tmp start
    tmp=$(mktemp -d "$LOGSTORE_CACHE_BASE/.cassandra-$CASSANDRA_VERSION.tmp.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>logstore.local</groupId>
  <artifactId>cassandra-download</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    say "downloading cassandra-all $CASSANDRA_VERSION and its dependencies from Maven Central"
    start=$(now_ms)
    if ! mvn -q -B -f "$tmp/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$tmp/lib" -DincludeScope=runtime >"$tmp/mvn.log" 2>&1; then
        tail -n 40 "$tmp/mvn.log" >&2
        die "Maven download failed"
    fi
    [ -f "$tmp/lib/cassandra-all-$CASSANDRA_VERSION.jar" ] || die "Maven ran but cassandra-all-$CASSANDRA_VERSION.jar is missing"
    rm -f "$tmp/pom.xml" "$tmp/mvn.log"
    date -u +%FT%TZ >"$tmp/.complete"
    chmod 755 "$tmp"
    mv -T "$tmp" "$INSTALL_DIR" # atomic: the cache appears complete or not at all
    trap - EXIT
    say "cached $(find "$LIB_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIB_DIR" | cut -f1)) in $LIB_DIR after $(elapsed_s "$start") s"
}

write_config() {
    mkdir -p "$DATA_DIR" "$LOG_DIR" "$RUN_DIR/triggers"
    cat >"$RUN_DIR/cassandra.yaml" <<EOF
# Generated by scripts/cassandra.sh: a throwaway test node. Do not use for real data.
cluster_name: $CLUSTER_NAME
num_tokens: 1
initial_token: $INITIAL_TOKEN
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$SEEDS"
listen_address: $HOST
rpc_address: $RPC_HOST
broadcast_rpc_address: $HOST
storage_port: $STORAGE_PORT
start_native_transport: true
native_transport_port: $NATIVE_PORT

data_file_directories:
  - $DATA_DIR/data
commitlog_directory: $DATA_DIR/commitlog
saved_caches_directory: $DATA_DIR/saved_caches
hints_directory: $DATA_DIR/hints
cdc_raw_directory: $DATA_DIR/cdc_raw

authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer

commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
commitlog_total_space: 512MiB
storage_compatibility_mode: NONE

# modest resources: 2 cores shared with the tests
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 4
concurrent_compactors: 1
compaction_throughput: 64MiB/s
# memtable cells off the heap: on heap, 16 KB-1 MiB chunk blobs filled the old generation and G1's
# concurrent marking took 0.12 cores under a 40 MB/s PUT load (docs/performance-history.md, 2026-11-25, session 7)
memtable_allocation_type: offheap_objects
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
memtable_flush_writers: 1
key_cache_size: 16MiB
row_cache_size: 0MiB
counter_cache_size: 0MiB
file_cache_size: 64MiB
networking_cache_size: 32MiB
prepared_statements_cache_size: 16MiB

# a fresh throwaway cluster has no data to stream to a joining node
auto_bootstrap: false

# not needed on a throwaway single node
auto_snapshot: false
snapshot_before_compaction: false
incremental_backups: false
hinted_handoff_enabled: $([ "$MULTI_NODE" = 1 ] && echo true || echo false)
max_hint_window: 3h
cdc_enabled: false
materialized_views_enabled: false
sasi_indexes_enabled: false
transient_replication_enabled: false
drop_compact_storage_enabled: false
user_defined_functions_enabled: false
automatic_sstable_upgrade: false
diagnostic_events_enabled: false
trickle_fsync: false
disk_failure_policy: stop
commit_failure_policy: stop
EOF
    cat >"$RUN_DIR/logback.xml" <<EOF
<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>$LOG_DIR/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>$LOG_DIR/system.log.%i.zip</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>20MB</maxFileSize>
    </triggeringPolicy>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG" />
  </root>
  <logger name="org.apache.cassandra" level="INFO" />
</configuration>
EOF
}

jvm_flags() {
    local jamm jars
    jars=("$LIB_DIR"/jamm-*.jar)
    jamm=${jars[0]}
    [ -f "$jamm" ] || jamm=
    local flags=(
        -Xms"$HEAP" -Xmx"$HEAP" -Xss256k
        -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis=300
        -XX:+ExitOnOutOfMemoryError -XX:+PerfDisableSharedMem -XX:ErrorFile="$LOG_DIR/hs_err_%p.log"
        -Djava.net.preferIPv4Stack=true
        -Djdk.attach.allowAttachSelf=true
        -Dio.netty.tryReflectionSetAccessible=true
        -Dio.netty.allocator.useCacheForAllThreads=true -Dio.netty.allocator.maxOrder=11
        # JDK 17 module flags, as in Cassandra 5.0's conf/jvm17-server.options
        --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
        --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
        --add-exports java.sql/java.sql=ALL-UNNAMED
        --add-exports java.base/java.lang.ref=ALL-UNNAMED
        --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
        --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
        --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
        --add-opens java.base/java.lang.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
        --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
        --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
        --add-opens java.base/jdk.internal.math=ALL-UNNAMED
        --add-opens java.base/jdk.internal.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
        --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
        --add-opens java.base/sun.nio.ch=ALL-UNNAMED
        --add-opens java.base/java.io=ALL-UNNAMED
        --add-opens java.base/java.lang.reflect=ALL-UNNAMED
        --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
        --add-opens java.base/java.lang=ALL-UNNAMED
        --add-opens java.base/java.util=ALL-UNNAMED
        ${jamm:+-javaagent:"$jamm"}
        "$CONFIG_ARG"
        -Dlogback.configurationFile="file://$RUN_DIR/logback.xml"
        -Dcassandra.storagedir="$DATA_DIR"
        -Dcassandra.logdir="$LOG_DIR"
        -Dcassandra.triggers_dir="$RUN_DIR/triggers"
        -Dcassandra-foreground=yes
        -Dcassandra-pidfile="$PID_FILE"
        -Dcassandra.jmx.local.port="$JMX_PORT"
        -Dcassandra.superuser_setup_delay_ms=0
        -Dchronicle.announcer.disable=true
    )
    if [ "$MULTI_NODE" != 1 ]; then # fast single-node start; never for a multi-node cluster
        flags+=(
            -Dcassandra.skip_wait_for_gossip_to_settle=0
            -Dcassandra.ring_delay_ms=100
            -Dcassandra.unsafesystem=true
            -Dcassandra.shutdown_announce_in_ms=0
        )
    fi
    printf '%s\n' "${flags[@]}"
}

# --- subcommands --------------------------------------------------------------------------------------

wait_ready() { # wait_ready PID START_MS [SYSTEM_LOG_OFFSET CONSOLE_LOG_OFFSET]
    local pid=$1 start=$2 offset=${3:-0} con_offset=${4:-0} deadline=$(($(date +%s) + START_TIMEOUT)) version
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log_tail "$offset" "$con_offset"
            die "the Cassandra process (pid $pid) exited during startup; see the log above ($LOG_DIR)"
        fi
        if port_open "$RPC_HOST" "$NATIVE_PORT" && tail -c +$((offset + 1)) "$LOG_DIR/system.log" 2>/dev/null | grep 'Startup complete' >/dev/null &&
            version=$(cql_release_version) && [ -n "$version" ]; then
            say "ready on $HOST:$NATIVE_PORT after $(elapsed_s "$start") s (Cassandra $version, pid $pid)"
            return 0
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log_tail "$offset" "$con_offset"
            die "not ready on $HOST:$NATIVE_PORT after ${START_TIMEOUT} s (pid $pid still running; stop it with: $0 down)"
        fi
        sleep 0.5
    done
}

cmd_up() {
    local version pid start port
    with_lock "$RUN_DIR.lock"
    if version=$(cql_release_version) && [ -n "$version" ]; then
        say "reusing the Cassandra $version already answering on $HOST:$NATIVE_PORT"
        return 0
    fi
    if pid=$(our_pid); then
        say "pid $pid is still starting; waiting for it"
        wait_ready "$pid" "$(now_ms)"
        return 0
    fi
    for address in "$RPC_HOST:$NATIVE_PORT" "$HOST:$STORAGE_PORT" "$HOST:$JMX_PORT"; do
        if port_open "${address%:*}" "${address##*:}"; then
            die "port $address is in use by something that is not a working Cassandra node; free it first"
        fi
    done
    ensure_java
    ensure_jars
    write_config
    local flags
    mapfile -t flags < <(jvm_flags)
    local offset con_offset
    offset=$(stat -c %s "$LOG_DIR/system.log" 2>/dev/null || echo 0)
    con_offset=$(stat -c %s "$LOG_DIR/console.log" 2>/dev/null || echo 0)
    echo "===== $(date -u +%FT%TZ) starting Cassandra $CASSANDRA_VERSION with $JAVA" >>"$LOG_DIR/console.log"
    say "starting Cassandra $CASSANDRA_VERSION (heap $HEAP) on $HOST:$NATIVE_PORT, logs in $LOG_DIR"
    start=$(now_ms)
    set +m # no job control: the background job keeps its pid through `exec setsid`
    # 9>&-: the node must not inherit our lock; setsid: own session, so a Ctrl-C in the calling shell or make does not kill the node
    # The timer slack (inherited by every thread the JVM starts): Cassandra's request executors
    # (SEPWorker) wait for work in parks of 10 us and up; at the default 50 us slack those wake-ups
    # alone cost 0.35 of this 2-core machine's cores at any request rate from 200/s (0.45 at
    # 3,000/s). At 200 us they cost 0.15 (0.22 at 3,000/s) and a request's latency is unchanged
    # (p50 0.9 ms, p99 2-3 ms). docs/performance-history.md, 2026-11-25, session 7.
    (cd "$RUN_DIR" && { echo "$TIMER_SLACK_NS" >/proc/self/timerslack_ns || true; } 2>/dev/null &&
        exec setsid "$JAVA" "${flags[@]}" -cp "$LIB_DIR/*" \
        org.apache.cassandra.service.CassandraDaemon </dev/null >>"$LOG_DIR/console.log" 2>&1 9>&-) &
    pid=$!
    echo "$pid" >"$PID_FILE"
    wait_ready "$pid" "$start" "$offset" "$con_offset"
}

cmd_down() {
    local pid i
    with_lock "$RUN_DIR.lock"
    if ! pid=$(our_pid); then
        rm -f "$PID_FILE"
        if port_open "$RPC_HOST" "$NATIVE_PORT"; then
            say "not started by this script (no process for $RUN_DIR); leaving whatever answers on $HOST:$NATIVE_PORT alone"
        else
            say "not running"
        fi
        return 0
    fi
    say "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "still running after ${STOP_TIMEOUT} s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
    fi
    rm -f "$PID_FILE"
    say "stopped"
}

cmd_status() {
    local version pid
    if version=$(cql_release_version) && [ -n "$version" ]; then
        if pid=$(our_pid); then
            say "up on $HOST:$NATIVE_PORT (Cassandra $version, pid $pid)"
        else
            say "up on $HOST:$NATIVE_PORT (Cassandra $version, not started by this script)"
        fi
        return 0
    fi
    if pid=$(our_pid); then
        say "starting or unresponsive (pid $pid), not answering CQL on $HOST:$NATIVE_PORT"
    else
        say "down"
    fi
    return 1
}

cmd_signal() { # cmd_signal SIGNAL WHAT: fault injection for the fault suite
    local pid
    pid=$(our_pid) || die "not running (no process for $RUN_DIR)"
    kill -"$1" "$pid"
    say "pid $pid $2 (SIG$1)"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
kill) cmd_signal KILL "killed" ;;
freeze) cmd_signal STOP "frozen" ;;
thaw) cmd_signal CONT "thawed" ;;
*)
    echo "usage: $0 up|down|status|kill|freeze|thaw" >&2
    exit 2
    ;;
esac
