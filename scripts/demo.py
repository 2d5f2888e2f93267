"""``make demo``: a real ``pulumi up`` of the dev stack, rendering every manifest to a directory.

The Pulumi CLI, the Python language host and the Kubernetes provider come from
meshstack's toolchain (``scripts/toolchain.sh``); state lives in ``build/state``;
Istio's charts and the add-ons come from the pinned ``istio.io/istio`` module, so
nothing is fetched from a chart repository. Grafana's admin password is a config
secret generated on the first run. dev's CRDs live in the stack ``dev-crds``
(``IstioInstall.crd_stack``), which is brought up first, as a user would. A second run
reports every resource unchanged.
"""

from __future__ import annotations

import collections
import os
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
from engine import (
    ROOT,
    missing_tools,
    offline_env,
    offline_sources_config,
    run,
    stage_project,
)

STACK = "dev"
CRD_STACK = "dev-crds"
BUILD = ROOT / "build"
MANIFESTS = BUILD / "manifests" / STACK


def kinds_rendered(directory: Path) -> collections.Counter[str]:
    """How many objects of each kind the provider wrote under ``directory``."""
    kinds: collections.Counter[str] = collections.Counter()
    for path in sorted(directory.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and "kind" in document:
                kinds[document["kind"]] += 1
    return kinds


def main() -> int:
    missing = missing_tools(("pulumi", "language-python", "kubernetes-provider"))
    if missing:
        print(
            f"meshstack demo: toolchain incomplete ({', '.join(missing)}): run scripts/toolchain.sh ensure"
        )
        return 1
    config: dict[str, object] = {"meshstack:renderDir": str(MANIFESTS), **offline_sources_config()}
    project = stage_project(BUILD / "demo-project", STACK, config)
    state = BUILD / "state"
    state.mkdir(parents=True, exist_ok=True)
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE", "meshstack-demo")
    env = offline_env(state.as_uri(), passphrase)
    # The CRD layer stack's own config holds settings only: it reads dev's spec with dev's
    # config (the offline sources included).
    stage_project(BUILD / "demo-project", CRD_STACK, {"meshstack:renderDir": str(MANIFESTS)})
    for stack in (CRD_STACK, STACK):
        if run(["pulumi", "stack", "select", stack], project, env, check=False).returncode != 0:
            run(["pulumi", "stack", "init", stack, "--non-interactive"], project, env)
    key = "meshstack:grafanaAdminPassword"
    if run(["pulumi", "config", "get", key, "-s", STACK], project, env, check=False).returncode:
        secret = ["pulumi", "config", "set", "--secret", key, secrets.token_urlsafe(18)]
        run([*secret, "-s", STACK], project, env)
    for stack in (CRD_STACK, STACK):  # the CRD layer first: dev checks it is up
        up = subprocess.run(
            ["pulumi", "up", "--yes", "--non-interactive", "--stack", stack],
            cwd=project,
            env=env,
        )
        if up.returncode != 0:
            return up.returncode
    kinds = kinds_rendered(MANIFESTS)
    print(
        f"\nmeshstack demo: the Pulumi engine rendered {sum(kinds.values())} objects into {MANIFESTS}"
    )
    for kind, count in sorted(kinds.items()):
        print(f"  {count:4d} {kind}")
    print(
        f"state: {state} (pulumi stack output --show-secrets in {project} shows the Grafana password)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
