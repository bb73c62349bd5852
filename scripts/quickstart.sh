#!/usr/bin/env bash
# Quick start: installs what Passerelle needs, builds it, and starts the engine with the sample
# channels (MLLP 2575 LTW results, 2576 ILW results, 2577 orders, 2579 PFI receipts) on the embedded default
# (a local redis-server when none answers at REDIS_URL; an SQLite message store under var/).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# redis-server for the embedded default; python3, make and g++ in case better-sqlite3 has to be
# compiled (when its prebuilt binary cannot be downloaded).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# git fetches the ANS kit (and the test corpus's ANS files) when no copy is found.
command -v git >/dev/null 2>&1 || missing+=(git)
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
mkdir -p var

# The ANS CI-SIS kit (schematrons, value sets, CDA XSD) is not shipped with Passerelle.
# `passerelle kit` takes PASSERELLE_ANS_KIT, else ../shared/ans beside this clone (our machines),
# else var/ans-kit, else fetches ANS's repository at the pinned commit into var/ans-kit
# (engine/config/reference-data.ts, README "ANS kit"). Without one it says in one line what is
# missing; the engine still takes messages in and their documents wait for a kit.
if kit=$(node dist/engine/cli/main.js kit 2>var/kit-error.txt); then
  # `npm start` later uses var/ans-kit by default: point it at a kit found elsewhere.
  if [ -z "${PASSERELLE_ANS_KIT:-}" ] && [ ! -e var/ans-kit ]; then ln -s "$kit" var/ans-kit; fi
  export PASSERELLE_ANS_KIT="$kit"
  node dist/engine/cli/main.js schematron compile "$kit" >/dev/null
  echo "quickstart: ANS kit $kit prepared"
else
  echo "quickstart: $(sed 's/^passerelle: //' var/kit-error.txt); until then CR-BIO documents wait" >&2
fi
rm -f var/kit-error.txt
exec node dist/engine/cli/main.js start --channels channels
