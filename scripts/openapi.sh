#!/usr/bin/env bash
# The gateway's OpenAPI document and what is made from it:
#   1. openapi/gateway.json, written at build time (Microsoft.Extensions.ApiDescription.Server runs the
#      gateway's Program with no server: no Redis, no Reka, placeholders for the required settings);
#   2. Redocly's lint of it (openapi/redocly.yaml: the recommended rules, every problem an error);
#   3. the C# client Kiota generates from it, src/Gateway.ApiClient/Generated (Kiota pinned in
#      .config/dotnet-tools.json).
#
#   scripts/openapi.sh           regenerates 1 and 3 in place and lints: run it after changing a route, then commit.
#   scripts/openapi.sh --check   the same in a temporary folder; fails if the committed files differ or the lint
#                                finds a problem (scripts/test.sh, so CI, runs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: scripts/openapi.sh [--check]" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/openapi" "$work/src/Gateway.ApiClient"

echo "openapi: writing the document (build-time generation)"
# The target is skipped when the assembly has not changed since its last run, wherever that run wrote to.
rm -f src/Gateway/obj/Gateway.OpenApiFiles.cache
# Redis on port 1 (nothing listens there): the app starts its background work as usual, which must not
# reach a Redis this machine may run for other purposes.
Upstream__ApiKey=openapi-document \
  Webhooks__CallbackSecret=openapi-document-placeholder-callback-secret \
  Redis__Configuration=127.0.0.1:1 \
  Logging__LogLevel__Default=Error \
  dotnet build src/Gateway/Gateway.csproj -nologo -v:q -p:OpenApiGenerateDocumentsOnBuild=true -p:OpenApiDocumentsDirectory="$work/openapi"

echo "openapi: linting it (Redocly)"
# Redocly CLI 2.x needs Node.js 20.19 or later (the machines here have 20.20; Debian 12's own nodejs is 18).
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || { echo "openapi: Redocly CLI 2.77.0 needs Node.js >= 20.19; this is $(node --version)" >&2; exit 1; }
(cd openapi && npm ci --no-audit --no-fund --loglevel=error)
cp openapi/redocly.yaml openapi/.redocly.lint-ignore.yaml "$work/openapi/"
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  openapi/node_modules/.bin/redocly lint --config "$work/openapi/redocly.yaml" --format=stylish

echo "openapi: generating the C# client (Kiota)"
dotnet tool restore >/dev/null
# Offline: no update check against GitHub, no telemetry, no tutorial hints.
KIOTA_OFFLINE_ENABLED=true KIOTA_CLI_TELEMETRY_OPTOUT=true KIOTA_TUTORIAL_ENABLED=false \
  dotnet kiota generate --language CSharp --openapi "$work/openapi/gateway.json" \
  --output "$work/src/Gateway.ApiClient/Generated" --class-name GatewayApiClient --namespace-name Reka.Gateway.ApiClient \
  --exclude-backward-compatible --clean-output --log-level Error
rm -f "$work/src/Gateway.ApiClient/Generated/.kiota.log"

if $check; then
  stale=()
  diff -u openapi/gateway.json "$work/openapi/gateway.json" >"$work/document.diff" || stale+=(openapi/gateway.json)
  diff -ru --exclude=.kiota.log src/Gateway.ApiClient/Generated "$work/src/Gateway.ApiClient/Generated" >"$work/client.diff" \
    || stale+=(src/Gateway.ApiClient/Generated)
  if [ ${#stale[@]} -gt 0 ]; then
    head -n 60 "$work/document.diff" "$work/client.diff" >&2
    echo "openapi: not up to date with the gateway: ${stale[*]}. Run scripts/openapi.sh and commit what it changes." >&2
    exit 1
  fi
  echo "openapi: openapi/gateway.json and src/Gateway.ApiClient/Generated are up to date; the lint is clean"
else
  cp "$work/openapi/gateway.json" openapi/gateway.json
  rm -rf src/Gateway.ApiClient/Generated
  cp -r "$work/src/Gateway.ApiClient/Generated" src/Gateway.ApiClient/Generated
  echo "openapi: wrote openapi/gateway.json and src/Gateway.ApiClient/Generated; the lint is clean"
fi
