#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, for the sandboxed job runtime and its tests. A no-op when one
# already answers; otherwise installs Debian's docker.io when dockerd is missing and starts dockerd in the
# background (as root), then waits until `docker info` answers. Safe to run any number of times.
set -euo pipefail

log_file="${INFERNET_DOCKERD_LOG:-/tmp/infernet-dockerd.log}"
deadline_s="${INFERNET_DOCKERD_WAIT_S:-60}"

engine_answers() { docker info >/dev/null 2>&1; }

fail() {
  echo "setup-docker: $*" >&2
  exit 1
}

if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

# Two runs at once (test files start in parallel) must not both install or both start dockerd.
lock="/tmp/infernet-setup-docker.lock"
exec 9>"$lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  [[ "$(id -u)" == 0 ]] || fail "no Docker engine answers and dockerd is not installed; install Docker (e.g. 'apt-get install docker.io' as root) and start it."
  command -v apt-get >/dev/null 2>&1 || fail "no Docker engine answers, dockerd is not installed and apt-get is not available; install Docker and start it."
  install_log="/tmp/infernet-docker-install.log"
  echo "setup-docker: installing docker.io (about 20 s; log: $install_log)" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update && apt-get install -y --no-install-recommends docker.io; } >"$install_log" 2>&1 ||
    fail "installing docker.io failed; install Docker by hand and start it. Last lines of $install_log:
$(tail -n 20 "$install_log")"
fi
command -v docker >/dev/null 2>&1 || fail "dockerd is installed but the docker client is not on PATH."

if ! pgrep -x dockerd >/dev/null 2>&1; then
  [[ "$(id -u)" == 0 ]] || fail "no Docker engine answers and dockerd is not running; start it as root (e.g. 'sudo systemctl start docker') or add this user to the docker group."
  echo "setup-docker: starting dockerd (log: $log_file)" >&2
  setsid dockerd >"$log_file" 2>&1 </dev/null &
fi

for ((waited = 0; waited < deadline_s * 5; waited++)); do
  if engine_answers; then
    exit 0
  fi
  sleep 0.2
done
fail "dockerd did not answer 'docker info' within ${deadline_s} s; see $log_file:
$(tail -n 20 "$log_file" 2>/dev/null || true)"
