#!/usr/bin/env bash
# The GPU check (README "GPU check"): on a machine with an NVIDIA GPU, builds llama.cpp with CUDA into the cache
# (scripts/build-llama-rpc.sh), writes a random-weight model of Llama-3-8B's shape in Q8_0 with the project's GGUF
# writer, and prints from one run (bench/gpu-check.ts): tokens/s and first-token time of a job through the provider's
# llama-server engine against llama-server driven directly on the same GPU, and total tokens/s at 1, 4 and 16
# concurrent jobs. The GPU machine has no Node and no network and takes at most 64 MiB per call, so:
#
#   scripts/gpu-check.sh prepare   here: bundles the check into one file (esbuild), xz-compresses this project's
#                                  Node 22 and packs llama.cpp's source (no tests, models or docs) into .gpu-check/,
#                                  checks what would travel is under 64 MiB, and prints the device call to make.
#   scripts/gpu-check.sh run [--report DIR] [--shape llama3-8b|llama3-1b|bench-100m|tiny] [--arch 90] [--rounds N]
#       [--max-tokens N] [--concurrency 1,4,16] [--threads N] [--context N] [--prompt-words N] [--budget-s S]
#                                  there: from .gpu-check/ only. Figures as JSON lines, then a table; with --report,
#                                  also into DIR (gpu-check.jsonl, gpu-check.txt, build.log).
#   scripts/gpu-check.sh run --cpu --shape tiny
#                                  the same on the CPU with small counts (the CPU build in ~/.cache/infernet, reused):
#                                  everything but CUDA, proven here (test/e2e/gpu-check-script.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
prepared="$repo/.gpu-check"
# What one device call carries at most: the repository's tracked and untracked files plus the carried folder.
DEVICE_CALL_BYTES=$((64 * 1024 * 1024))
# The llama.cpp folders the build does not need (LLAMA_BUILD_TESTS=OFF; no model, document or image is read).
LLAMA_SOURCE_EXCLUDES=(tests models docs media benches .github .devops gguf-py)

fail() {
  echo "gpu-check: $*" >&2
  exit 1
}

ESBUILD_VERSION=0.28.2

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

llama_commit() { sed -n 's/^LLAMA_COMMIT="\(.*\)"$/\1/p' scripts/build-llama-rpc.sh; }

