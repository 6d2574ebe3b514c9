#!/usr/bin/env bash
# `npm run demo`: a local network on this machine, three processes (provider, aggregator, client), one real
# generation printed to the terminal. Exits 0 when the job completed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
MODEL=$(node scripts/fetch-model.mjs)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infernet-demo.XXXXXX")
infernet() { node bin/infernet.js "$@"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

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
  echo "(no Docker engine answers here: the demo provider runs jobs in-process, without the sandbox;"
  echo " \`bash scripts/setup-docker.sh\` as root installs and starts one)"
fi
echo "== provider (serves $(basename "$MODEL"), sandbox: $SANDBOX)"
infernet init --home "$WORK/provider" --role provider --port 0 --model "$MODEL" --sandbox "$SANDBOX"
infernet start --home "$WORK/provider" >"$WORK/provider.log" 2>&1 & pids+=($!)
PROVIDER_URL=$(wait_for_url "$WORK/provider")

echo "== aggregator (connects to $PROVIDER_URL)"
infernet init --home "$WORK/aggregator" --role aggregator --port 0 --connect "$PROVIDER_URL"
infernet start --home "$WORK/aggregator" >"$WORK/aggregator.log" 2>&1 & pids+=($!)
AGGREGATOR_URL=$(wait_for_url "$WORK/aggregator")

echo "== client (submits through $AGGREGATOR_URL)"
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
