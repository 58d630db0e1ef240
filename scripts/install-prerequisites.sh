#!/usr/bin/env bash
# Installs what running and testing the gateway needs beyond the .NET SDK, when it is missing:
# Debian's redis-server (and, for the tests, redis-sentinel and openssl for the failover and TLS tests, chromium for
# the browser tests and npm for the signature checks). Idempotent; uses sudo when not root.
set -euo pipefail

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
if [ "${1:-}" = "--for-tests" ]; then
  command -v redis-sentinel >/dev/null 2>&1 || packages+=(redis-sentinel)
  command -v openssl >/dev/null 2>&1 || packages+=(openssl)
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
[ ${#packages[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-prerequisites: installing ${packages[*]} from Debian's packages"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
