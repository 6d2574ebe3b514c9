#!/usr/bin/env bash
# `npm run demo`: a local network on this machine, three processes (provider, aggregator, client), one real
# generation printed to the terminal. Exits 0 when the job completed. Whatever happens (success, a failure,
# Ctrl-C), it stops exactly the daemons it started, by their own pids, and what they started.
set -euo pipefail
cd "$(dirname "$0")/.."
# INFERNET_SKIP_SETUP=1: the set-up already ran (the test that runs this script does so after `npm test`'s set-up).
[ "${INFERNET_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
MODEL=$(node scripts/fetch-model.mjs)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infernet-demo.XXXXXX")
infernet() { node bin/infernet.js "$@"; }
homes=()
daemons=()

# Each daemon is started as the background command itself (not through a function or subshell), so `$!` is the
# daemon's own pid.
start_daemon() { # HOME_DIR: runs `infernet start` in the background, logging to HOME_DIR.log
  node bin/infernet.js start --home "$1" >"$1.log" 2>&1 &
  daemons+=($!)
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${daemons[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${daemons[@]}"; do wait_gone "$pid" 20 || kill -KILL "$pid" 2>/dev/null || true; done
  # A daemon that had to be killed could not stop its PocketBase: stop the one its home names.
  for home in "${homes[@]}"; do stop_backend_of "$home"; done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_gone() { # PID SECONDS: 0 once the process is gone, 1 if it still runs after SECONDS
  for _ in $(seq 1 $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

stop_backend_of() { # HOME_DIR
  local file="$1/pocketbase-process.json" pid
  [ -f "$file" ] || return 0
  pid=$(node -e 'try { console.log(require(process.argv[1]).pid ?? "") } catch {}' "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
}

wait_for_url() { # the daemon writes its listening URL to daemon.json once it is up
  for _ in $(seq 1 300); do
    if [ -f "$1/daemon.json" ]; then
      url=$(node -e 'const s=require(process.argv[1]); if (s.url) console.log(s.url)' "$1/daemon.json")
      [ -n "$url" ] && { echo "$url"; return 0; }
    fi
    sleep 0.1
  done
  echo "demo: daemon in $1 did not start; see $1.log" >&2
  return 1
}

SANDBOX=docker
if ! docker info >/dev/null 2>&1; then
  SANDBOX=none
  echo "(no Docker engine answers here: the demo provider runs jobs without the sandbox, in an engine process of its own;"
  echo " \`bash scripts/setup-docker.sh\` as root installs and starts one)"
fi
echo "(homes and logs in $WORK)"
echo "== provider (serves $(basename "$MODEL"), sandbox: $SANDBOX)"
homes+=("$WORK/provider")
infernet init --home "$WORK/provider" --role provider --port 0 --model "$MODEL" --sandbox "$SANDBOX"
start_daemon "$WORK/provider"
PROVIDER_URL=$(wait_for_url "$WORK/provider")

echo "== aggregator (connects to $PROVIDER_URL)"
homes+=("$WORK/aggregator")
infernet init --home "$WORK/aggregator" --role aggregator --port 0 --connect "$PROVIDER_URL"
start_daemon "$WORK/aggregator"
AGGREGATOR_URL=$(wait_for_url "$WORK/aggregator")

echo "== client (submits through $AGGREGATOR_URL)"
homes+=("$WORK/client")
infernet init --home "$WORK/client" --role client --connect "$AGGREGATOR_URL"
for _ in $(seq 1 100); do
  node -e 'const s=require(process.argv[1]); process.exit(s.peers.some((p) => p.role !== "client") ? 0 : 1)' "$WORK/aggregator/daemon.json" && break
  sleep 0.1
done

echo
echo "== generation (greedy, 128 tokens)"
printf "Once upon a time"
infernet submit --home "$WORK/client" --model "$MODEL" --prompt "Once upon a time" --max-tokens 128
echo
echo "== the job as the client recorded it"
infernet jobs --home "$WORK/client"
echo "(homes and logs in $WORK)"
