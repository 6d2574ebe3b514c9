#!/usr/bin/env bash
# `npm test`: all set-up, then every test file once. `npm test -- FILE...` (test sources or their compiled files)
# runs only those, after setting up only the heavy parts they need. Ends by printing how long each set-up step
# and each test file took, then each failed test with its error (last, so a log cut to its tail names them).
set -euo pipefail
cd "$(dirname "$0")/.."
timings=$(mktemp "${TMPDIR:-/tmp}/infernet-test-times.XXXXXX")
suites=$(mktemp "${TMPDIR:-/tmp}/infernet-suite-times.XXXXXX")
trap 'rm -f "$timings" "$suites"' EXIT
export INFERNET_SETUP_TIMES="$timings"

# src/x.test.ts and test/y.test.ts name their compiled files in dist/.
compiled() { case "$1" in *.ts) echo "dist/${1%.ts}.js" ;; *) echo "$1" ;; esac; }

files=()
if [ $# -eq 0 ]; then
  bash scripts/setup.sh --full
  files=('dist/src/**/*.test.js' 'dist/test/**/*.test.js' 'dist/bench/**/*.test.js' 'apps/desktop/dist-electron/**/*.test.js')
else
  bash scripts/setup.sh
  for file in "$@"; do files+=("$(compiled "$file")"); done
  # Docker always: providers default to its sandbox, and an engine that already answers costs nothing.
  needs="docker,$(node_modules/.bin/node scripts/testing/test-needs.mjs "${files[@]}")"
  bash scripts/setup.sh --needs "$needs"
fi
export PATH="$PWD/node_modules/.bin:$PATH"

reporter=tap
[ -t 1 ] && reporter=spec
status=0
start=$SECONDS
# Files run one after another (2 cores): the suites start real daemons, engines and containers.
node --test --test-concurrency=1 --test-timeout=300000 \
  --test-reporter="$reporter" --test-reporter-destination=stdout \
  --test-reporter=./scripts/testing/suite-times-reporter.mjs --test-reporter-destination="$suites" \
  "${files[@]}" || status=$?
printf 'tests   %-60s %5ds\n' "node --test (all files above)" $((SECONDS - start)) >>"$timings"
if [ $# -eq 0 ]; then
  # The mobile app's component and flow tests run under jest-expo, in the app's own package.
  start=$SECONDS
  jest_status=0
  (cd apps/mobile && npx jest --ci) || jest_status=$?
  printf 'tests   %-60s %5ds%s\n' "apps/mobile (jest)" $((SECONDS - start)) "$([ $jest_status -eq 0 ] || echo '  FAILED')" >>"$timings"
  [ $jest_status -eq 0 ] || status=$jest_status
fi

printf '\n== set-up and test times\n'
cat "$timings" "$suites"
exit "$status"
