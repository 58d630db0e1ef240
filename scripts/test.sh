#!/usr/bin/env bash
# Runs every test of the solution. Installs what the tests need when it is missing: Debian's
# redis-server, and the npm packages the webhook signature checks use. Extra arguments go to `dotnet test` (e.g. --filter Webhooks).
# First checks that the committed OpenAPI document and the Kiota client are what the gateway makes, and lints the document (scripts/openapi.sh --check).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

./scripts/install-prerequisites.sh --for-tests
(cd tests/Gateway.Tests/webhook-verifier && npm ci --no-audit --no-fund --loglevel=error)
./scripts/openapi.sh --check
# The hostile suite's figures (tests/Gateway.Tests/Hostile/HostileFigures.cs), printed when it ran.
summary=tests/Gateway.Tests/bin/Debug/net10.0/hostile/summary.md
rm -f "$summary"
status=0
dotnet test Gateway.sln "$@" || status=$?
if [[ -f $summary ]]; then
  cat "$summary"
fi
exit "$status"
