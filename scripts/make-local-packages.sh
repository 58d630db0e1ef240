#!/usr/bin/env bash
# Packs the .NET SDK's own System.IO.Hashing.dll as a NuGet package in .local-packages/.
#
# Why: Yarp.ReverseProxy 2.1.0 depends on System.IO.Hashing (>= 7.0.0), which the package
# source reachable here does not serve. The SDK ships Microsoft's build of that assembly; packed
# as System.IO.Hashing 10.0.12 into a folder that NuGet.config lists, it satisfies YARP (restore
# then warns NU1603, which is expected). The dll is never committed:
# this script must run before every restore on a fresh machine (scripts/run.sh, scripts/test.sh
# and the Dockerfile do).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.local-packages"
version=10.0.12
package="$out/system.io.hashing.$version.nupkg"
[ -f "$package" ] && exit 0

sdk_version=$(cd "$root" && dotnet --version)
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
dll="$dotnet_root/sdk/$sdk_version/Sdks/Microsoft.NET.Sdk/tools/net10.0/System.IO.Hashing.dll"
if [ ! -f "$dll" ]; then
  echo "make-local-packages: $dll not found; is the .NET SDK $sdk_version installed?" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib/net10.0" "$out"
cp "$dll" "$work/lib/net10.0/"
cat > "$work/System.IO.Hashing.nuspec" <<NUSPEC
<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>System.IO.Hashing</id>
    <version>$version</version>
    <authors>Microsoft</authors>
    <description>System.IO.Hashing.dll as shipped with the .NET SDK $sdk_version, repacked locally for Yarp.ReverseProxy.</description>
    <dependencies><group targetFramework="net10.0" /></dependencies>
  </metadata>
</package>
NUSPEC
(cd "$work" && zip -qr "$package.tmp" System.IO.Hashing.nuspec lib)
mv "$package.tmp" "$package"
echo "make-local-packages: wrote $package"
