#!/usr/bin/env bash
# Builds the test Nostr relay (relay/: khatru v0.17.4 over an in-memory store) once per source version into a
# cache outside the repository, and prints the binary's path as the last line of stdout. Idempotent: a cached
# build is reused. src/reputation/testing/relay-binary.ts computes the same path.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
relay_dir="$repo_root/relay"
cache_root="${INFERNET_CACHE:-$HOME/.cache/infernet}"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi
}

# The version key: sha256 over go.mod, go.sum and main.go (each as "<name>\0<contents>"), first 16 hex digits.
source_hash() {
  (
    cd "$relay_dir"
    for file in go.mod go.sum main.go; do
      printf '%s\0' "$file"
      cat "$file"
    done
  ) | sha256 | cut -c1-16
}

binary="$cache_root/relay-$(source_hash)/infernet-relay"
if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup-relay: 'go' was not found on PATH. Install Go >= 1.26 and run scripts/setup-relay.sh again." >&2
  exit 1
fi

echo "setup-relay: building $binary (a cold build takes about a minute)" >&2
mkdir -p "$(dirname "$binary")"
tmp="$binary.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$relay_dir" && GOFLAGS="-trimpath -buildvcs=false -mod=readonly" CGO_ENABLED=0 GOTOOLCHAIN=local nice -n 19 go build -o "$tmp" .)
mv "$tmp" "$binary"
echo "$binary"
