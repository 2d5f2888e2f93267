"""Rules for the Istio install and the add-ons: versions, revisions, chart source, wiring."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshstack.model import model_of
from meshstack.spec.addons import (
    JAEGER_COLLECTOR_SERVICE,
    SAMPLE_MANIFESTS_NAMESPACE,
    IstioSampleManifests,
)
from meshstack.spec.install import (
    BASE_TYPED_KEYS,
    CNI_TYPED_KEYS,
    GATEWAY_TYPED_KEYS,
    ISTIOD_TYPED_KEYS,
    RESOURCE_SCOPE_SINCE,
    VERSION_PLACEHOLDER,
    ZTUNNEL_TYPED_KEYS,
    ChartRepository,
    IstioInstall,
    LocalCharts,
    OciRegistry,
    ServiceType,
    TracingProvider,
    version_key,
)
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import flattened
from meshstack.spec.refs import ServiceKey
from meshstack.spec.workloads import SidecarInjection
from meshstack.validation.problems import (
    Problem,
    declared_twice,
    suggestion,
    undeclared_namespace,
)


def install_problems(spec: MeshSpec) -> Iterator[Problem]:
    install = spec.install
    if install is None:
        return
    yield from _chart_source_problems(install)
    yield from _control_plane_problems(install)
    yield from _crd_stack_problems(install, spec.stack)
    yield from _overlap_problems("install.base_values", install.base_values, BASE_TYPED_KEYS)
    yield from _overlap_problems(
        "install.ztunnel_values", install.ztunnel_values, ZTUNNEL_TYPED_KEYS
    )
    if install.cni is not None:
        yield from _overlap_problems("install.cni.values", install.cni.values, CNI_TYPED_KEYS)
    revisions = {cp.revision for cp in install.control_planes if cp.revision is not None}
    targets = revisions | {tag.name for tag in install.revision_tags}
    yield from _revision_problems(spec, install, revisions, targets)
    yield from _gateway_problems(spec, install, targets)
    yield from _telemetry_problems(spec, install)


def _chart_source_problems(install: IstioInstall) -> Iterator[Problem]:
    source = install.chart_source
    path = "install.chart_source"
    if source is None:
        yield Problem(
            path,
            "no chart source: use ChartRepository() for Istio's official repository, "
            "OciRegistry(url='oci://...') for a registry mirror, or LocalCharts(path=...)",
        )
    elif isinstance(source, ChartRepository) and not source.url.startswith("https://"):
        yield Problem(
            f"{path}.url",
            f"{source.url!r} is not an https:// chart repository URL (charts fetched in clear "
            "can be altered on the way): write its https:// address, or use "
            "OciRegistry(url='oci://...') or LocalCharts(path=...) for a mirror",
        )
    elif isinstance(source, OciRegistry) and not source.url.startswith("oci://"):
        yield Problem(
            f"{path}.url", f"{source.url!r} is not an OCI reference; expected oci://host/path"
        )


def _control_plane_problems(install: IstioInstall) -> Iterator[Problem]:
    if not install.control_planes:
        yield Problem(
            "install.control_planes",
            "an install needs at least one control plane (istiod): add ControlPlane()",
        )
    seen: set[str] = set()
    for cp in install.control_planes:
        path = f"install.control_planes[{cp.name}]"
        if cp.name in seen:
            yield Problem(
                f"{path}.revision",
                f"two control planes are both {cp.name!r}: give each its own revision "
                "(at most one may have none), e.g. revision='canary'",
            )
        seen.add(cp.name)
        version = install.version_of(cp.version)
        if version != install.version:
            if cp.revision is None:
                yield Problem(
                    f"{path}.version",
                    f"the revision-less control plane runs the install's version "
                    f"{install.version!r}, not {version!r}; run another version as a named "
                    "revision (a control-plane canary)",
                )
            elif _comparable(version, install.version) and version_key(version) > version_key(
                install.version
            ):
                yield Problem(
                    f"{path}.version",
                    f"{version!r} is newer than install.version {install.version!r}, whose base "
                    "chart installs the CRDs: raise install.version first, then add the canary",
                )
            source = install.chart_source
            if isinstance(source, LocalCharts) and VERSION_PLACEHOLDER not in source.path:
                yield Problem(
                    f"{path}.version",
                    "a local chart directory holds one Istio version; a control plane at "
                    f"{version!r} needs a chart repository, an OCI registry or a local path "
                    f"with {VERSION_PLACEHOLDER} (one directory per version)",
                )
        if "pilot" in cp.values:
            yield Problem(
                f"{path}.values.pilot",
                "Istio 1.24 and later read istiod values at the top level and silently ignore "
                "'pilot.*': move these keys up (e.g. values={'env': ...})",
            )
        yield from _overlap_problems(f"{path}.values", cp.values, ISTIOD_TYPED_KEYS)
        if cp.autoscaling and cp.autoscaling.min_replicas > cp.autoscaling.max_replicas:
            yield Problem(
                f"{path}.autoscaling.max_replicas",
                f"{cp.autoscaling.max_replicas} is below min_replicas "
                f"{cp.autoscaling.min_replicas}: raise max_replicas to at least "
                f"{cp.autoscaling.min_replicas}, or lower min_replicas",
            )


def _crd_stack_problems(install: IstioInstall, stack: str | None = None) -> Iterator[Problem]:
    """A CRD layer stack needs charts that split by resource scope, and another stack."""
    if install.crd_stack is None:
        return
    if _comparable(install.version) and version_key(install.version) < version_key(
        RESOURCE_SCOPE_SINCE
    ):
        yield Problem(
            "install.crd_stack",
            f"Istio {install.version}'s charts cannot leave the CRDs to another stack "
            f"(global.resourceScope came with {RESOURCE_SCOPE_SINCE}): raise install.version "
            f"to {RESOURCE_SCOPE_SINCE} or later, or drop crd_stack",
        )
    if stack is not None and install.crd_stack == stack:
        yield Problem(
            "install.crd_stack",
            f"{stack!r} is this stack: name the other stack of the project that holds the CRD "
            f"layer (its config says meshstack:crdsOf: {stack}), e.g. '{stack}-crds'",
        )


def _comparable(*versions: str) -> bool:
    try:
        for v in versions:
            version_key(v)
    except ValueError:
        return False
    return True


def _overlap_problems(
    path: str, values: Mapping[str, Any], typed: Mapping[str, str]
) -> Iterator[Problem]:
    """An escape-hatch value at, under or above a chart key a typed field sets: the chart
    would get one of the two silently (values are merged over the typed ones)."""
    for leaf in flattened(values):
        for key, field in typed.items():
            if leaf == key or leaf.startswith(f"{key}.") or key.startswith(f"{leaf}."):
                yield Problem(
                    f"{path}.{leaf}",
                    f"chart value {key!r} is set by {field}: set it there; values is for "
                    "chart values meshstack does not type",
                )
                break


def _revision_problems(
    spec: MeshSpec, install: IstioInstall, revisions: set[str], targets: set[str]
) -> Iterator[Problem]:
    has_default_plane = any(cp.revision is None for cp in install.control_planes)
    if install.default_revision is not None:
        if has_default_plane:
            yield Problem(
                "install.default_revision",
                "there is already a revision-less control plane; default_revision only "
                "applies when every control plane has a revision",
            )
        elif install.default_revision not in revisions:
            yield Problem(
                "install.default_revision",
                f"no control plane has revision {install.default_revision!r}"
                + suggestion(install.default_revision, revisions, "revision"),
            )
    seen_tags: set[str] = set()
    for tag in install.revision_tags:
        path = f"install.revision_tags[{tag.name}]"
        if tag.name in seen_tags:
            yield declared_twice(f"{path}.name", f"revision tag {tag.name!r}")
        seen_tags.add(tag.name)
        if tag.name in revisions:
            yield Problem(f"{path}.name", f"{tag.name!r} is already a revision name")
        if tag.revision not in revisions:
            yield Problem(
                f"{path}.revision",
                f"no control plane has revision {tag.revision!r}"
                + suggestion(tag.revision, revisions, "revision"),
            )
    serves_default = has_default_plane or install.default_revision is not None
    for ns in spec.namespaces:
        path = f"namespaces[{ns.name}]"
        if ns.injection is SidecarInjection.REVISION and ns.revision and ns.revision not in targets:
            yield Problem(
                f"{path}.revision",
                f"no control-plane revision or revision tag {ns.revision!r}"
                + suggestion(ns.revision, targets, "known revision and tag name"),
            )
        if ns.injection is SidecarInjection.ENABLED and not serves_default:
            yield Problem(
                f"{path}.injection",
                "istio-injection=enabled needs a default control plane: add a revision-less "
                "control plane, set install.default_revision, or use injection=REVISION",
            )


def _gateway_problems(
    spec: MeshSpec, install: IstioInstall, targets: set[str]
) -> Iterator[Problem]:
    namespaces = {ns.name: ns for ns in spec.namespaces}
    installed: dict[str, str] = {}
    for gw in install.gateways:
        path = f"install.gateways[{gw.name}]"
        if gw.name in installed:
            yield declared_twice(f"{path}.name", f"installed gateway {gw.name!r}")
        installed[gw.name] = gw.namespace
        if install.version_of(gw.version) != install.version:
            yield Problem(
                f"{path}.version",
                f"{gw.version!r} differs from install.version {install.version!r}: every chart "
                "but a canary control plane is at the install's version; remove version (it "
                "defaults to the install's)",
            )
        if gw.revision is not None and gw.revision not in targets:
            yield Problem(
                f"{path}.revision",
                f"no control-plane revision or revision tag {gw.revision!r}"
                + suggestion(gw.revision, targets, "known revision and tag name"),
            )
        ns = namespaces.get(gw.namespace)
        if ns is None and gw.namespace == install.namespace:
            # The install makes its own namespace; the chart's pods ask for injection
            # themselves (sidecar.istio.io/inject), which istiod's webhook honours there.
            pass
        elif ns is None:
            yield undeclared_namespace(
                f"{path}.namespace",
                gw.namespace,
                namespaces,
                why="the gateway chart's pods use 'image: auto' and need a namespace with "
                "sidecar injection",
            )
        elif ns.injection is SidecarInjection.DISABLED:
            yield Problem(
                f"{path}.namespace",
                f"namespace {gw.namespace!r} disables injection, so the gateway's 'image: auto' "
                "is never filled in: enable injection there",
            )
        if gw.load_balancer_ip is not None and gw.service_type is not ServiceType.LOAD_BALANCER:
            yield Problem(
                f"{path}.load_balancer_ip",
                f"only a LoadBalancer Service asks for an address, and this one is "
                f"{gw.service_type.value}: set service_type=ServiceType.LOAD_BALANCER, or "
                "remove load_balancer_ip",
            )
        ports = [p.port for p in gw.ports]
        if len(ports) != len(set(ports)):
            yield Problem(f"{path}.ports", f"duplicate service ports {sorted(ports)}")
        yield from _overlap_problems(f"{path}.values", gw.values, GATEWAY_TYPED_KEYS)
    if install.cni is not None and install.version_of(install.cni.version) != install.version:
        yield Problem(
            "install.cni.version",
            f"{install.cni.version!r} differs from install.version {install.version!r}: "
            "istio-cni runs the install's version; remove version (it defaults to it)",
        )
    by_name = {g.name: g for g in install.gateways}
    for workload in spec.gateway_workloads:
        path = f"gateway_workloads[{workload.name}]"
        deployed = by_name.get(workload.name)
        if deployed is None:
            yield Problem(
                path,
                f"the install deploys no gateway {workload.name!r}: name one it deploys, or "
                "add it to install.gateways" + suggestion(workload.name, by_name, "gateway"),
            )
            continue
        if deployed.namespace != workload.namespace:
            yield Problem(
                f"{path}.namespace",
                f"the install deploys {deployed.name!r} in {deployed.namespace!r}, not {workload.namespace!r}",
            )
        if workload.selector.get("istio") != deployed.selector_label:
            yield Problem(
                f"{path}.selector",
                f"the gateway chart labels {deployed.name!r} pods istio={deployed.selector_label!r}; "
                f"got {workload.selector}",
            )


def _telemetry_problems(spec: MeshSpec, install: IstioInstall) -> Iterator[Problem]:
    telemetry = spec.policy.telemetry
    tracing = install.mesh_config.tracing
    if tracing is not None:
        yield from _tracing_service_problems(spec, tracing)
    if telemetry is None or telemetry.tracing_provider is None:
        return
    declared = tracing.name if tracing else None
    if telemetry.tracing_provider != declared:
        yield Problem(
            "policy.telemetry.tracing_provider",
            f"mesh config declares no tracing provider {telemetry.tracing_provider!r}; "
            + (f"declared: {declared!r}" if declared else "set install.mesh_config.tracing"),
        )


def _tracing_service_problems(spec: MeshSpec, tracing: TracingProvider) -> Iterator[Problem]:
    """A collector address in the cluster that names nothing the stack runs: every proxy
    would send its spans to a host that does not resolve (Istio accepts any name).

    Only the cluster's own names are judged, and only where the stack knows what runs: the
    namespaces it declares, and the add-ons' Jaeger. A collector outside the cluster, or in
    a namespace another tool manages, is the operator's to know."""
    path = "install.mesh_config.tracing.service"
    host = tracing.service.rpartition("/")[2]
    labels = host.split(".")
    if len(labels) < 3 or labels[2] != "svc":
        return
    name, namespace, domain = labels[0], labels[1], ".".join(labels[3:])
    if domain != spec.cluster_domain:
        yield Problem(
            path,
            f"{host!r} is not in the cluster's domain {spec.cluster_domain!r} "
            f"(MeshSpec.cluster_domain): write '{name}.{namespace}.svc.{spec.cluster_domain}'",
        )
        return
    key = ServiceKey(namespace, name)
    if namespace == spec.addons.namespace and name == JAEGER_COLLECTOR_SERVICE:
        if spec.addons.jaeger is None:
            yield Problem(
                path,
                f"{host!r} is the Jaeger add-on's collector, and addons.jaeger is not "
                "enabled: enable it, or point the service at the collector you run",
            )
    elif namespace in {ns.name for ns in spec.namespaces}:
        services = model_of(spec).hosts.services
        if key not in services:
            yield Problem(
                path,
                f"namespace {namespace!r} declares no service {name!r}, so every proxy's "
                "spans would go nowhere"
                + suggestion(
                    name, (s.name for s in services if s.namespace == namespace), "service"
                ),
            )


