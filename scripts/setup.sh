#!/usr/bin/env bash
# Everything a fresh machine needs before the demo or the tests: npm packages, the TypeScript build, the
# PocketBase backend and the demo model; with --full also the Docker engine and the runtime image.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages (npm ci)"
  command -v npm >/dev/null || { echo "setup: npm is missing: install Node.js 18 or newer (Debian: apt-get install nodejs npm)" >&2; exit 1; }
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"

step "building TypeScript"
tsc -p tsconfig.json

step "building the PocketBase backend (cached by source hash)"
bash scripts/build-backend.sh >/dev/null

step "locating the demo model"
node scripts/fetch-model.mjs >/dev/null

if [ "${1:-}" = "--full" ]; then
  step "starting the Docker engine"
  bash scripts/setup-docker.sh
  step "building the runtime image (cached by content hash)"
  bash scripts/build-runtime-image.sh >/dev/null
fi
