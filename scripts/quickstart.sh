#!/usr/bin/env bash
# Quick start: installs what Passerelle needs, builds it, and starts the engine with the sample
# channels (MLLP 2575 LTW results, 2576 ILW results, 2577 orders) on the embedded default
# (a local redis-server when none answers at REDIS_URL; an SQLite message store under var/).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# redis-server for the embedded default; python3, make and g++ in case better-sqlite3 has to be
# compiled (when its prebuilt binary cannot be downloaded).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
# DejaVu TrueType fonts: PDF/A requires embedded fonts, the report PDF embeds these.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "quickstart: installing ${missing[*]} from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  elif ! command -v redis-server >/dev/null 2>&1; then
    echo "quickstart: redis-server is missing. Install Redis >= 6.2 with your system's package manager" >&2
    echo "(brew install redis, dnf install redis, ...) or point REDIS_URL at a running Redis." >&2
    exit 1
  fi
fi

bash scripts/test-prereqs.sh

npm ci --no-audit --no-fund
npm run build

# The ANS CI-SIS kit (schematrons, value sets, CDA XSD) is not shipped with Passerelle. Use
# PASSERELLE_ANS_KIT, else var/ans-kit, else a copy beside this clone (../shared/ans on our
# machines). Without one, CR-BIO documents wait (README "ANS kit").
if [ -z "${PASSERELLE_ANS_KIT:-}" ] && [ ! -e var/ans-kit ] && [ -d ../shared/ans/schematrons ]; then
  mkdir -p var && ln -s "$(cd ../shared/ans && pwd)" var/ans-kit
fi
kit="${PASSERELLE_ANS_KIT:-var/ans-kit}"
if [ -d "$kit/schematrons" ]; then
  node dist/engine/cli/main.js schematron compile "$kit" >/dev/null
  echo "quickstart: ANS kit $kit prepared"
else
  echo "quickstart: no ANS kit at $kit: CR-BIO documents will wait for one (README \"ANS kit\")" >&2
fi
exec node dist/engine/cli/main.js start --channels channels
