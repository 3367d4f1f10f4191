#!/usr/bin/env bash
# The tests' AMQP worker in Go (tests/integration/amqp_publish_go/, on github.com/rabbitmq/amqp091-go):
# built into .cache/bin/amqp-publish, its modules and build cache in .cache/go (all gitignored).
# Quick when nothing changed (Go's build cache); installs Go from Debian only when none is found.
set -euo pipefail
LOG_PREFIX=go-publisher
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SOURCE=$LOGSTORE_ROOT/tests/integration/amqp_publish_go
TARGET=$LOGSTORE_CACHE_BASE/bin/amqp-publish

GO=$(command -v go || true)
if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then
    GO=/usr/local/go/bin/go
fi
if [ -z "$GO" ]; then
    apt_install golang-go
    GO=$(command -v go)
fi
export GOMODCACHE=$LOGSTORE_CACHE_BASE/go/mod GOCACHE=$LOGSTORE_CACHE_BASE/go/build
export GOFLAGS="-modcacherw -buildvcs=false" # a cache that rm -rf can remove; no git stamp
started=$(now_ms)
(cd "$SOURCE" && "$GO" build -trimpath -o "$TARGET" .)
say "$TARGET built with $("$GO" env GOVERSION) in $(elapsed_s "$started") s"
