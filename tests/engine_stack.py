"""A stack of the real Pulumi project, driven by the real CLI, for the end-to-end tests.

Each :class:`EngineStack` is a staged copy of the project (``engine.stage_project``)
with its own state backend, so tests never touch the repository's stack files or
each other's state.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine import (
    ROOT,
    missing_tools,
    offline_env,
    offline_sources_config,
    preview_env,
    run,
    stage_project,
)

GRAFANA_TEST_PASSWORD = "grafana-e2e-Kx7pQ2vZ9mW4"
"""The Grafana password the end-to-end stacks hold as a config secret; a test looks for
it in plain text wherever state is kept."""


def require_toolchain(*tools: str) -> None:
    """Skip, or fail when ``MESHSTACK_REQUIRE_ENGINE=1`` (``make test``, CI), if a tool of
    the toolchain is missing: in CI the end-to-end tests never skip silently."""
    missing = missing_tools(tools)
    if not missing:
        return
    why = f"toolchain incomplete: {', '.join(missing)} (build it: bash scripts/toolchain.sh ensure)"
    if os.environ.get("MESHSTACK_REQUIRE_ENGINE") == "1":
        pytest.fail(why)
    pytest.skip(why)


@dataclass
class EngineStack:
    """One stack of a staged project and the CLI environment it runs in."""

    name: str
    project: Path
    env: dict[str, str]
    render_dir: Path | None
    log: list[str] = field(default_factory=list)
    crd_layer: EngineStack | None = None
    """The stack holding this one's CRD layer (``IstioInstall.crd_stack``), already up."""

    def pulumi(
        self, *args: str, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        done = run(
            ["pulumi", *args, "--stack", self.name, "--non-interactive"],
            self.project,
            preview_env(self.env) if args[0] == "preview" else self.env,
            check=check,
            timeout=timeout,
        )
        self.log.append(done.stdout + done.stderr)
        return done

    def up(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.pulumi("up", "--yes", "--skip-preview", *extra)

    def preview_json(self, *extra: str) -> dict[str, Any]:
        """``pulumi preview --json``: the steps the engine would take and their diffs."""
        done = self.pulumi("preview", "--json", "--diff", *extra)
        parsed: dict[str, Any] = json.loads(done.stdout)
        return parsed

    def set_config(self, key: str, value: str, *, path: bool = False, secret: bool = False) -> None:
        flags = [*(["--path"] if path else []), *(["--secret"] if secret else [])]
        if value.startswith("-"):
            # A value that reads as a flag (a PEM block) goes in on stdin, kept whole.
            done = run(
                ["pulumi", "config", "set", *flags, "--raw", key, "--stack", self.name,
                 "--non-interactive"],
                self.project, self.env, stdin=value,
            )  # fmt: skip
            self.log.append(done.stdout + done.stderr)
            return
        self.pulumi("config", "set", *flags, key, value)

    def export(self) -> dict[str, Any]:
        """The stack's checkpoint (``pulumi stack export``), secrets left encrypted."""
        exported: dict[str, Any] = json.loads(self.pulumi("stack", "export").stdout)
        return exported

    def destroy(self) -> None:
        """``pulumi destroy`` of this stack, then of its CRD layer (which it needs)."""
        self.pulumi("destroy", "--yes", "--skip-preview")
        if self.crd_layer is not None:
            self.crd_layer.destroy()

    def resource_types(self) -> list[str]:
        deployment = self.export().get("deployment", {})
        return [r["type"] for r in deployment.get("resources") or []]


def new_stack(
    workdir: Path,
    name: str,
    *,
    backend_url: str | None = None,
    render: bool = True,
    config: Mapping[str, object] = {},
    extra_env: Mapping[str, str] = {},
    with_crd_layer: bool = True,
) -> EngineStack:
    """Stage the project under ``workdir`` and create stack ``name`` in a fresh backend
    (``workdir/state`` unless ``backend_url`` is given), offline: Istio's charts and the
    add-ons from the pinned module, Grafana's password as a config secret. A stack whose CRDs
    live in another stack (``IstioInstall.crd_stack``) gets that stack created and up
    first, unless ``with_crd_layer`` is false."""
    require_toolchain("pulumi", "language-python", "kubernetes-provider")
    render_dir = workdir / "manifests" if render else None
    staged: dict[str, object] = {**offline_sources_config(), **config}
    staged["meshstack:renderDir"] = str(render_dir) if render_dir else ""
    project = stage_project(workdir / "project", name, staged)
    if backend_url is None:
        state = workdir / "state"
        state.mkdir(parents=True, exist_ok=True)
        backend_url = state.as_uri()
    env = offline_env(backend_url, extra=extra_env)
    stack = EngineStack(name, project, env, render_dir)
    run(["pulumi", "stack", "init", name, "--non-interactive"], project, stack.env)
    if with_crd_layer and (layer := new_crd_layer(stack)) is not None:
        layer.up()  # the stack's CRDs live there: up first, as a user runs it
    stack.set_config("meshstack:grafanaAdminPassword", GRAFANA_TEST_PASSWORD, secret=True)
    return stack


CRD_LAYER_SETTINGS = ("meshstack:renderDir", "meshstack:skipAwait")
"""The staged settings a CRD layer stack shares with its mesh stack: the same render
directory, the same waiting (the spec and its overrides, the offline chart sources
included, it reads from the mesh stack's own config)."""


def new_crd_layer(stack: EngineStack) -> EngineStack | None:
    """The stack holding ``stack``'s CRD layer (``IstioInstall.crd_stack``; its
    ``Pulumi.<layer>.yaml`` says ``meshstack:crdsOf``), staged in the same project and
    backend with the settings it shares with ``stack``, created but not yet up; ``None``
    when the stack keeps its own CRDs."""
    holder = crd_layer_stack_of(stack.name, ROOT)
    if holder is None:
        return None
    document = yaml.safe_load((stack.project / f"Pulumi.{stack.name}.yaml").read_text())
    staged: Mapping[str, object] = document.get("config") or {}
    shared = {k: v for k, v in staged.items() if k in CRD_LAYER_SETTINGS}
    project = stage_project(stack.project, holder, shared)
    layer = EngineStack(holder, project, stack.env, stack.render_dir)
    run(["pulumi", "stack", "init", holder, "--non-interactive"], project, stack.env)
    stack.crd_layer = layer
    return layer


def crd_layer_stack_of(name: str, project: Path) -> str | None:
    """The stack whose ``Pulumi.<stack>.yaml`` says ``meshstack:crdsOf: <name>``, if any."""
    for path in sorted(project.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        if config.get("meshstack:crdsOf") == name:
            return path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    return None
