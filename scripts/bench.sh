#!/usr/bin/env bash
# `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --full
export PATH="$PWD/node_modules/.bin:$PATH"
node dist/bench/network-vs-direct.js
node dist/bench/api-vs-cli.js
node dist/bench/store-writes.js
node dist/bench/discovery.js 50
if docker info >/dev/null 2>&1; then bash scripts/build-runtime-image.sh >/dev/null && node dist/bench/container-overhead.js; else echo "(no Docker engine: container overhead skipped; run scripts/setup-docker.sh as root)"; fi
node dist/bench/verification-overhead.js
node dist/bench/failover.js 5
node dist/bench/payments.js
if [ "$(id -u)" = 0 ]; then node dist/bench/nat-paths.js 5 64; else echo "(not root: NAT paths skipped; they build network namespaces)"; fi
node dist/bench/batch-throughput.js 240
node dist/bench/content-fetch.js 256 2
node dist/bench/distributed-rpc.js
node dist/bench/tunnel-throughput.js 5
node dist/bench/paid-jobs.js 20
node dist/bench/nwc.js
node dist/bench/grammar-cost.js
