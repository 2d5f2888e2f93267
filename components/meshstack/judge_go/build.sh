#!/usr/bin/env bash
# Build meshstack-judge: Istio's control plane (the istio.io/istio module at the pinned
# version) as a test binary that answers meshstack's questions about traffic.
#
#   build.sh OUTPUT [ISTIO_MODULE_VERSION]
#
# The version defaults to the one go.mod here requires (the pin scripts/toolchain.env
# holds too; a test keeps them equal).
# Go modules come through the module proxy with the ordinary go commands; nothing of
# Istio is copied. GOMODCACHE and GOCACHE are the caller's (scripts/toolchain.sh points
# them into ~/.cache/meshstack so istioctl's build warms this one). Rebuilds only when
# these sources or the Istio version changed (a stamp beside OUTPUT).
set -euo pipefail
out=${1:?usage: build.sh OUTPUT [ISTIO_MODULE_VERSION]}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
istio=${2:-$(sed -n 's/^require istio.io\/istio \(v[^ ]*\)$/\1/p' "$src/go.mod")}
[ -n "$istio" ] || { echo "meshstack-judge: no istio.io/istio version in $src/go.mod" >&2; exit 1; }
command -v go >/dev/null || { echo "meshstack-judge: Go is needed to build Istio's judge (none on PATH)" >&2; exit 1; }
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=${GOFLAGS:-"-mod=mod -buildvcs=false"} CGO_ENABLED=0
stamp=$( (cat "$src"/*.go "$src/go.mod"; echo "$istio") | sha256sum | cut -c1-16)
if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/meshstack-judge.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src"/*.go "$src/go.mod" "$work/"
chmod u+w "$work"/*
cd "$work"
go mod edit "-require=istio.io/istio@$istio"
go mod tidy
mkdir -p "$(dirname "$out")"
go test -c -trimpath -ldflags '-s -w' -o "$out.tmp" .
mv "$out.tmp" "$out"
printf '%s\n' "$stamp" >"$out.stamp"
