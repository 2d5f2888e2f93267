"""The real Pulumi engine, offline: where meshstack's toolchain lives and how it runs.

``scripts/toolchain.sh`` builds the Pulumi CLI, its Python language host, the
Kubernetes provider, etcd, kube-apiserver and istioctl into a cache outside the
repository; the demo, the end-to-end tests and ``make bench`` all come through here
to find them and to run the CLI the same way: a ``file://`` (or given) backend, a
throw-away passphrase, meshstack's own ``PULUMI_HOME`` holding the provider plugin,
no update check and no automatic plugin download, and the project's virtualenv
first on ``PATH`` (the v3.79 language host ignores ``runtime.options.virtualenv``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS_FILE = ROOT / "scripts" / "toolchain.env"
TOOLS = {
    "pulumi": ("pulumi",),
    "language-python": ("pulumi-language-python", "pulumi-language-python-exec"),
    "language-yaml": ("pulumi-language-yaml",),
    "etcd": ("etcd",),
    "kube-apiserver": ("kube-apiserver",),
    "kube-controller-manager": ("kube-controller-manager",),
    "istioctl": ("istioctl",),
    "judge": ("meshstack-judge",),
    "sloth": ("sloth",),
}
"""Each tool of ``toolchain.sh ensure`` and the binaries it leaves in the bin directory
(the Kubernetes provider is checked as an installed plugin instead, the Operator's CRD
as a file)."""


@cache
def pins() -> dict[str, str]:
    """The pinned versions, from the one file ``toolchain.sh`` sources too."""
    values = {}
    for line in PINS_FILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cache_dir() -> Path:
    return Path(os.environ.get("MESHSTACK_CACHE") or Path.home() / ".cache" / "meshstack")


def toolchain_bin() -> Path:
    return cache_dir() / "toolchain" / "bin"


def pulumi_home() -> Path:
    return cache_dir() / "pulumi-home"


def provider_plugin() -> Path:
    version = pins()["KUBERNETES_PROVIDER_VERSION"]
    return (
        pulumi_home() / "plugins" / f"resource-kubernetes-v{version}" / "pulumi-resource-kubernetes"
    )


def missing_tools(tools: Sequence[str] = ("pulumi", "language-python")) -> list[str]:
    """The tools (``toolchain.sh`` names) not built yet; ``kubernetes-provider`` means
    the plugin is not installed in meshstack's ``PULUMI_HOME``."""
    missing = [
        tool
        for tool in tools
        if tool not in ("kubernetes-provider", "prometheus-operator-crd")
        and not all(os.access(toolchain_bin() / b, os.X_OK) for b in TOOLS[tool])
    ]
    if "kubernetes-provider" in tools and not provider_plugin().is_file():
        missing.append("kubernetes-provider")
    if "prometheus-operator-crd" in tools and not prometheus_operator_crd().is_file():
        missing.append("prometheus-operator-crd")
    return missing


def prometheus_operator_crd() -> Path:
    """The Prometheus Operator's PrometheusRule CRD, as ``toolchain.sh`` copies it from
    the Operator's module."""
    return cache_dir() / "toolchain" / "crds" / "monitoring.coreos.com_prometheusrules.yaml"


def venv_bin() -> Path:
    """The bin directory of the Python running this (the project's virtualenv)."""
    return Path(sys.executable).parent


def offline_env(
    backend_url: str, passphrase: str = "meshstack-throwaway", extra: Mapping[str, str] = {}
) -> dict[str, str]:
    """The environment the CLI runs in: this machine's, plus everything that keeps the
    engine local and quiet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(
        {
            "PATH": os.pathsep.join([str(toolchain_bin()), str(venv_bin()), env.get("PATH", "")]),
            "VIRTUAL_ENV": str(venv_bin().parent),
            "PULUMI_HOME": str(pulumi_home()),
            "PULUMI_BACKEND_URL": backend_url,
            "PULUMI_CONFIG_PASSPHRASE": passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
        }
    )
    env.update(extra)
    return env


PREVIEW_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}
"""For ``pulumi preview``, which persists nothing. Left at its default, the engine still
serialises the whole snapshot (and checks its integrity) after every step it plans, so a
preview grows with the square of the resources: 808 objects (N = 100) 21.2 s → 4.9 s,
1608 objects 75 s → 7.7 s. An ``up`` keeps its checkpoints: they are what lets it
recover from a crash mid-way."""


def preview_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a preview: the same, without per-step checkpoints."""
    return {**env, **PREVIEW_ENV}


class CliFailed(RuntimeError):
    """A CLI call that exited non-zero; the message carries the CLI's own last words."""

    def __init__(self, args: Sequence[str], cwd: Path, done: subprocess.CompletedProcess[str]):
        tail = "\n".join((done.stdout + "\n" + done.stderr).strip().splitlines()[-30:])
        super().__init__(f"{' '.join(args)} in {cwd} exited {done.returncode}:\n{tail}")
        self.done = done


