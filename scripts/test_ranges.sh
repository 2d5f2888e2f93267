#!/usr/bin/env bash
# The fast tests against both ends of the package's declared dependency ranges
# (pyproject.toml): the lowest allowed pulumi / pulumi-kubernetes / pydantic / ... releases
# and the highest, each in its own virtualenv under ~/.cache/meshstack/venvs. The test
# tools stay at this repository's versions (constraints.txt); only the library's own
# dependencies move. The engine tests stay on the toolchain's versions (make unit).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=.venv/bin/uv
venvs="${MESHSTACK_CACHE:-$HOME/.cache/meshstack}/venvs"
tools=()
for tool in pytest pytest-xdist jsonschema kubernetes-validate moto boto3 ruff; do
  tools+=("$(grep -i "^${tool}==" constraints.txt)")
done
tools+=("moto[server]")

for end in lowest highest; do
  python="$venvs/$end/bin/python"
  [ -x "$python" ] || "$uv" venv --quiet --python python3 "$venvs/$end"
  if [ "$end" = lowest ]; then resolution=lowest-direct; else resolution=highest; fi
  "$uv" pip install --quiet --python "$python" --resolution "$resolution" --upgrade \
    -e '.[policy,random]' "${tools[@]}"
  versions=$("$uv" pip list --python "$python" 2>/dev/null |
    awk 'tolower($1) ~ /^(pulumi|pulumi-kubernetes|pulumi-policy|pulumi-random|pydantic|pyyaml|google-re2)$/ {printf "%s %s, ", $1, $2}')
  echo "ranges: $end: ${versions%, }"
  "$venvs/$end/bin/pytest" -m "not engine and not cluster" -n 2 -q -p no:cacheprovider
done
