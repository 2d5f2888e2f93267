#!/usr/bin/env bash
# Check the GitHub Actions workflows with actionlint (expressions, contexts, action inputs)
# and, through it, shellcheck on every run: script. actionlint is built from the Go module
# proxy once into a cache outside the repository; shellcheck comes with the dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTIONLINT_VERSION=v1.7.12
TOOLS="${MESHSTACK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/meshstack/tools}/actionlint-$ACTIONLINT_VERSION"
if [ ! -x "$TOOLS/actionlint" ]; then
  echo "building actionlint $ACTIONLINT_VERSION into $TOOLS (once)"
  GOBIN="$TOOLS" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
command -v shellcheck > /dev/null || { echo "shellcheck missing: run make setup" >&2; exit 1; }
"$TOOLS/actionlint" -no-color .github/workflows/*.yml
echo "workflows: actionlint and shellcheck clean"
