#!/usr/bin/env bash
# Re-renders samples/rendered/ from samples/*.hl7 (fixed document time, so the output only
# changes when the code does). test/documents/rendered-samples.int.test.ts checks it is current.
set -euo pipefail
cd "$(dirname "$0")/.."
kit="${PASSERELLE_ANS_KIT:-var/ans-kit}"
rm -rf samples/rendered
for f in samples/oru-r*.hl7 samples/oul-r*.hl7; do
  node dist/engine/cli/main.js render "$f" --out samples/rendered --kit "$kit" --time 20261126120000+0100 >/dev/null
done
ls samples/rendered | wc -l
