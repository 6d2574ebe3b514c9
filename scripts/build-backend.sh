#!/usr/bin/env bash
# Builds the node's PocketBase backend (backend/) once per source version into a cache outside the repository,
# and prints the binary's path as the last line of stdout. src/storage/backend-binary.ts computes the same path.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
backend_dir="$repo_root/backend"
cache_root="${INFERNET_CACHE:-$HOME/.cache/infernet}"

# The version key: sha256 over go.mod, go.sum and every .go file (sorted by path relative to backend/, each
# file as "<path>\0<contents>"), first 16 hex digits. Keep in step with backendSourceHash() in TypeScript.
source_hash() {
  (
    cd "$backend_dir"
    { echo go.mod; echo go.sum; find . -name '*.go' -type f | sed 's|^\./||'; } | LC_ALL=C sort |
      while IFS= read -r file; do
        printf '%s\0' "$file"
        cat "$file"
      done
  ) | sha256 | cut -c1-16
}

# sha256sum on Linux, shasum on macOS.
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi
}

binary="$cache_root/backend-$(source_hash)/infernet-backend"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "build-backend: 'go' was not found on PATH. Install Go >= 1.26 (https://go.dev/dl/) and run scripts/build-backend.sh again." >&2
  exit 1
fi

# GOTOOLCHAIN=local: an older Go must fail here with this message, not download a newer toolchain.
go_version="$(go env GOVERSION)"
if ! printf '%s\n' "$go_version" | grep -Eq '^go(1\.(2[6-9]|[3-9][0-9])|[2-9])'; then
  echo "build-backend: found $go_version; the backend needs Go >= 1.26 (https://go.dev/dl/)." >&2
  exit 1
fi

echo "build-backend: building $binary (a cold build takes 1-2 minutes)" >&2
mkdir -p "$(dirname "$binary")"
# Built to a temporary name and renamed, so an interrupted build never leaves a binary that looks complete.
tmp="$binary.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$backend_dir" && GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local go build -o "$tmp" .)
mv "$tmp" "$binary"
echo "$binary"
