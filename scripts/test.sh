#!/usr/bin/env bash
# `npm test`: everything, in order of cost. npm puts node_modules/.bin first on PATH, so `node` here is the
# Node 24 binary from the `node` package, not the machine's.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/print-node-version.ts
echo "== lint (biome)"; npx biome check .
echo "== type-check (tsc)"; npx tsc -p tsconfig.json
echo "== layer rules (dependency-cruiser, .dependency-cruiser.json)"; npm run --silent lint:layers
echo "== unused files, exports and dependencies (knip, knip.jsonc)"; npm run --silent lint:unused
echo "== unit tests"; npx vitest run --project unit
echo "== kcat for the foreign-client test (scripts/install-kcat.sh)"; bash scripts/install-kcat.sh
echo "== chromium for the drill report's browser test (scripts/install-chromium.sh)"; bash scripts/install-chromium.sh
echo "== integration tests (real Kafka, MirrorMaker 2, moto)"; npx vitest run --project integration
