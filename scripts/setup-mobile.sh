#!/usr/bin/env bash
# Set-up for the mobile app (apps/mobile): its own npm packages, Chromium for the web build's end-to-end test,
# and the web export itself, rebuilt only when the app's sources (or the shared protocol) changed. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=apps/mobile

# The lock file's hash is recorded after a successful install: npm ci runs again only when it changed.
stamp="$APP/node_modules/.infernet-lock-sha256"
lock_hash=$(sha256sum "$APP/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  # Not the root .npmrc's omit=optional, which `npm test` passes down: the app needs its optional native packages.
  (cd "$APP" && env -u npm_config_omit nice -n 19 npm ci --include=optional --no-audit --no-fund)
  echo "$lock_hash" > "$stamp"
fi

if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi

# expo export takes one to two minutes on two cores: only when a source is newer than the last export.
index="$APP/dist-web/index.html"
if [[ ! -f "$index" ]] || [[ -n "$(find "$APP/src" "$APP/index.js" "$APP/app.json" "$APP/metro.config.js" "$APP/package-lock.json" src/protocol src/storage/collections.ts -newer "$index" -print -quit)" ]]; then
  (cd "$APP" && EXPO_OFFLINE=1 CI=1 nice -n 19 npx expo export --platform web --output-dir dist-web)
fi