def addon_problems(spec: MeshSpec) -> Iterator[Problem]:
    addons = spec.addons
    if addons.prometheus is None:
        for name, addon in (("grafana", addons.grafana), ("kiali", addons.kiali)):
            if addon is not None:
                yield Problem(
                    f"addons.{name}",
                    f"{name} reads the mesh's metrics from Prometheus: enable addons.prometheus",
                )
    if (
        addons.jaeger is not None
        and spec.install is not None
        and spec.install.mesh_config.tracing is None
    ):
        yield Problem(
            "addons.jaeger",
            "nothing sends spans to Jaeger: set install.mesh_config.tracing (a TracingProvider)",
        )
    declared = {ns.name for ns in spec.namespaces}
    if spec.install is not None and addons.namespace not in {spec.install.namespace, *declared}:
        yield Problem(
            "addons.namespace",
            f"namespace {addons.namespace!r} is neither the install's namespace nor declared",
        )
    if (
        isinstance(addons.source, IstioSampleManifests)
        and addons.namespace != SAMPLE_MANIFESTS_NAMESPACE
    ):
        yield Problem(
            "addons.namespace",
            f"Istio's sample add-on manifests are written for {SAMPLE_MANIFESTS_NAMESPACE!r}, "
            f"not {addons.namespace!r}: use that namespace or the add-on charts",
        )


def install_only_problems(install: IstioInstall) -> list[Problem]:
    """The rules that need nothing but the install itself (for the standalone component)."""
    return [
        *_chart_source_problems(install),
        *_control_plane_problems(install),
        *_crd_stack_problems(install),
    ]
