#!/usr/bin/env bash
# Builds llama.cpp with its RPC backend (targets ggml-rpc-server and llama-server, and llama-batched-bench, which
# bench/warm-engine.ts runs for the engine's own batching figures) once per commit into a cache
# outside the repository, and prints the bin directory as the last line of stdout. The source is the llama.cpp
# vendored in the PyPI sdist of llama-cpp-python (checked by sha256), because node-llama-cpp's prebuilt binaries
# have no RPC backend. src/distributed/llama-rpc-binaries.ts computes the same path.
#
# GPU providers add backend flags through INFERNET_LLAMA_CMAKE_FLAGS (they become part of the cache key):
#   CUDA:   INFERNET_LLAMA_CMAKE_FLAGS="-DGGML_CUDA=ON"     (needs the CUDA toolkit, nvcc on PATH)
#   Metal:  INFERNET_LLAMA_CMAKE_FLAGS="-DGGML_METAL=ON"    (macOS; on by default there)
#   Vulkan: INFERNET_LLAMA_CMAKE_FLAGS="-DGGML_VULKAN=ON"   (needs the Vulkan SDK / glslc)
#
# INFERNET_LLAMA_SOURCE=FILE.tar[.xz] builds from that tarball of the same commit's llama.cpp folder instead of the sdist,
# on a machine that cannot download it (scripts/gpu-check.sh carries one). `--sdist` only fetches and checks the sdist,
# and prints its path; `--patch DIR` applies the patches to the llama.cpp folder DIR and marks it patched.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="0.3.36"
SDIST_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
LLAMA_COMMIT="0c1e57098"

cache_root="${INFERNET_CACHE:-$HOME/.cache/infernet}"
extra_flags="${INFERNET_LLAMA_CMAKE_FLAGS:-}"
jobs="${INFERNET_BUILD_JOBS:-2}"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