prepare() {
  local node_bin esbuild version
  node_bin="$(readlink -f node_modules/node/bin/node 2>/dev/null || true)"
  [[ -x "$node_bin" ]] || fail "node_modules/node/bin/node is missing: run npm ci first."
  version="$("$node_bin" --version)"
  [[ "$version" == v22.* ]] || fail "node_modules/node is $version, not Node 22."
  command -v xz >/dev/null || fail "xz was not found (Debian: apt-get install xz-utils)."
  mkdir -p "$prepared"
  # esbuild, pinned, for the machine that prepares only: its binary is a platform package that npm treats as an
  # optional dependency, which the project's .npmrc leaves out, and naming the x64 one in package.json would break
  # `npm ci` on every other platform.
  local tools="${INFERNET_CACHE:-$HOME/.cache/infernet}/esbuild-$ESBUILD_VERSION"
  esbuild="$tools/node_modules/esbuild/bin/esbuild"
  if [[ ! -f "$esbuild" ]]; then
    echo "gpu-check: installing esbuild@$ESBUILD_VERSION into $tools" >&2
    npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --include=optional \
      "esbuild@$ESBUILD_VERSION" >&2 || fail "could not install esbuild@$ESBUILD_VERSION from the npm registry."
  fi

  # 1. The check and the engine code it runs, in one ES module; node-llama-cpp (a native addon, never used by the
  #    check) is replaced by names that throw.
  # Run as it is: npm leaves either esbuild's native binary there or its launcher script (which finds node on PATH).
  "$esbuild" bench/gpu-check.ts --bundle --platform=node --format=esm --target=node22 --log-level=warning \
    --alias:node-llama-cpp=./scripts/gpu-check/node-llama-cpp-absent.mjs \
    --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" \
    --outfile="$prepared/gpu-check.mjs"

  # 2. Node, compressed again only when the binary changed (about two minutes on two cores).
  local node_sha
  node_sha="$(sha256_of "$node_bin")"
  if [[ ! -f "$prepared/node.xz" || "$(cat "$prepared/node.xz.from" 2>/dev/null)" != "$node_sha" ]]; then
    echo "gpu-check: compressing Node $version (xz -6)" >&2
    xz -T0 -6 -c "$node_bin" >"$prepared/node.xz.part"
    mv "$prepared/node.xz.part" "$prepared/node.xz"
    echo "$node_sha" >"$prepared/node.xz.from"
  fi

  # 3. llama.cpp's source, from the sdist build-llama-rpc.sh checks, without what the build does not read.
  local sdist commit source_key
  sdist="$(bash scripts/build-llama-rpc.sh --sdist)"
  commit="$(llama_commit)"
  [[ -n "$commit" ]] || fail "cannot read LLAMA_COMMIT from scripts/build-llama-rpc.sh."
  source_key="$(sha256_of "$sdist") $(cat scripts/llama-patches/*.patch | sha256sum | cut -c1-8) ${LLAMA_SOURCE_EXCLUDES[*]}"
  if [[ ! -f "$prepared/llama.cpp.tar.xz" || "$(cat "$prepared/llama.cpp.tar.xz.from" 2>/dev/null)" != "$source_key" ]]; then
    echo "gpu-check: packing llama.cpp $commit's source (xz -6)" >&2
    local unpacked excludes=()
    unpacked="$(mktemp -d)"
    # shellcheck disable=SC2064 # the folder is known now.
    trap "rm -rf '$unpacked'" EXIT
    tar -xzf "$sdist" -C "$unpacked" --strip-components=2 "$(basename "$sdist" .tar.gz)/vendor/llama.cpp"
    # Patched here, where git is: the GPU machine may have neither git nor patch.
    bash scripts/build-llama-rpc.sh --patch "$unpacked/llama.cpp"
    for excluded in "${LLAMA_SOURCE_EXCLUDES[@]}"; do excludes+=("--exclude=llama.cpp/$excluded"); done
    tar -C "$unpacked" -cf - "${excludes[@]}" llama.cpp | xz -T0 -6 >"$prepared/llama.cpp.tar.xz.part"
    mv "$prepared/llama.cpp.tar.xz.part" "$prepared/llama.cpp.tar.xz"
    echo "$source_key" >"$prepared/llama.cpp.tar.xz.from"
    rm -rf "$unpacked"
    trap - EXIT
  fi

  printf 'llama_commit=%s\nnode_version=%s\n' "$commit" "$version" >"$prepared/manifest"
  (cd "$prepared" && sha256sum gpu-check.mjs node.xz llama.cpp.tar.xz manifest >SHA256SUMS)

  # 4. What one device call would carry: the tree (tracked and untracked, not ignored) and this folder.
  local tree_bytes prepared_bytes total
  tree_bytes="$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')"
  prepared_bytes="$(du -sb "$prepared" | cut -f1)"
  total=$((tree_bytes + prepared_bytes))
  printf 'gpu-check: prepared %s: %s MiB (bundle %s KiB, Node %s MiB, llama.cpp source %s MiB) + the tree %s MiB = %s of 64 MiB\n' \
    ".gpu-check" "$(mib "$prepared_bytes")" "$(($(stat -c %s "$prepared/gpu-check.mjs") / 1024))" "$(mib "$(stat -c %s "$prepared/node.xz")")" \
    "$(mib "$(stat -c %s "$prepared/llama.cpp.tar.xz")")" "$(mib "$tree_bytes")" "$(mib "$total")"
  ((total < DEVICE_CALL_BYTES)) || fail "what would travel is $(mib "$total") MiB, over the 64 MiB one device call takes."
  cat <<EOF
The device call (the 'run' tool; one call, its machine starts bare):
  command:   bash scripts/gpu-check.sh run --report "\$OUT"
  carry:     [".gpu-check"]
  timeout_s: 600
It builds llama.cpp with CUDA for sm_90 (H100/H200), writes the 8B model meanwhile, and measures: about 8 minutes.
EOF
}

