#!/usr/bin/env bash
# What the NAT and link tests need on the machine: iproute2 (ip netns, veth, tc tbf) and iptables (MASQUERADE,
# conntrack). Idempotent: installs nothing when both answer. The tests themselves run as root (CI does) and
# fail with a clear message otherwise; nothing is built or cached.
set -euo pipefail

missing=()
ip netns list >/dev/null 2>&1 || missing+=(iproute2)
command -v tc >/dev/null 2>&1 || missing+=(iproute2)
iptables --version >/dev/null 2>&1 || missing+=(iptables)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-nat: missing ${missing[*]}; install them as root (apt-get install -y iproute2 iptables)" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