# Infernet's few patches to llama.cpp (scripts/llama-patches/*.patch, applied in name order; each says why): a build
# is keyed by their hash too, so that no build mixes them. src/distributed/llama-rpc-binaries.ts names the same hash
# (LLAMA_RPC_PATCHES; a test checks it against these files).
patches_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/llama-patches"
patch_files=()
while IFS= read -r file; do patch_files+=("$file"); done < <(LC_ALL=C ls "$patches_dir"/*.patch 2>/dev/null | LC_ALL=C sort)
patches_key="$(cat "${patch_files[@]}" </dev/null | sha256 | cut -c1-8)"

# A CPU build lives under llama-rpc-<commit>-<patches hash>; a build with extra flags under
# llama-rpc-<commit>-<patches hash>-<flags hash>.
key="$LLAMA_COMMIT-$patches_key"
if [[ -n "$extra_flags" ]]; then
  key="$key-$(printf '%s' "$extra_flags" | sha256 | cut -c1-8)"
fi
build_root="$cache_root/llama-rpc-$key"
# Built in place and kept there: the binaries find their shared libraries (libllama, libggml*) by the absolute
# build path CMake records, so the build directory must not move.
bin_dir="$build_root/build/bin"
targets=(ggml-rpc-server llama-server llama-batched-bench)

# Every target built, and the marker a finished build writes last.
built() {
  local target
  for target in "${targets[@]}"; do [[ -x "$bin_dir/$target" ]] || return 1; done
  [[ -f "$build_root/COMPLETE" ]]
}

if [[ "${1:-}" != "--sdist" && "${1:-}" != "--patch" ]] && built; then
  echo "$bin_dir"
  exit 0
fi

fail() {
  echo "build-llama-rpc: $*" >&2
  exit 1
}

# Applies the patches to a llama.cpp folder once, and marks it: a source packed patched (scripts/gpu-check.sh, for a
# machine that may lack git and patch) is not patched again.
apply_patches() {
  local tree="$1" file
  [[ "$(cat "$tree/.infernet-patches" 2>/dev/null)" == "$patches_key" ]] && return 0
  for file in "${patch_files[@]}"; do
    echo "build-llama-rpc: applying $(basename "$file")" >&2
    if command -v git >/dev/null 2>&1; then
      # From the folder above, outside any repository: the sdist's llama.cpp keeps a submodule's .git file.
      (cd "$tree/.." && git apply -p1 --directory="$(basename "$tree")" "$file") || fail "$(basename "$file") does not apply to llama.cpp $LLAMA_COMMIT."
    elif command -v patch >/dev/null 2>&1; then
      patch -d "$tree" -p1 --forward --quiet <"$file" >&2 || fail "$(basename "$file") does not apply to llama.cpp $LLAMA_COMMIT."
    else
      fail "neither git nor patch was found to apply $(basename "$file") (Debian: apt-get install git)."
    fi
  done
  printf '%s\n' "$patches_key" >"$tree/.infernet-patches"
}

if [[ "${1:-}" == "--patch" ]]; then
  [[ -f "${2:-}/CMakeLists.txt" ]] || fail "--patch needs a llama.cpp folder."
  apply_patches "$2"
  exit 0
fi

sdist="$cache_root/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
fetch_sdist() {
  if [[ ! -f "$sdist" ]] || [[ "$(sha256 "$sdist" | cut -d' ' -f1)" != "$SDIST_SHA256" ]]; then
    rm -f "$sdist"
    pip_cmd=""
    for candidate in pip3 pip; do
      if command -v "$candidate" >/dev/null 2>&1; then pip_cmd="$candidate"; break; fi
    done
    [[ -n "$pip_cmd" ]] || fail "pip was not found; install Python 3 with pip, or place llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz in $cache_root."
    echo "build-llama-rpc: downloading the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist (77 MB)" >&2
    dl_dir="$(mktemp -d)"
    "$pip_cmd" download --quiet --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$dl_dir" >&2 ||
      fail "pip download of llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION failed."
    mv "$dl_dir/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz" "$sdist"
    rm -rf "$dl_dir"
  fi
  actual="$(sha256 "$sdist" | cut -d' ' -f1)"
  [[ "$actual" == "$SDIST_SHA256" ]] || { rm -f "$sdist"; fail "sdist checksum mismatch: expected $SDIST_SHA256, got $actual."; }
}

if [[ "${1:-}" == "--sdist" ]]; then
  mkdir -p "$cache_root"
  fetch_sdist
  echo "$sdist"
  exit 0
fi

for tool in cmake c++ tar; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' was not found on PATH (Debian: apt-get install cmake g++)."
done

mkdir -p "$cache_root"
# Two setups at once must not build into the same directory.
exec 9>"$cache_root/llama-rpc-$key.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if built; then
  echo "$bin_dir"
  exit 0
fi
# A complete build from before a target was added: only that target is built, on the libraries already there.
if [[ -f "$build_root/COMPLETE" && -f "$build_root/build/CMakeCache.txt" ]]; then
  echo "build-llama-rpc: adding ${targets[*]} to the build in $build_root" >&2
  cmake --build "$build_root/build" -j"$jobs" --target "${targets[@]}" >&2
  echo "$bin_dir"
  exit 0
fi

source_tarball="${INFERNET_LLAMA_SOURCE:-}"
[[ -n "$source_tarball" ]] || fetch_sdist

rm -rf "$build_root"
mkdir -p "$build_root"
echo "build-llama-rpc: unpacking llama.cpp $LLAMA_COMMIT" >&2
if [[ -n "$source_tarball" ]]; then
  tar -xf "$source_tarball" -C "$build_root" llama.cpp
else
  tar -xzf "$sdist" -C "$build_root" --strip-components=2 "llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
fi
src="$build_root/llama.cpp"
[[ -f "$src/CMakeLists.txt" ]] || fail "the sdist has no vendor/llama.cpp/CMakeLists.txt."
apply_patches "$src"

echo "build-llama-rpc: building ${targets[*]} with -j$jobs (5-15 minutes on 2 cores)" >&2
# shellcheck disable=SC2086 # extra_flags is a list of cmake flags on purpose.
cmake -S "$src" -B "$build_root/build" -DGGML_RPC=ON -DLLAMA_CURL=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release $extra_flags >&2
cmake --build "$build_root/build" -j"$jobs" --target "${targets[@]}" >&2

# The marker is written last, so an interrupted build is never taken for a complete one.
printf 'llama-cpp-python %s\nllama.cpp %s\npatches %s\nflags %s\n' "$LLAMA_CPP_PYTHON_VERSION" "$LLAMA_COMMIT" "$patches_key" "$extra_flags" \
  >"$build_root/COMPLETE"
echo "$bin_dir"
