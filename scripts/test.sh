#!/usr/bin/env bash
# `npm test`: all set-up, then every test file once. The slow end-to-end suites are separate files and run once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --full
export PATH="$PWD/node_modules/.bin:$PATH"
# Files run one after another (2 cores): the suites start real daemons, engines and containers.
status=0
node --test --test-concurrency=1 --test-timeout=300000 'dist/src/**/*.test.js' 'dist/test/**/*.test.js' \
  'apps/desktop/dist-electron/**/*.test.js' || status=$?
# The mobile app's component and flow tests run under jest-expo, in the app's own package.
(cd apps/mobile && npx jest --ci) || status=$?
exit "$status"
