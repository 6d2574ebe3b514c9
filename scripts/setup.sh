#!/usr/bin/env bash
# Everything a fresh machine needs before the demo or the tests: npm packages, the TypeScript build, the
# PocketBase backend and the demo model; with --full also what the tests need: the Docker engine and the runtime
# image, network namespace tools, the test Nostr relay, btcd and lnd, llama.cpp with RPC, the desktop and mobile apps.
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
  step "network namespace tools (iproute2, iptables)"
  bash scripts/setup-nat.sh
  step "building the test Nostr relay (cached by source hash)"
  bash scripts/setup-relay.sh >/dev/null
  step "building btcd and lnd for the Lightning regtest (cached by version)"
  bash scripts/setup-lightning.sh
  step "building llama.cpp with its RPC backend (cached by commit; 5-15 min the first time)"
  bash scripts/build-llama-rpc.sh >/dev/null
  step "desktop app and interface"
  bash scripts/setup-desktop.sh
  step "mobile app"
  bash scripts/setup-mobile.sh
fi
