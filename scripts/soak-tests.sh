#!/usr/bin/env bash
# scripts/soak-tests.sh N [FILE...]: runs the end-to-end test files (or the given ones) N times each, one after
# another, with a CPU hog busy beside them (INFERNET_SOAK_HOGS processes, default 1: half of a 2-core machine), and
# lists every failure with its file, round and failing tests, so a flake is found before CI finds it.
# Exits 1 when anything failed. Each file's output is kept in the log folder it names.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/soak-tests.sh N [FILE...]" >&2; exit 2; }
shift

bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
files=()
if [ $# -eq 0 ]; then
  files=(dist/test/e2e/*.test.js)
else
  for file in "$@"; do case "$file" in *.ts) files+=("dist/${file%.ts}.js") ;; *) files+=("$file") ;; esac; done
fi
bash scripts/setup.sh --needs "docker,$(node scripts/testing/test-needs.mjs "${files[@]}")"

logs=$(mktemp -d "${TMPDIR:-/tmp}/infernet-soak.XXXXXX")
hogs=()
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_hogs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Each hog spins until the soak is over, and at most 12 hours: it stops by itself if this script dies.
for _ in $(seq 1 "${INFERNET_SOAK_HOGS:-1}"); do
  node -e '
    const parent = Number(process.argv[1]);
    const end = Date.now() + 12 * 3600_000;
    let alive = true;
    while (alive && Date.now() < end) {
      for (let i = 0; i < 1e7; i++);
      try { process.kill(parent, 0); } catch { alive = false; }
    }' "$$" &
  hogs+=($!)
done

failures=()
for round in $(seq 1 "$rounds"); do
  for file in "${files[@]}"; do
    log="$logs/round$round-$(basename "$file" .js).tap"
    start=$SECONDS
    if node --test --test-concurrency=1 --test-timeout=300000 --test-reporter=tap "$file" >"$log" 2>&1; then
      printf 'round %d  ok      %4ds  %s\n' "$round" $((SECONDS - start)) "$file"
    else
      failing=$(grep -E '^ *not ok' "$log" | sed -E 's/^ *not ok [0-9]+ - //' | paste -sd ';' - || true)
      printf 'round %d  FAILED  %4ds  %s: %s\n' "$round" $((SECONDS - start)) "$file" "$failing"
      failures+=("round $round: $file: $failing (log: $log)")
    fi
  done
done

echo
if [ ${#failures[@]} -eq 0 ]; then
  echo "soak: ${#files[@]} files x $rounds rounds with ${#hogs[@]} CPU hog(s): no failure (logs in $logs)"
  exit 0
fi
echo "soak: ${#failures[@]} failure(s) in ${#files[@]} files x $rounds rounds with ${#hogs[@]} CPU hog(s):"
printf '  %s\n' "${failures[@]}"
exit 1
