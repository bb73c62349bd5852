#!/usr/bin/env bash
# Regenerates docs/screenshots/overview.png, message.png and indicators.png: a real engine with
# test channels and its console, a few result messages (test identities), a LIS that refuses
# them and an EAI that is down, photographed in Debian's Chromium (scripts/test-prereqs.sh
# installs it). Needs Redis at 127.0.0.1:6379 (a fresh key prefix) and the ANS kit.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
node dist/test/support/console-screenshots.js "${1:-docs/screenshots}"