def run(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    check: bool = True,
    timeout: float = 600,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a toolchain binary (``args[0]`` is looked up in the toolchain first)."""
    binary = shutil.which(args[0], path=env["PATH"]) or args[0]
    done = subprocess.run(
        [binary, *args[1:]],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )
    if check and done.returncode != 0:
        raise CliFailed(args, cwd, done)
    return done


@cache
def go_module_dir(module: str, go_toolchain: str | None = None) -> Path:
    """Where the module cache holds ``module`` (``path@version``), fetched if needed, in
    the same module cache ``toolchain.sh`` fills. ``go_toolchain`` (``go1.27.0``): the Go
    release to fetch it with, for a module whose go.mod asks a newer Go than the
    machine's; ``go`` downloads that release through the module proxy."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(f"Go is needed to fetch {module} (go mod download)")
    env = {**os.environ, "GOMODCACHE": str(cache_dir() / "go" / "mod"), "GOFLAGS": "-mod=mod"}
    if go_toolchain is not None:
        env["GOTOOLCHAIN"] = go_toolchain
    done = subprocess.run(
        [go, "mod", "download", "-json", module],
        capture_output=True,
        text=True,
        cwd="/",
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"go mod download {module} failed: {done.stdout}{done.stderr}")
    return Path(json.loads(done.stdout)["Dir"])


def istio_module_dir() -> Path:
    """The pinned ``istio.io/istio`` module: Istio's charts, CRDs and sample add-ons."""
    return go_module_dir(f"istio.io/istio@{pins()['ISTIO_MODULE_VERSION']}")


def gateway_api_crds_dir() -> Path:
    """The standard channel's CRDs of the pinned Gateway API release
    (``config/crd/standard`` of the ``sigs.k8s.io/gateway-api`` module)."""
    found = go_module_dir(
        f"sigs.k8s.io/gateway-api@v{pins()['GATEWAY_API_VERSION']}", pins()["GATEWAY_API_GO"]
    )
    return found / "config" / "crd" / "standard"


def istio_versions(project: Path = ROOT) -> set[str]:
    """Every Istio release the project's stacks install (a canary revision may differ)."""
    from meshstack.stacks import available_stacks, load_spec

    versions = set()
    for name in available_stacks(project / "stacks"):
        install = load_spec(name, project / "stacks").install
        if install is not None:
            versions.add(install.version)
            versions.update(cp.version for cp in install.control_planes if cp.version)
            versions.update(gw.version for gw in install.gateways if gw.version)
    return versions


def offline_sources_config(project: Path = ROOT) -> dict[str, object]:
    """``meshstack:*`` config that installs Istio and the add-ons from the pinned module
    and the Gateway API CRDs from the pinned modules instead of the remote chart
    repositories and release downloads.

    The module carries one chart tree (``ISTIO_MODULE_LABEL``); offline it stands in for
    every release the stacks name, through a ``{version}`` directory per release linked
    to it. meshstack pins each release's images (``global.hub``/``global.tag``), so what
    differs from the real release's charts is only the templates' own evolution.
    """
    istio = istio_module_dir()
    mirror = cache_dir() / "offline-istio-charts"
    mirror.mkdir(parents=True, exist_ok=True)
    for version in istio_versions(project):
        link = mirror / version
        if not link.exists():
            # Another test process may make it first: the suite runs two at a time.
            with contextlib.suppress(FileExistsError):
                link.symlink_to(istio / "manifests" / "charts")
    return {
        "meshstack:istioCharts": {
            "kind": "local",
            "path": str(mirror / "{version}"),
            "layout": "istio-source",
        },
        "meshstack:addonsSource": {
            "kind": "istio-samples",
            "path": str(istio / "samples" / "addons"),
        },
        "meshstack:gatewayApiCrds": {"kind": "local", "path": str(gateway_api_crds_dir())},
    }


PROGRAM_FILES = ("__main__.py", "Pulumi.yaml")


def stage_project(
    dest: Path, stack: str, config: Mapping[str, object], source: Path = ROOT
) -> Path:
    """A runnable copy of the Pulumi project in ``dest`` for ``stack``: the program, the
    stack files and ``Pulumi.<stack>.yaml`` with ``config`` merged in.

    Why a copy: the passphrase secrets provider writes its salt into
    ``Pulumi.<stack>.yaml``, and the offline sources are paths of this machine; neither
    belongs in the repository's stack files. The salt of an earlier staging is kept, so
    a second run decrypts the first run's secrets.
    """
    import yaml

    dest.mkdir(parents=True, exist_ok=True)
    for name in PROGRAM_FILES:
        shutil.copy2(source / name, dest / name)
    shutil.copytree(source / "stacks", dest / "stacks", dirs_exist_ok=True)
    venv = dest / ".venv"
    if not venv.exists():
        venv.symlink_to(venv_bin().parent)
    stack_file = dest / f"Pulumi.{stack}.yaml"
    previous = yaml.safe_load(stack_file.read_text()) if stack_file.is_file() else None
    original = source / f"Pulumi.{stack}.yaml"
    document = (yaml.safe_load(original.read_text()) if original.is_file() else None) or {}
    document["config"] = {**(document.get("config") or {}), **config}
    if isinstance(previous, dict):
        for key in ("encryptionsalt",):
            if key in previous:
                document[key] = previous[key]
        for key, value in (previous.get("config") or {}).items():
            if isinstance(value, dict) and "secure" in value:
                document["config"].setdefault(key, value)
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return dest
