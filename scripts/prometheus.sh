#!/usr/bin/env bash
# Prometheus (Debian's prometheus package) on loopback, scraping logstore and RabbitMQ, with the
# project's alert rules (deploy/prometheus/alerts.yml).
#
#   scripts/prometheus.sh up      install if missing (apt), write the config, start if not running, wait until ready
#   scripts/prometheus.sh down    stop the server started by `up` (SIGTERM, then SIGKILL after a timeout)
#   scripts/prometheus.sh status  exit 0 if our server answers /-/ready
#
# Scrape targets: every *.json file in <run dir>/targets (Prometheus file_sd, re-read on change),
# each a list of {"targets": ["127.0.0.1:8081"], "labels": {"role": "ingest"}} for job "logstore";
# RabbitMQ's rabbitmq_prometheus plugin on 127.0.0.1:15692 (scripts/rabbitmq.sh enables it):
# job "rabbitmq" (/metrics) and job "rabbitmq-queues" (/metrics/detailed, per-queue depth and consumers).
#
# Env: PROMETHEUS_PORT (9090), PROMETHEUS_SCRAPE_INTERVAL (15s), PROMETHEUS_EVALUATION_INTERVAL (15s),
#      PROMETHEUS_RULES (deploy/prometheus/alerts.yml), PROMETHEUS_RUN_DIR (<repo>/.run/prometheus),
#      PROMETHEUS_RABBITMQ (127.0.0.1:15692), PROMETHEUS_START_TIMEOUT (60 s), PROMETHEUS_STOP_TIMEOUT (30 s).
# Run dir: prometheus.yml, targets/, data/, prometheus.log, prometheus.pid. The config is rewritten on every `up`
# (a running server is told to reload it).
set -euo pipefail
LOG_PREFIX=prometheus
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOST=127.0.0.1
PORT=${PROMETHEUS_PORT:-9090}
SCRAPE_INTERVAL=${PROMETHEUS_SCRAPE_INTERVAL:-15s}
EVALUATION_INTERVAL=${PROMETHEUS_EVALUATION_INTERVAL:-15s}
RULES=$(realpath "${PROMETHEUS_RULES:-$LOGSTORE_ROOT/deploy/prometheus/alerts.yml}")
RUN_DIR=${PROMETHEUS_RUN_DIR:-$LOGSTORE_RUN_BASE/prometheus}
RABBITMQ=${PROMETHEUS_RABBITMQ:-127.0.0.1:15692}
START_TIMEOUT=${PROMETHEUS_START_TIMEOUT:-60}
STOP_TIMEOUT=${PROMETHEUS_STOP_TIMEOUT:-30}
PID_FILE=$RUN_DIR/prometheus.pid
CONFIG=$RUN_DIR/prometheus.yml
BASE=http://$HOST:$PORT

ready() { curl -fsS -m 2 "$BASE/-/ready" >/dev/null 2>&1; }

our_pid() {
    local pid
    pid=$(cat "$PID_FILE" 2>/dev/null | tr -dc 0-9) || true
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q prometheus "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

ensure_installed() {
    if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
        apt_install prometheus
    fi
    command -v prometheus >/dev/null 2>&1 || die "prometheus is not installed and could not be installed"
    command -v curl >/dev/null 2>&1 || apt_install curl
}

write_config() {
    mkdir -p "$RUN_DIR/targets" "$RUN_DIR/data"
    [ -f "$RULES" ] || die "no rules file at $RULES"
    cat >"$CONFIG.tmp" <<EOF
# written by scripts/prometheus.sh; edits are lost on the next \`up\`
global:
  scrape_interval: $SCRAPE_INTERVAL
  scrape_timeout: $SCRAPE_INTERVAL
  evaluation_interval: $EVALUATION_INTERVAL
rule_files:
  - $RULES
scrape_configs:
  - job_name: logstore
    file_sd_configs:
      - files: ["$RUN_DIR/targets/*.json"]
        refresh_interval: 5s
  - job_name: rabbitmq
    static_configs:
      - targets: ["$RABBITMQ"]
  - job_name: rabbitmq-queues
    metrics_path: /metrics/detailed
    params:
      family: [queue_coarse_metrics, queue_consumer_count]
    static_configs:
      - targets: ["$RABBITMQ"]
EOF
    promtool check config "$CONFIG.tmp" >/dev/null || die "the generated config does not pass promtool check config"
    mv "$CONFIG.tmp" "$CONFIG"
}

cmd_up() {
    local start pid
    ensure_installed
    with_lock "$RUN_DIR.lock"
    write_config
    if [ -n "$(our_pid)" ] && ready; then
        curl -fsS -m 5 -X POST "$BASE/-/reload" >/dev/null || die "the running server did not reload its config"
        say "reusing the running server on $HOST:$PORT (config reloaded)"
        return 0
    fi
    port_open "$HOST" "$PORT" && die "port $HOST:$PORT is in use by another process; set PROMETHEUS_PORT"
    start=$(now_ms)
    say "starting on $HOST:$PORT (scrape every $SCRAPE_INTERVAL, rules $RULES)"
    setsid prometheus --config.file="$CONFIG" --storage.tsdb.path="$RUN_DIR/data" \
        --storage.tsdb.retention.time=2d --web.listen-address="$HOST:$PORT" --web.enable-lifecycle \
        >"$RUN_DIR/prometheus.log" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PID_FILE"
    while ! ready; do
        if [ ! -d "/proc/$pid" ]; then
            tail -n 30 "$RUN_DIR/prometheus.log" >&2
            die "prometheus exited during start; see the log above"
        fi
        if [ "$(($(now_ms) - start))" -gt $((START_TIMEOUT * 1000)) ]; then
            tail -n 30 "$RUN_DIR/prometheus.log" >&2
            die "not ready on $HOST:$PORT after $START_TIMEOUT s"
        fi
        sleep 0.2
    done
    say "ready on $HOST:$PORT after $(elapsed_s "$start") s"
}

cmd_down() {
    local pid i
    pid=$(our_pid) || true
    if [ -z "$pid" ]; then
        say "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
        [ -d "/proc/$pid" ] || break
        sleep 0.2
    done
    if [ -d "/proc/$pid" ]; then
        say "still running after $STOP_TIMEOUT s; killing pid $pid"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
    say "stopped"
}

cmd_status() {
    if [ -n "$(our_pid)" ] && ready; then
        say "up on $HOST:$PORT (targets in $RUN_DIR/targets)"
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
