"""Check that local chart and manifest sources really hold what a stack installs.

This reads the file system, so it lives outside the pure validator; the install
component and ``meshstack validate`` run it before anything is registered.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from meshstack.locations import expand, unset_variables
from meshstack.render import stack_releases
from meshstack.render.install import istio_releases
from meshstack.spec.addons import Addons, IstioSampleManifests
from meshstack.spec.gateway_api import GatewayApiCrdFiles, GatewayApiRelease
from meshstack.spec.install import VERSION_PLACEHOLDER, ChartLayout, IstioInstall, LocalCharts
from meshstack.spec.mesh import MeshSpec
from meshstack.validation.problems import Problem


def on_disk(path: str, base_dir: Path | None) -> Path:
    """``path`` with its ``${NAME}`` references expanded (``meshstack.locations``), taken
    from ``base_dir`` (the Pulumi project directory) when relative."""
    found = Path(expand(path))
    return base_dir / found if not found.is_absolute() and base_dir is not None else found


def source_file_problems(spec: MeshSpec, base_dir: Path | None = None) -> list[Problem]:
    """Every local source the stack reads that is missing something: Istio's charts, the
    add-ons' sample manifests and the Gateway API's CRDs."""
    unset = _unset_location_problems(spec)
    if unset:
        return unset
    charts = local_chart_problems(spec.install, base_dir) if spec.install is not None else []
    return [
        *charts,
        *sample_manifest_problems(spec.addons, base_dir),
        *gateway_api_source_problems(spec, base_dir),
    ]


def _local_paths(spec: MeshSpec) -> list[tuple[str, str]]:
    """Every local source path the stack names, with its field path."""
    found = []
    if spec.install is not None and isinstance(spec.install.chart_source, LocalCharts):
        found.append(("install.chart_source.path", spec.install.chart_source.path))
    if isinstance(spec.addons.source, IstioSampleManifests):
        found.append(("addons.source.path", spec.addons.source.path))
    if isinstance(spec.gateway_api.source, GatewayApiCrdFiles):
        found.append(("gateway_api.source.path", spec.gateway_api.source.path))
    return found


def _unset_location_problems(spec: MeshSpec) -> list[Problem]:
    return [
        Problem(
            where,
            f"{path!r} names {', '.join('$' + name for name in missing)}, which is not set "
            "here: export it to the directory it stands for (the committed config stays "
            "the same on every machine)",
        )
        for where, path in _local_paths(spec)
        if (missing := unset_variables(path))
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
    if not spec.installs_gateway_api_crds or not isinstance(crds.source, GatewayApiCrdFiles):
        return []
    root = on_disk(crds.source.path, base_dir)
    if not root.is_dir():
        return [Problem("gateway_api.source.path", f"{str(root)!r} is not a directory")]
    files = gateway_api_crd_files(root)
    names = {f.name for f in files}
    missing = [
        Problem(
            "gateway_api.source.path",
            f"no gateway.networking.k8s.io_{kind}.yaml in {str(root)!r} (expected the "
            "release's config/crd/standard directory)",
        )
        for kind in GATEWAY_API_KINDS
        if f"gateway.networking.k8s.io_{kind}.yaml" not in names
    ]
    bundles = sorted({v for f in files for v in _BUNDLE_VERSION.findall(f.read_text())})
    if bundles and bundles != [f"v{crds.version}"]:
        missing.append(
            Problem(
                "gateway_api.version",
                f"the CRDs in {str(root)!r} are Gateway API {', '.join(bundles)} (their "
                f"bundle-version), not {crds.version!r}: set version to what the directory "
                "holds, or point the path at that release's config/crd/standard",
            )
        )
    return missing


_BUNDLE_VERSION = re.compile(r"gateway\.networking\.k8s\.io/bundle-version:\s*['\"]?([^\s'\"]+)")
"""The release a Gateway API CRD file says it belongs to (an annotation every one carries)."""


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
        chart_file = chart_dir / "Chart.yaml"
        if not chart_file.is_file():
            problems.append(
                Problem(
                    "install.chart_source.path",
                    f"no chart for release {release.name!r} at {str(chart_dir)!r} "
                    f"(layout {source.layout.value!r})",
                )
            )
            continue
        found = _chart_version(chart_file)
        wanted = release.chart.release
        if source.layout is ChartLayout.RELEASE and found not in (None, wanted):
            problems.append(
                Problem(
                    "install.chart_source.path",
                    f"the chart for release {release.name!r} at {str(chart_dir)!r} is version "
                    f"{found!r}, not {wanted!r}: pull that version's charts (or write "
                    f"{VERSION_PLACEHOLDER} in the path, one directory per version)",
                )
            )
    return problems


def _chart_version(chart_file: Path) -> str | None:
    """A chart's ``version`` (a released chart's is the Istio release; the source tree's
    charts carry a placeholder, which is why only the release layout is compared)."""
    try:
        meta = yaml.safe_load(chart_file.read_text())
    except yaml.YAMLError:
        return None
    version = meta.get("version") if isinstance(meta, dict) else None
    return str(version) if version is not None else None


def _address(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    default = 80 if parts.scheme == "http" else 443
    return parts.hostname, parts.port or default


def unreachable_source_problems(spec: MeshSpec, timeout: float = 5.0) -> list[Problem]:
    """Every remote chart or manifest source the stack reads that this machine cannot
    connect to, one line each naming the chart, the address and the offline setting.

    Run by the program before anything is registered: without it an offline ``pulumi
    preview`` ends in the provider's "no such host" and a page of gRPC traceback.
    """
    wanted: dict[tuple[str, int], tuple[str, str, str]] = {}
    istio = istio_releases(spec.install, spec.trust) if spec.install else []
    istio_names = {release.name for release in istio}
    from_samples = isinstance(spec.addons.source, IstioSampleManifests)
    for release in stack_releases(spec):
        if from_samples and release.name not in istio_names:
            continue  # the add-ons come from files on disk, not from their charts
        chart = release.chart
        url = chart.repository or (chart.chart if chart.chart.startswith("oci://") else None)
        address = _address(url) if url else None
        if url is None or address is None or address in wanted:
            continue
        setting = (
            "meshstack:istioCharts (kind local, path to a mirror; ${NAME} in it stands for "
            "a directory this machine names)"
            if release.name in istio_names
            else "meshstack:addonsSource (kind istio-samples, path to samples/addons)"
        )
        wanted[address] = (f"chart {chart.chart!r}", url, setting)
    crds = spec.gateway_api
    if spec.installs_gateway_api_crds and isinstance(crds.source, GatewayApiRelease):
        url = crds.source.manifest_url(crds.version)
        address = _address(url)
        if address is not None and address not in wanted:
            wanted[address] = (
                "the Gateway API's CRDs",
                url,
                "meshstack:gatewayApiCrds (kind local, path to config/crd/standard)",
            )
    problems = []
    for (host, port), (what, url, setting) in wanted.items():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as error:
            reason = error.strerror or type(error).__name__
            problems.append(
                Problem(
                    setting.split(" ", 1)[0],
                    f"{what} comes from {url}, which this machine cannot reach ({host}:{port}: "
                    f"{reason}); offline, set {setting}",
                )
            )
    return problems
