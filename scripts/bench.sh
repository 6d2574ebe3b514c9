#!/usr/bin/env bash
# `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same run. Each runs in its
# own process with its own time limit: one that fails or hangs is reported in the summary at the end and in the exit
# code, and the others still run. `scripts/bench.sh NAME...` runs only the named ones (file names under bench/).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --full || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"
results=$(mktemp -d "${TMPDIR:-/tmp}/infernet-bench.XXXXXX")
export INFERNET_BENCH_FIGURES="$results/figures.jsonl"
outcomes="$results/outcomes.jsonl"
only=" $* "

# run_bench NAME LIMIT_SECONDS COMMAND...: exit code 200 from the command means "skipped here" (no Docker, not root).
run_bench() {
  local name=$1 limit=$2
  shift 2
  [ "$only" = "  " ] || [[ "$only" == *" $name "* ]] || return 0
  echo
  echo "=== $name"
  local start=$SECONDS code=0
  # timeout signals the benchmark's own process (the command is node or bash, started directly), then kills it.
  timeout --kill-after=30 "$limit" "$@" || code=$?
  echo "{\"bench\":\"$name\",\"exitCode\":$code,\"seconds\":$((SECONDS - start))}" >>"$outcomes"
}

docker_ready() { docker info >/dev/null 2>&1 && bash scripts/build-runtime-image.sh >/dev/null; }

run_bench network-vs-direct 900 node dist/bench/network-vs-direct.js
run_bench api-vs-cli 900 node dist/bench/api-vs-cli.js
run_bench parallel-choices 600 node dist/bench/parallel-choices.js 3
run_bench grammar-cost 900 node dist/bench/grammar-cost.js
run_bench store-writes 600 node dist/bench/store-writes.js
run_bench discovery 900 node dist/bench/discovery.js 50
if docker_ready; then run_bench container-overhead 900 node dist/bench/container-overhead.js
else echo "(no Docker engine: container overhead skipped; run scripts/setup-docker.sh as root)"; run_bench container-overhead 5 bash -c 'exit 200'; fi
run_bench warm-engine 900 node dist/bench/warm-engine.js
run_bench verification-overhead 900 node dist/bench/verification-overhead.js
run_bench fingerprint-cost 600 node dist/bench/fingerprint-cost.js
run_bench failover 900 node dist/bench/failover.js 5
run_bench payments 900 node dist/bench/payments.js
if [ "$(id -u)" = 0 ]; then run_bench nat-paths 900 node dist/bench/nat-paths.js 5 64
else echo "(not root: NAT paths skipped; they build network namespaces)"; run_bench nat-paths 5 bash -c 'exit 200'; fi
run_bench batch-throughput 900 node dist/bench/batch-throughput.js 240
run_bench content-fetch 900 node dist/bench/content-fetch.js 256 2
run_bench distributed-rpc 1800 node dist/bench/distributed-rpc.js
run_bench tunnel-throughput 900 node dist/bench/tunnel-throughput.js 5
run_bench paid-jobs 900 node dist/bench/paid-jobs.js 20
run_bench defence-cost 900 node dist/bench/defence-cost.js 8
run_bench nwc 900 node dist/bench/nwc.js

node dist/bench/summary/print-bench-summary.js "$outcomes" "$INFERNET_BENCH_FIGURES"
