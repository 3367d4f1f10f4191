#!/usr/bin/env bash
# Install Debian's Chromium for the viewer's browser tests (Playwright drives it; it never
# downloads a browser of its own). Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "chromium: installing Debian's chromium"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "chromium: install failed" >&2; exit 1; }
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
