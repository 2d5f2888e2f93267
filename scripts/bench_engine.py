"""L3 of ``make bench``: the real engine, meshstack against the plain-YAML way and the floor.

For a synthetic mesh of N services it writes Pulumi projects into a scratch
directory, all rendering to a directory through the Kubernetes provider
(``renderYamlToDirectory``, so no cluster is needed):

* ``meshstack``   — the program: ``MeshStack`` over the typed spec;
* ``configgroup`` — what a team would write instead: the very same rendered objects
  as one YAML file, registered by ``kubernetes.yaml.v2.ConfigGroup`` together with
  Istio's CRDs (without them the provider cannot tell, offline, that a VirtualService
  is namespaced);
* ``floor``       — the engine's floor: the same objects registered flat, each one
  plain ``pulumi.CustomResource`` (what meshstack's registry sends), nothing else;
* ``typed``       — the same flat registration through pulumi-kubernetes' generated
  classes (``apps.v1.Deployment`` ...): ``typed`` minus ``floor`` is what those classes cost;
* ``checkpoints`` — meshstack's program again, previewed with the CLI's default of a
  snapshot checkpoint after every step (all the others run with ``PREVIEW_ENV``, as
  meshstack's own previews do): what a plain ``pulumi preview`` costs.

It then times ``pulumi preview`` of each, alternating the projects so that a slower
minute on the machine hits all alike, and reports the medians and their ratios. It
runs meshstack's toolchain (``scripts/toolchain.sh``) offline (``file://`` backend,
a throw-away passphrase, no update check, no automatic plugin download).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from engine import istio_module_dir, missing_tools, offline_env, preview_env, run

ROOT = Path(__file__).resolve().parent.parent
STACK = "bench"
PROJECTS = ("meshstack", "configgroup", "floor", "typed", "checkpoints")
"""Each name is a project directory, except ``checkpoints``: meshstack's, default env."""

CHECKPOINTS_UP_TO = 500
"""``checkpoints`` grows with the square of the objects (N = 500 takes minutes, 1000 half
an hour): it is measured up to this many services."""

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
    "objects", files=[{crds!r}, {objects!r}], opts=pulumi.ResourceOptions(provider=provider)
)
"""

_FLOOR_PROGRAM = """\
import pulumi
import pulumi_kubernetes as k8s
import yaml
from meshstack.components.registry import KUBERNETES_PLUGIN_VERSION
from meshstack.k8s import type_token
from meshstack.runtime import tune_garbage_collector

tune_garbage_collector()
provider = k8s.Provider("render", render_yaml_to_directory={render_dir!r})
opts = pulumi.ResourceOptions(provider=provider, version=KUBERNETES_PLUGIN_VERSION)
with open({objects!r}) as stream:
    for obj in yaml.load_all(stream, Loader=yaml.CSafeLoader):
        meta = obj["metadata"]
        name = f"{{obj['kind']}}-{{meta.get('namespace', '')}}-{{meta['name']}}"
        pulumi.CustomResource(type_token(obj), name, obj, opts)
"""

_TYPED_PROGRAM = """\
import pulumi
import pulumi_kubernetes as k8s
import yaml
from meshstack.runtime import tune_garbage_collector

tune_garbage_collector()
provider = k8s.Provider("render", render_yaml_to_directory={render_dir!r})
opts = pulumi.ResourceOptions(provider=provider)
CLASSES = {{
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
}}
with open({objects!r}) as stream:
    for obj in yaml.load_all(stream, Loader=yaml.CSafeLoader):
        meta = obj["metadata"]
        name = f"{{obj['kind']}}-{{meta.get('namespace', '')}}-{{meta['name']}}"
        body = {{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}
        cls = CLASSES.get((obj["apiVersion"], obj["kind"]))
        if cls is not None:
            cls(name, opts=opts, **body)
        else:
            k8s.apiextensions.CustomResource(
                name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **body
            )
"""


def istio_crds() -> Path:
    """Istio's CRDs, as its base chart ships them in the pinned module."""
    return istio_module_dir() / "manifests" / "charts" / "base" / "files" / "crd-all.gen.yaml"


def engine_missing() -> str | None:
    """Why L3 cannot run here, or ``None`` when the toolchain is complete."""
    missing = missing_tools(("pulumi", "language-python", "kubernetes-provider"))
    if missing:
        return f"toolchain incomplete ({', '.join(missing)}): run scripts/toolchain.sh ensure"
    return None


def write_projects(workdir: Path, services: int) -> dict[str, Path]:
    """Every project for ``services`` services; returns each project's directory."""
    from meshstack.render import render
    from meshstack.synthetic import synthetic_mesh

    objects = workdir / "objects.yaml"
    objects.write_text(yaml.dump_all(render(synthetic_mesh(services)), Dumper=yaml.CSafeDumper))
    templates = {
        "meshstack": _MESHSTACK_PROGRAM,
        "configgroup": _CONFIGGROUP_PROGRAM,
        "floor": _FLOOR_PROGRAM,
        "typed": _TYPED_PROGRAM,
    }
    programs = {
        name: template.format(
            render_dir=str(workdir / f"rendered-{name}"),
            services=services,
            objects=str(objects),
            crds=str(istio_crds()),
        )
        for name, template in templates.items()
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


def bench_env(workdir: Path) -> dict[str, str]:
    """The CLI's environment: state in ``workdir``, no network, no prompts."""
    state = workdir / "state"
    state.mkdir(exist_ok=True)
    return offline_env(state.as_uri(), "meshstack-bench")


def _preview_seconds(project: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(["pulumi", "preview", "--non-interactive", "--stack", STACK], project, env, timeout=3600)
    return time.perf_counter() - start


def measure_l3(services: int, runs: int) -> dict[str, Any]:
    """Median ``pulumi preview`` seconds of every project (alternating) and their ratios."""
    with tempfile.TemporaryDirectory(prefix="meshstack-l3-") as scratch:
        workdir = Path(scratch)
        projects = write_projects(workdir, services)
        env = bench_env(workdir)
        for project in projects.values():
            run(["pulumi", "stack", "init", STACK, "--non-interactive"], project, env)
        names = [p for p in PROJECTS if p != "checkpoints" or services <= CHECKPOINTS_UP_TO]
        seconds: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(runs):
            for name in names:
                if name == "checkpoints":
                    seconds[name].append(_preview_seconds(projects["meshstack"], env))
                else:
                    seconds[name].append(_preview_seconds(projects[name], preview_env(env)))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {
        "preview_s": medians,
        "runs_s": seconds,
        "meshstack_over_configgroup": round(medians["meshstack"] / medians["configgroup"], 2),
        "meshstack_over_floor": round(medians["meshstack"] / medians["floor"], 2),
        "typed_classes_share_of_meshstack": round(
            (medians["typed"] - medians["floor"]) / medians["meshstack"], 3
        ),
        "checkpoints_over_meshstack": round(medians["checkpoints"] / medians["meshstack"], 2)
        if "checkpoints" in medians
        else None,
    }
