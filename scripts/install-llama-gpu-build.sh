#!/usr/bin/env bash
# Installs node-llama-cpp's prebuilt GPU build for this machine's GPU into node_modules, where a GPU answers: the CUDA
# build (and its CUDA 12 fallback) where nvidia-smi lists a GPU, the Vulkan build where rocm-smi lists one (an AMD
# GPU: node-llama-cpp publishes no ROCm build), the Metal build on Apple silicon. Nothing on a machine without a
# GPU: the CPU path stays as light as `npm ci` leaves it (.npmrc omits these optional packages, hundreds of MB
# each). Same version as node-llama-cpp.
# Idempotent; scripts/setup.sh runs it after every `npm ci` (which removes packages installed with --no-save).
# The provider checks at start-up that the build finds its libraries (src/execution/llama-gpu-build.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "install-llama-gpu-build: $*" >&2
  exit 1
}

backend=""
if [[ "$(uname -s)" == Darwin && "$(uname -m)" == arm64 ]]; then
  backend=metal
elif [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
  echo "install-llama-gpu-build: node-llama-cpp's GPU builds are installed here for Linux x64 and Apple silicon; nothing to do on $(uname -s) $(uname -m)" >&2
  exit 0
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  backend=cuda
elif command -v rocm-smi >/dev/null 2>&1 && rocm-smi --showproductname 2>/dev/null | grep -q '^GPU\['; then
  backend=vulkan
fi
if [[ -z "$backend" ]]; then
  echo "install-llama-gpu-build: no GPU answers (nvidia-smi, rocm-smi): the CPU build only" >&2
  exit 0
fi

version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' node_modules/node-llama-cpp/package.json 2>/dev/null | head -n1 || true)"
[[ -n "$version" ]] || fail "node_modules/node-llama-cpp is missing: run npm ci first."

case "$backend" in
  cuda) packages=(linux-x64-cuda linux-x64-cuda-ext) ;;
  vulkan) packages=(linux-x64-vulkan) ;;
  metal) packages=(mac-arm64-metal) ;;
esac

wanted=()
for package in "${packages[@]}"; do
  installed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "node_modules/@node-llama-cpp/$package/package.json" 2>/dev/null | head -n1 || true)"
  [[ "$installed" == "$version" ]] || wanted+=("@node-llama-cpp/$package@$version")
done
if ((${#wanted[@]} == 0)); then
  echo "install-llama-gpu-build: node-llama-cpp's $backend build $version is installed" >&2
  exit 0
fi

echo "install-llama-gpu-build: this machine has a GPU for $backend: installing ${wanted[*]}" >&2
# --no-save: package.json and the lock stay the same on every machine; the packages are named, so .npmrc's
# omit=optional does not leave them out.
npm install --no-save --no-audit --no-fund "${wanted[@]}" >&2 || fail "npm could not install ${wanted[*]}."