# xz -dc, or Python's lzma where the machine has no xz.
unxz_to() {
  if command -v xz >/dev/null; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

run() {
  local device=cuda shape="" tensor_type="" arch=90 rounds=3 max_tokens=128 concurrency=1,4,16 threads="" context=2048
  local prompt_words=96 budget=570 report="" jobs
  # All cores but the one the model writer takes meanwhile.
  jobs=$(($(nproc) > 2 ? $(nproc) - 1 : 2))
  while (($#)); do
    case "$1" in
      --cpu) device=cpu ;;
      --shape) shape=$2; shift ;;
      --type) tensor_type=$2; shift ;;
      --arch) arch=$2; shift ;;
      --rounds) rounds=$2; shift ;;
      --max-tokens) max_tokens=$2; shift ;;
      --concurrency) concurrency=$2; shift ;;
      --threads) threads=$2; shift ;;
      --context) context=$2; shift ;;
      --prompt-words) prompt_words=$2; shift ;;
      --budget-s) budget=$2; shift ;;
      --report) report=$2; shift ;;
      *) fail "unknown option $1 (see the head of scripts/gpu-check.sh)" ;;
    esac
    shift
  done
  if [[ $device == cpu ]]; then
    # Q8_0 kernels of the native CPU build die with SIGILL on this project's VMs (bench/distributed-rpc.ts): F16 here.
    shape=${shape:-tiny} tensor_type=${tensor_type:-F16} threads=${threads:-1} jobs=${INFERNET_BUILD_JOBS:-2}
  else
    shape=${shape:-llama3-8b} tensor_type=${tensor_type:-Q8_0} threads=${threads:-8}
  fi
  local deadline=$((SECONDS + budget))
  left() { echo $((deadline - SECONDS > 1 ? deadline - SECONDS : 1)); }

  [[ -f "$prepared/SHA256SUMS" ]] || fail "$prepared is not prepared: run scripts/gpu-check.sh prepare first (where Node is)."
  (cd "$prepared" && sha256sum --quiet -c SHA256SUMS) || fail "$prepared does not match its SHA256SUMS: prepare it again."
  local commit
  commit="$(sed -n 's/^llama_commit=//p' "$prepared/manifest")"
  [[ "$commit" == "$(llama_commit)" ]] || fail "$prepared holds llama.cpp $commit, build-llama-rpc.sh builds $(llama_commit): prepare it again."
  # Written as the run goes, so a run stopped from outside still leaves what it measured.
  if [[ -n "$report" ]]; then mkdir -p "$report"; fi
  export INFERNET_CACHE="${INFERNET_CACHE:-${HOME:-/root}/.cache/infernet}"

  # Globals, not locals: the EXIT trap reads them after run() has returned.
  writer=""
  work="$(mktemp -d "${TMPDIR:-/tmp}/infernet-gpu-check.XXXXXX")"
  # The model writer is the one process left running on an early exit; the check's llama-servers are stopped by the
  # measuring process itself (and die with it through setpriv's parent-death signal).
  cleanup() {
    if [[ -n "$writer" ]] && kill -0 "$writer" 2>/dev/null; then kill "$writer" 2>/dev/null || true; wait "$writer" 2>/dev/null || true; fi
    rm -rf "$work"
  }
  trap cleanup EXIT

  unxz_to "$prepared/node.xz" "$work/node"
  chmod +x "$work/node"
  cp "$prepared/gpu-check.mjs" "$work/gpu-check.mjs"
  echo "gpu-check: Node $("$work/node" --version), device $device, model $shape in $tensor_type, budget ${budget}s" >&2
  if [[ $device == cuda ]]; then
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
  fi

  # The model is written while llama.cpp builds: the writer takes one core, the build the others.
  local model_started=$SECONDS
  "$work/node" "$work/gpu-check.mjs" write-model --shape "$shape" --type "$tensor_type" --out "$work/model.gguf" >"$work/model.jsonl" 2>"$work/model.err" &
  writer=$!

  local flags="" build_started=$SECONDS bin_dir toolchain build_log="${report:-$work}/build.log" source="$prepared/llama.cpp.tar.xz"
  if [[ $device == cuda ]]; then
    command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
    command -v nvcc >/dev/null || fail "nvcc was not found (on PATH or in /usr/local/cuda/bin)."
    flags="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$arch"
    # Only a fresh build directory takes it: the cached CPU build here was configured for make.
    if command -v ninja >/dev/null; then export CMAKE_GENERATOR=Ninja; fi
  fi
  toolchain="$(cmake --version | head -n 1); $(c++ --version | head -n 1)"
  [[ $device == cpu ]] || toolchain="$toolchain; $(nvcc --version | tail -n 2 | head -n 1)"
  if ! command -v xz >/dev/null; then
    # tar needs xz for .tar.xz: unpacked to a plain tar by Python's lzma instead.
    unxz_to "$source" "$work/llama.cpp.tar"
    source="$work/llama.cpp.tar"
  fi
  echo "gpu-check: building llama.cpp $commit (${flags:-CPU}, -j$jobs) unless $INFERNET_CACHE has it; $toolchain" >&2
  if ! INFERNET_LLAMA_SOURCE="$source" INFERNET_LLAMA_CMAKE_FLAGS="$flags" INFERNET_BUILD_JOBS="$jobs" \
    timeout --kill-after=10 "$(left)" bash scripts/build-llama-rpc.sh >"$work/build.out" 2>"$build_log"; then
    tail -n 40 "$build_log" >&2
    fail "the llama.cpp build failed or ran past the budget (log above${report:+, whole in $report/build.log})."
  fi
  bin_dir="$(tail -n 1 "$work/build.out")"
  local build_seconds=$((SECONDS - build_started))

  # Bounded by the budget: the writer is killed past it.
  while kill -0 "$writer" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the model was not written within the budget."
    sleep 1
  done
  wait "$writer" || { cat "$work/model.err" >&2; fail "writing the model failed."; }
  writer=""
  local model_seconds=$((SECONDS - model_started))

  local output="${report:-$work}/gpu-check.txt"
  {
    printf '{"figure":"build","device":"%s","flags":"%s","binDir":"%s","toolchain":"%s","seconds":%d}\n' "$device" "$flags" "$bin_dir" "${toolchain//\"/}" "$build_seconds"
    sed "s/}\$/,\"seconds\":$model_seconds}/" "$work/model.jsonl"
  } | tee "$output"
  local status=0
  timeout --kill-after=15 "$(left)" "$work/node" "$work/gpu-check.mjs" measure --bin-dir "$bin_dir" --model "$work/model.gguf" \
    --device "$device" --max-tokens "$max_tokens" --rounds "$rounds" --concurrency "$concurrency" --threads "$threads" \
    --context "$context" --prompt-words "$prompt_words" | tee -a "$output" || status=$?
  [[ -z "$report" ]] || grep '^{' "$output" >"$report/gpu-check.jsonl" || true
  ((status == 0)) || fail "the measurements failed or ran past the budget (exit $status)."
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@" ;;
  *) fail "usage: scripts/gpu-check.sh prepare | run [--cpu] [--shape NAME] [--report DIR] ... (see the head of the script)" ;;
esac
