"""L3 of ``make bench``: the real engine, meshstack against the plain-YAML way.

For a synthetic mesh of N services it writes two Pulumi projects into a scratch
directory, both rendering to a directory through the Kubernetes provider
(``renderYamlToDirectory``, so no cluster is needed):

* ``meshstack``   — the program: ``MeshStack`` over the typed spec;
* ``configgroup`` — what a team would write instead: the very same rendered objects
  as one YAML file, registered by ``kubernetes.yaml.v2.ConfigGroup``.

It then times ``pulumi preview`` of each, alternating the two so that a slower
minute on the machine hits both alike, and reports the medians and their ratio.
It needs a ``pulumi`` CLI whose version matches the installed Pulumi SDK, with the
Kubernetes provider plugin installed; it runs offline (``file://`` backend, a
throw-away passphrase, no update check, no automatic plugin download).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
STACK = "bench"
PROJECTS = ("meshstack", "configgroup")

_MESHSTACK_PROGRAM = """\
import pulumi_kubernetes as k8s
from meshstack.components import MeshStack, MeshStackArgs
from meshstack.runtime import tune_garbage_collector
from meshstack.synthetic import synthetic_mesh

tune_garbage_collector()
provider = k8s.Provider("render", render_yaml_to_directory={render_dir!r})
MeshStack("mesh", MeshStackArgs(spec=synthetic_mesh({services}), provider=provider))
"""

_CONFIGGROUP_PROGRAM = """\
import pulumi
import pulumi_kubernetes as k8s

provider = k8s.Provider("render", render_yaml_to_directory={render_dir!r})
k8s.yaml.v2.ConfigGroup(
    "objects", files=[{objects!r}], opts=pulumi.ResourceOptions(provider=provider)
)
"""


def pulumi_cli() -> tuple[str | None, str]:
    """The ``pulumi`` on PATH when its version is the SDK's, else ``None`` and why not."""
    cli = shutil.which("pulumi")
    if cli is None:
        return None, "no pulumi CLI on PATH (see the real-engine issue)"
    sdk = importlib.metadata.version("pulumi")
    found = subprocess.run([cli, "version"], capture_output=True, text=True).stdout.strip()
    if found.lstrip("v") != sdk:
        return None, f"pulumi at {cli} is {found}, the SDK is {sdk}"
    return cli, f"pulumi {found} at {cli}"


def write_projects(workdir: Path, services: int) -> dict[str, Path]:
    """Both projects for ``services`` services; returns each project's directory."""
    from meshstack.render import render
    from meshstack.synthetic import synthetic_mesh

    objects = workdir / "objects.yaml"
    objects.write_text(yaml.dump_all(render(synthetic_mesh(services)), Dumper=yaml.CSafeDumper))
    programs = {
        "meshstack": _MESHSTACK_PROGRAM.format(
            render_dir=str(workdir / "rendered-meshstack"), services=services
        ),
        "configgroup": _CONFIGGROUP_PROGRAM.format(
            render_dir=str(workdir / "rendered-configgroup"), objects=str(objects)
        ),
    }
    dirs = {}
    for name, program in programs.items():
        project = workdir / name
        project.mkdir()
        runtime = {"name": "python", "options": {"virtualenv": str(Path(sys.prefix))}}
        manifest = {"name": f"bench-{name}", "runtime": runtime}
        (project / "Pulumi.yaml").write_text(yaml.safe_dump(manifest))
        (project / "__main__.py").write_text(program)
        dirs[name] = project
    return dirs


def offline_env(workdir: Path) -> dict[str, str]:
    """The CLI's environment: local state, no network, no prompts."""
    state = workdir / "state"
    state.mkdir(exist_ok=True)
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "meshstack-bench",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }


def run_cli(cli: str, args: list[str], project: Path, env: dict[str, str]) -> None:
    """Run the CLI in ``project``; a failure raises with the CLI's own last words."""
    done = subprocess.run([cli, *args], cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-20:]
        raise RuntimeError(f"pulumi {' '.join(args)} in {project} failed:\n" + "\n".join(tail))


def _preview_seconds(cli: str, project: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run_cli(cli, ["preview", "--non-interactive", "--stack", STACK], project, env)
    return time.perf_counter() - start


def measure_l3(cli: str, services: int, runs: int) -> dict[str, Any]:
    """Median ``pulumi preview`` seconds of both projects (alternating) and their ratio."""
    with tempfile.TemporaryDirectory(prefix="meshstack-l3-") as scratch:
        workdir = Path(scratch)
        projects = write_projects(workdir, services)
        env = offline_env(workdir)
        for project in projects.values():
            run_cli(cli, ["stack", "init", STACK, "--non-interactive"], project, env)
        seconds: dict[str, list[float]] = {name: [] for name in PROJECTS}
        for _ in range(runs):
            for name in PROJECTS:
                seconds[name].append(_preview_seconds(cli, projects[name], env))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {
        "preview_s": medians,
        "runs_s": seconds,
        "meshstack_over_configgroup": round(medians["meshstack"] / medians["configgroup"], 2),
    }
