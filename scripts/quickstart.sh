#!/usr/bin/env bash
# Quick start: installs what Passerelle needs, builds it, and starts the engine with the sample
# channels (MLLP 2575 LTW results, 2576 ILW results, 2577 orders) on the embedded default
# (a local redis-server when none answers at REDIS_URL; an SQLite message store under var/).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "quickstart: installing redis-server from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  else
    echo "quickstart: redis-server is missing. Install Redis >= 6.2 with your system's package manager" >&2
    echo "(brew install redis, dnf install redis, ...) or point REDIS_URL at a running Redis." >&2
    exit 1
  fi
fi

bash scripts/test-prereqs.sh

npm ci --no-audit --no-fund
npm run build
exec node dist/engine/cli/main.js start --channels channels
