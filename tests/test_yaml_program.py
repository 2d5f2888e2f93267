"""A Pulumi YAML program uses meshstack: ``meshstack:index:MeshStack`` through the package's
component provider (``pulumi-resource-meshstack``), under the real CLI and the YAML
language host built from ``github.com/pulumi/pulumi-yaml``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from engine import offline_env, offline_sources_config, provider_plugin, run, toolchain_bin
from engine_stack import require_toolchain
from meshstack.scaffold import init_project

pytestmark = pytest.mark.engine

_BY_FILE = """\
name: payments
runtime: yaml
resources:
  mesh:
    type: meshstack:index:MeshStack
    properties:
      stack: dev
outputs:
  namespaces: ${mesh.namespaces}
"""

_BY_VALUES = """\
name: payments
runtime: yaml
resources:
  mesh:
    type: meshstack:index:MeshStack
    properties:
      spec:
        stack: dev
        namespaces:
          - name: payments
        apps:
          - name: payments
            namespace: payments
            workloads:
              - name: web
                ports: [{number: 8080}]
                versions: [{image: "payments/web:1.0.0"}]
outputs:
  namespaces: ${mesh.namespaces}
"""


def _project(
    tmp_path: Path, program: str, *, scaffold_config: bool = True
) -> tuple[Path, dict[str, str]]:
    require_toolchain("pulumi", "language-yaml", "kubernetes-provider")
    project = tmp_path / "payments"
    init_project(project)
    for python_only in ("__main__.py",):
        (project / python_only).unlink()
    (project / "Pulumi.yaml").write_text(program)
    charts = str(offline_sources_config()["meshstack:istioCharts"]["path"])  # type: ignore[index]
    config = project / "Pulumi.dev.yaml"
    if scaffold_config:
        config.write_text(
            config.read_text() + "  meshstack:istioCharts:\n    kind: local\n"
            "    path: ${ISTIO_CHARTS}/{version}\n    layout: istio-source\n"
        )
    else:  # the spec is in the program, installs no Istio and has no canary to tune
        config.write_text("config:\n")
    config.write_text(config.read_text() + "  meshstack:renderDir: build/manifests\n")
    state = tmp_path / "state"
    state.mkdir()
    env = offline_env(state.as_uri(), extra={"ISTIO_CHARTS": charts.removesuffix("/{version}")})
    env["PATH"] = os.pathsep.join(
        [str(toolchain_bin()), str(Path(sys.executable).parent), os.environ["PATH"]]
    )
    env["PULUMI_HOME"] = str(_pulumi_home_of_its_own(tmp_path, env))
    # As README tells a team: the package's provider becomes a Pulumi plugin, once.
    installed = run(
        [str(Path(sys.executable).parent / "meshstack"), "provider-install"], project, env
    )
    assert "installed Pulumi plugin resource meshstack" in installed.stdout
    run(["pulumi", "stack", "init", "dev", "--non-interactive"], project, env)
    return project, env


def _pulumi_home_of_its_own(tmp_path: Path, env: dict[str, str]) -> Path:
    """A plugin cache for this test only (so tests running side by side never install into
    one another's), holding the toolchain's Kubernetes provider."""
    home = tmp_path / "pulumi-home"
    home.mkdir()
    plugin = provider_plugin()
    version = plugin.parent.name.removeprefix("resource-kubernetes-v")
    install = [
        "pulumi",
        "plugin",
        "install",
        "resource",
        "kubernetes",
        version,
        "--file",
        str(plugin),
    ]
    run(install, tmp_path, {**env, "PULUMI_HOME": str(home)})
    return home


def _outputs(project: Path, env: dict[str, str]) -> dict[str, object]:
    done = run(["pulumi", "stack", "output", "--json"], project, env)
    outputs: dict[str, object] = json.loads(done.stdout)
    return outputs


def test_a_yaml_program_deploys_a_stack_file_through_the_component(tmp_path: Path) -> None:
    project, env = _project(tmp_path, _BY_FILE)
    first = run(["pulumi", "up", "--yes", "--non-interactive"], project, env)
    # The provider comes from the plugin cache, so the CLI has nothing to warn about.
    assert "meshstack from $PATH" not in first.stdout + first.stderr
    assert "pulumi-resource-meshstack" not in first.stdout + first.stderr
    assert _outputs(project, env)["namespaces"] == ["istio-ingress", "payments"]
    rendered = {p.name for p in (project / "build" / "manifests").rglob("*.yaml")}
    assert any("virtualservice" in name.lower() for name in rendered), sorted(rendered)
    again = run(["pulumi", "up", "--yes", "--non-interactive", "--expect-no-changes"], project, env)
    assert "unchanged" in again.stdout


def test_a_yaml_program_gives_the_spec_as_values(tmp_path: Path) -> None:
    project, env = _project(tmp_path, _BY_VALUES, scaffold_config=False)
    run(["pulumi", "up", "--yes", "--non-interactive"], project, env)
    assert _outputs(project, env)["namespaces"] == ["payments"]


def test_a_bad_spec_in_yaml_is_every_problem_and_nothing_registered(tmp_path: Path) -> None:
    bad = _BY_VALUES.replace("number: 8080", "number: 80800").replace("image:", "imgae:")
    project, env = _project(tmp_path, bad, scaffold_config=False)
    failed = run(["pulumi", "up", "--yes", "--non-interactive"], project, env, check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "nothing was registered" in output
    assert "imgae" in output
    assert "Traceback" not in output
