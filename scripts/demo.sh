#!/usr/bin/env bash
# `make demo`: deploy the dev stack with the real Pulumi engine in render mode when a
# fitting Pulumi CLI is available; otherwise render the same objects with meshstack's
# own renderer and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pulumi"))')
out=build/manifests/dev
if command -v pulumi >/dev/null && [ "$(pulumi version | tr -d v)" = "$want" ]; then
  export PULUMI_BACKEND_URL="file://$PWD/build/state" PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-demo}"
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
  mkdir -p build/state
  pulumi stack select dev --create >/dev/null
  pulumi up --yes --stack dev
  echo "manifests rendered by the Pulumi engine into $out"
else
  echo "meshstack demo: no Pulumi CLI $want on PATH; rendering the dev stack with 'meshstack render' instead."
  .venv/bin/meshstack render dev --out "$out"
fi
find "$out" -name '*.yaml' | sed 's|.*/||' | sed -E 's/^[0-9]+-([a-z]+)-.*/\1/' | sort | uniq -c
