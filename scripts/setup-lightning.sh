#!/usr/bin/env bash
# Builds the Lightning regtest tools once into the cache: btcd (the Bitcoin node) and lnd + lncli, from their Go
# modules at pinned versions. Idempotent: a second run finds the binaries and returns at once. Tests and the
# bench read them from ${INFERNET_CACHE:-$HOME/.cache/infernet}/lightning-btcd-v0.26.2-lnd-v0.21.3-beta/bin.
set -euo pipefail

BTCD_VERSION=v0.26.2
# Pinned: `@latest` resolves to a wrong version here.
LND_VERSION=v0.21.3-beta
CACHE="${INFERNET_CACHE:-$HOME/.cache/infernet}"
TARGET="$CACHE/lightning-btcd-$BTCD_VERSION-lnd-$LND_VERSION"
BIN="$TARGET/bin"

if [[ -x "$BIN/btcd" && -x "$BIN/btcctl" && -x "$BIN/lnd" && -x "$BIN/lncli" ]]; then
  echo "lightning: btcd $BTCD_VERSION and lnd $LND_VERSION already built in $BIN"
  exit 0
fi

command -v go >/dev/null || { echo "lightning: Go is needed to build btcd and lnd (go >= 1.26)" >&2; exit 1; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
mkdir -p "$BIN"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "lightning: building btcd $BTCD_VERSION"
GOBIN="$WORK/gobin" nice -n 19 go install "github.com/btcsuite/btcd@$BTCD_VERSION" "github.com/btcsuite/btcd/cmd/btcctl@$BTCD_VERSION"
cp "$WORK/gobin/btcd" "$WORK/gobin/btcctl" "$BIN/"

# `go install` refuses lnd's replace directives: build inside a writable copy of the module instead.
echo "lightning: building lnd $LND_VERSION (a few minutes the first time)"
MODDIR="$(go mod download -json "github.com/lightningnetwork/lnd@$LND_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$MODDIR" ]] || { echo "lightning: cannot download the lnd module $LND_VERSION" >&2; exit 1; }
cp -r "$MODDIR" "$WORK/lnd"
chmod -R u+w "$WORK/lnd"
(cd "$WORK/lnd" && nice -n 19 go build -trimpath -tags="signrpc walletrpc chainrpc invoicesrpc routerrpc" -o "$WORK/lndbin/" ./cmd/lnd ./cmd/lncli)
cp "$WORK/lndbin/lnd" "$WORK/lndbin/lncli" "$BIN/"
echo "lightning: built into $BIN"
