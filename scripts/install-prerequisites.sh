#!/usr/bin/env bash
# Installs what running and testing the gateway needs beyond the .NET SDK, when it is missing:
# Debian's redis-server (and, for the tests, redis-sentinel and openssl for the failover and TLS tests, chromium for
# the browser tests; Node.js 20.19 or later with npm must be there already). Idempotent; uses sudo when not root.
set -euo pipefail

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
if [ "${1:-}" = "--for-tests" ]; then
  command -v redis-sentinel >/dev/null 2>&1 || packages+=(redis-sentinel)
  command -v openssl >/dev/null 2>&1 || packages+=(openssl)
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  # Redocly CLI (the OpenAPI lint) needs Node.js 20.19 or later, newer than Debian 12's nodejs (18).
  if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then
    echo "install-prerequisites: the tests need Node.js 20.19 or later with npm; found: $(node --version 2>/dev/null || echo none)" >&2
    exit 1
  fi
fi
[ ${#packages[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-prerequisites: installing ${packages[*]} from Debian's packages"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
