#!/usr/bin/env bash
# Everything a fresh machine needs before the demo or the tests: npm packages, the TypeScript build, the
# PocketBase backend and the demo model; with --full also what the tests need: the Docker engine and the runtime
# image, network namespace tools, the test Nostr relay, btcd and lnd, llama.cpp with RPC, the desktop and mobile apps.
# --needs LIST (comma-separated, from docker,nat,relay,lightning,llama-rpc,desktop,mobile) sets up only those
# (scripts/test.sh derives the list from the test files it runs).
# Idempotent: each step is skipped when its result is already there. The heavy builds (relay, btcd + lnd,
# llama.cpp, the apps) run side by side, each logging to its own file; every step's time is printed at the end
# and, when INFERNET_SETUP_TIMES names a file, appended there.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_PARTS="docker,nat,relay,lightning,llama-rpc,desktop,mobile"
needs=""
case "${1:-}" in
  --full) needs="$ALL_PARTS" ;;
  --needs) needs="${2:-}" ;;
  "") ;;
  *) echo "setup: unknown option $1 (--full or --needs LIST)" >&2; exit 2 ;;
esac
needs_part() { [[ ",$needs," == *",$1,"* ]]; }

times_file="${INFERNET_SETUP_TIMES:-$(mktemp "${TMPDIR:-/tmp}/infernet-setup-times.XXXXXX")}"
logs_dir=$(mktemp -d "${TMPDIR:-/tmp}/infernet-setup-logs.XXXXXX")
step() { printf '\n== %s\n' "$*" >&2; }
# timed NAME COMMAND...: runs the command, records how long it took.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  printf 'set-up  %-34s %5ds\n' "$name" $((SECONDS - start)) >>"$times_file"
}

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages (npm ci)"
  command -v npm >/dev/null || { echo "setup: npm is missing: install Node.js 18 or newer and npm (Debian: apt-get install nodejs npm); npm ci then installs the project's own Node 22" >&2; exit 1; }
  timed "npm packages" npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"

step "node-llama-cpp's GPU build (only where a GPU answers)"
timed "GPU build of node-llama-cpp" bash scripts/install-llama-gpu-build.sh

step "building TypeScript"
timed "TypeScript build" tsc -p tsconfig.json

step "building the PocketBase backend (cached by source hash)"
timed "PocketBase backend" bash -c 'bash scripts/build-backend.sh >/dev/null'

step "locating the demo model"
timed "demo model" bash -c 'node scripts/fetch-model.mjs >/dev/null'

# Steps that install Debian packages run one at a time (apt takes one lock).
if needs_part docker; then
  step "starting the Docker engine"
  timed "Docker engine" bash scripts/setup-docker.sh
  step "building the runtime image (cached by content hash)"
  timed "runtime image" bash -c 'bash scripts/build-runtime-image.sh >/dev/null'
fi
if needs_part nat; then
  step "network namespace tools (iproute2, iptables)"
  timed "network namespace tools" bash scripts/setup-nat.sh
fi
if needs_part desktop || needs_part mobile; then
  if ! command -v chromium >/dev/null 2>&1; then
    step "installing Debian's chromium (headless browser for the app tests)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    timed "chromium" bash -c "$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null"
  fi
fi

# The heavy builds side by side: downloads of one overlap compiling of another. Each is idempotent and cached.
declare -A heavy=(
  [relay]="bash scripts/setup-relay.sh"
  [lightning]="bash scripts/setup-lightning.sh"
  [llama-rpc]="bash scripts/build-llama-rpc.sh"
  [desktop]="bash scripts/setup-desktop.sh"
  [mobile]="bash scripts/setup-mobile.sh"
)
declare -A running=()
for part in relay lightning llama-rpc desktop mobile; do
  needs_part "$part" || continue
  step "building $part in the background (log: $logs_dir/$part.log)"
  # Waited on, never killed by pid: Ctrl-C reaches the whole process group, builds included.
  timed "$part" bash -c "${heavy[$part]}" >"$logs_dir/$part.log" 2>&1 &
  running[$part]=$!
done
failed=()
for part in "${!running[@]}"; do
  if ! wait "${running[$part]}"; then failed+=("$part"); fi
done
for part in "${failed[@]}"; do
  echo "setup: building $part failed; the end of its log ($logs_dir/$part.log):" >&2
  tail -n 30 "$logs_dir/$part.log" >&2
done

if [ -z "${INFERNET_SETUP_TIMES:-}" ]; then
  printf '\n== set-up times\n' >&2
  cat "$times_file" >&2
  rm -f "$times_file"
fi
[ ${#failed[@]} -eq 0 ] || exit 1
rm -rf "$logs_dir"
