#!/usr/bin/env bash
# `make demo`: a real `pulumi up` of the dev stack in render mode (scripts/demo.py), with
# the Pulumi CLI, language host and Kubernetes provider built from Go modules on first
# use. Without Go nothing can be built: then meshstack's own renderer writes the objects
# meshstack defines, and says plainly what that leaves out.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v go >/dev/null; then
  bash scripts/toolchain.sh ensure pulumi language-python kubernetes-provider
  exec .venv/bin/python scripts/demo.py
fi
out=build/manifests/dev
echo "meshstack demo: no Go on this machine, so no Pulumi engine can be built."
echo "Rendering the dev stack with 'meshstack render' instead: Istio's charts and the add-ons are NOT rendered."
.venv/bin/meshstack render dev --out "$out"
find "$out" -name '*.yaml' | sed 's|.*/||' | sed -E 's/^[0-9]+-([a-z]+)-.*/\1/' | sort | uniq -c
