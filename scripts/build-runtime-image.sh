#!/usr/bin/env bash
# Builds the job runtime image from this checkout without any registry: assembles a root filesystem (node, the
# libraries ldd lists, the compiled worker from dist/ and the production packages it imports, a non-root user)
# and `docker import`s it as infernet-runtime:<content hash>. Skips the work when that tag exists already.
# Needs `npm run build` first and a Docker engine (scripts/setup-docker.sh). Prints the tag as the last line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repository="${INFERNET_RUNTIME_IMAGE_REPOSITORY:-infernet-runtime}"
assembler="$repo_root/docker/assemble-runtime-rootfs.mjs"

fail() {
  echo "build-runtime-image: $*" >&2
  exit 1
}

node_bin="$repo_root/node_modules/node/bin/node"
[[ -x "$node_bin" ]] || node_bin="$(command -v node || true)"
[[ -n "$node_bin" ]] || fail "no node binary: run npm ci, or put node >= 22 on PATH"
command -v docker >/dev/null 2>&1 || fail "the docker client is not on PATH: run scripts/setup-docker.sh"
docker info >/dev/null 2>&1 || fail "no Docker engine answers: run scripts/setup-docker.sh"

# The key covers every file of the image (path, mode, contents) and this script with the assembler, whose
# settings (user, command, environment) are part of the image too.
content_hash="$(
  {
    "$node_bin" "$assembler" hash "$repo_root"
    cat "${BASH_SOURCE[0]}" "$assembler"
  } | sha256sum | cut -c1-16
)" || fail "could not plan the image (see above)"
tag="$repository:$content_hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

echo "build-runtime-image: building $tag" >&2
staging="$(mktemp -d "${TMPDIR:-/tmp}/infernet-rootfs.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
"$node_bin" "$assembler" write "$repo_root" "$staging"

# A deterministic archive: sorted names, fixed times and owners, so that the same tree gives the same layer.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$staging" -cf - . |
  docker import \
    --change 'USER 10001:10001' \
    --change 'WORKDIR /app' \
    --change 'ENV HOME=/tmp NODE_ENV=production' \
    --change 'CMD ["/usr/local/bin/node", "/app/dist/src/execution/container-worker.js"]' \
    --change "LABEL io.infernet.runtime=$content_hash" \
    --message "infernet runtime $content_hash" \
    - "$tag" >/dev/null || fail "docker import of $tag failed"

echo "build-runtime-image: built $tag ($(docker image inspect --format '{{.Size}}' "$tag") bytes)" >&2

# Keep the three newest builds (another checkout on this machine may use one); an image a container still uses
# is refused by docker rmi and stays.
docker image ls "$repository" --format '{{.Repository}}:{{.Tag}}' | tail -n +4 |
  while IFS= read -r old; do docker rmi "$old" >/dev/null 2>&1 || true; done

echo "$tag"
