#!/usr/bin/env bash
# `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "${1:-}"
export PATH="$PWD/node_modules/.bin:$PATH"
node dist/bench/network-vs-direct.js
