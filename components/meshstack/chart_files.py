"""Check that local chart and manifest sources really hold what a stack installs.

This reads the file system, so it lives outside the pure validator; the install
component and ``meshstack validate`` run it before anything is registered.
"""

from __future__ import annotations

from pathlib import Path

from meshstack.render.install import istio_releases
from meshstack.spec.addons import Addons, IstioSampleManifests
from meshstack.spec.gateway_api import GatewayApiCrdFiles
from meshstack.spec.install import VERSION_PLACEHOLDER, IstioInstall, LocalCharts
from meshstack.spec.mesh import MeshSpec
from meshstack.validation.problems import Problem


def on_disk(path: str, base_dir: Path | None) -> Path:
    """``path``, taken from ``base_dir`` (the Pulumi project directory) when relative."""
    found = Path(path)
    return base_dir / found if not found.is_absolute() and base_dir is not None else found


def source_file_problems(spec: MeshSpec, base_dir: Path | None = None) -> list[Problem]:
    """Every local source the stack reads that is missing something: Istio's charts, the
    add-ons' sample manifests and the Gateway API's CRDs."""
    charts = local_chart_problems(spec.install, base_dir) if spec.install is not None else []
    return [
        *charts,
        *sample_manifest_problems(spec.addons, base_dir),
        *gateway_api_source_problems(spec, base_dir),
    ]


GATEWAY_API_KINDS = ("gateways", "httproutes", "referencegrants")
"""The CRDs meshstack's objects need from a local Gateway API directory."""


def gateway_api_crd_files(root: Path) -> list[Path]:
    """The YAML files of a local Gateway API directory, in name order (a kustomization
    file is build tooling, not a manifest)."""
    return sorted(f for f in root.glob("*.yaml") if f.name != "kustomization.yaml")


def gateway_api_source_problems(spec: MeshSpec, base_dir: Path | None = None) -> list[Problem]:
    """A local Gateway API directory that lacks a CRD the stack's objects need."""
    crds = spec.gateway_api
    if not (spec.uses_gateway_api() and crds.install) or not isinstance(
        crds.source, GatewayApiCrdFiles
    ):
        return []
    root = on_disk(crds.source.path, base_dir)
    if not root.is_dir():
        return [Problem("gateway_api.source.path", f"{str(root)!r} is not a directory")]
    names = {f.name for f in gateway_api_crd_files(root)}
    return [
        Problem(
            "gateway_api.source.path",
            f"no gateway.networking.k8s.io_{kind}.yaml in {str(root)!r} (expected the "
            "release's config/crd/standard directory)",
        )
        for kind in GATEWAY_API_KINDS
        if f"gateway.networking.k8s.io_{kind}.yaml" not in names
    ]


def sample_manifest_problems(addons: Addons, base_dir: Path | None = None) -> list[Problem]:
    """One problem per enabled add-on whose ``<addon>.yaml`` the samples directory lacks."""
    source = addons.source
    if not isinstance(source, IstioSampleManifests):
        return []
    root = on_disk(source.path, base_dir)
    if not root.is_dir():
        return [Problem("addons.source.path", f"{str(root)!r} is not a directory")]
    return [
        Problem("addons.source.path", f"no manifest for {name!r} at {str(root / f'{name}.yaml')!r}")
        for name in addons.enabled
        if not (root / f"{name}.yaml").is_file()
    ]


def local_chart_problems(install: IstioInstall, base_dir: Path | None = None) -> list[Problem]:
    """One problem per chart the install uses that is missing from its local directory.

    Relative paths are taken from ``base_dir`` (the Pulumi project directory)."""
    source = install.chart_source
    if not isinstance(source, LocalCharts):
        return []
    root = on_disk(source.path, base_dir)
    if VERSION_PLACEHOLDER not in source.path and not root.is_dir():
        return [Problem("install.chart_source.path", f"{str(root)!r} is not a directory")]
    problems = []
    for release in istio_releases(install):
        chart_dir = on_disk(release.chart.chart, base_dir)
        if not (chart_dir / "Chart.yaml").is_file():
            problems.append(
                Problem(
                    "install.chart_source.path",
                    f"no chart for release {release.name!r} at {str(chart_dir)!r} "
                    f"(layout {source.layout.value!r})",
                )
            )
    return problems
