#!/usr/bin/env bash
# The desktop app and browser interface (apps/desktop): Debian's chromium for its end-to-end tests, its npm
# packages (Electron's binary is not downloaded: it cannot be here, and only packaging needs it), the Vite build
# of the interface the daemon serves, and the main-process modules. Idempotent: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."
DESKTOP=apps/desktop
# The repository's Node 22 (electron-builder's dependencies and Vite 8 want it), once scripts/setup.sh installed it.
export PATH="$PWD/node_modules/.bin:$PATH"
step() { printf '\n== %s\n' "$*" >&2; }

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium (headless browser for the interface tests)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ ! -d "$DESKTOP/node_modules" ] || [ "$DESKTOP/package-lock.json" -nt "$DESKTOP/node_modules/.package-lock.json" ]; then
  step "installing the desktop app's npm packages (npm ci, without Electron's binary)"
  # `npm test` passes the root .npmrc (omit=optional) down as npm_config_omit: the app needs its optional native
  # packages (rolldown, lightningcss), so that setting must not reach this install.
  (cd "$DESKTOP" && env -u npm_config_omit ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --include=optional --no-audit --no-fund)
fi

# Rebuilt only when a source is newer than the last build.
stamp() { find "$@" -type f -newer "$DESKTOP/dist/index.html" -print -quit 2>/dev/null; }
if [ ! -f "$DESKTOP/dist/index.html" ] || [ -n "$(stamp "$DESKTOP/src" "$DESKTOP/index.html" "$DESKTOP/vite.config.js" "$DESKTOP/package-lock.json")" ]; then
  step "building the interface (vite build)"
  (cd "$DESKTOP" && nice -n 19 node_modules/.bin/vite build --logLevel warn)
fi

step "compiling the Electron main process and the interface's tested logic"
node_modules/.bin/tsc -p "$DESKTOP/electron/tsconfig.json"
node_modules/.bin/tsc -p "$DESKTOP/src/lib/tsconfig.tests.json"
