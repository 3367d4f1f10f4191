#!/usr/bin/env bash
# Tools the benchmark runs beside the servers: wrk (Debian's package), the HTTP load generator of
# `logstore bench` (benchmarks/steps/http_ingest.py), and curl, its download client (benchmarks/steps/big_download.py);
# and the tests' AMQP worker in Go (scripts/go_publisher.sh). Installs what is missing; does nothing otherwise.
set -euo pipefail
LOG_PREFIX=tools
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v wrk >/dev/null 2>&1; then
    apt_install wrk
fi
say "wrk: $(wrk --version 2>&1 | head -1)"
if ! command -v curl >/dev/null 2>&1; then
    apt_install curl
fi
say "curl: $(curl --version | head -1)"
"$(dirname "${BASH_SOURCE[0]}")/go_publisher.sh" # the tests' worker in Go
