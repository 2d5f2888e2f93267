"""What the semantic diff compares: a spec reduced to named objects, details and facts.

Every field the spec models reaches the diff through one of these, derived from the models
themselves (``model_dump``), so a field added to a model later is compared without a new
rule; ``tests/test_diff_coverage.py`` changes every field of every model and fails on one
that shows no line.

* **objects** — one per thing a reviewer names (a route, a gateway server, a sidecar scope,
  the install): compared field by field when on both sides, one line with all of it when
  added or removed;
* **details** — compared field by field only when on both sides: their coming and going is
  already a fact's line (a version's image, an add-on in the add-on list);
* **facts** — single values a reviewer reads as one line (a canary's split, an mTLS mode, an
  effective caller → callee permission, the Istio version).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from meshstack.access.authorization import Verdict
from meshstack.access.egress import who_can_reach_external
from meshstack.access.graph import who_can_call_whom
from meshstack.diff.keys import Kind, SubjectKey
from meshstack.spec.addons import IstioSampleManifests
from meshstack.spec.gateway_api import GatewayApiRelease
from meshstack.spec.install import ChartRepository, ChartSource, LocalCharts, OciRegistry
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import flattened

Objects = dict[SubjectKey, dict[str, Any]]
"""``{object: {field: value}}``: a changed object reports only the fields that changed."""

_ADDONS = ("prometheus", "grafana", "kiali", "jaeger")


def fields_of(
    model: BaseModel, *, drop: tuple[str, ...] = (), defaults: bool = False, flat: bool = False
) -> dict[str, Any]:
    """A model's fields as JSON data; with ``flat``, nested mappings become ``a.b`` keys.

    Defaults are left out unless ``defaults``: most objects read better with only what was
    set, while objects whose risk rules compare values (a sidecar's egress hosts, telemetry)
    keep them so that "the default" never hides what changed. Routes and policies keep a
    nested setting (``retries``) as one value; the install's deep settings read better flat.
    """
    data = model.model_dump(mode="json", exclude_defaults=not defaults, exclude=set(drop))
    return flattened(data) if flat else data


@dataclass
class Subjects:
    objects: Objects = field(default_factory=dict)
    details: Objects = field(default_factory=dict)
    facts: dict[SubjectKey, str] = field(default_factory=dict)


def subjects(spec: MeshSpec) -> Subjects:
    found = Subjects()
    _mesh(spec, found)
    _workloads(spec, found)
    _traffic(spec, found)
    _security(spec, found)
    _edge_and_proxies(spec, found)
    _install(spec, found)
    _addons(spec, found)
    _gateway_api(spec, found)
    return found


def _mesh(spec: MeshSpec, found: Subjects) -> None:
    found.objects[SubjectKey(Kind.MESH)] = fields_of(
        spec,
        drop=(
            "namespaces",
            "apps",
            "gateway_workloads",
            "policy",
            "install",
            "addons",
            "gateway_api",
            "multicluster",
        ),
    )
    _clusters(spec, found)
    for ns in spec.namespaces:
        found.objects[SubjectKey(Kind.NAMESPACE, ns.name)] = fields_of(ns, drop=("name",))


def _workloads(spec: MeshSpec, found: Subjects) -> None:
    for app in spec.apps:
        found.objects[SubjectKey(Kind.APP, app.name)] = fields_of(app, drop=("name", "workloads"))
        for w in app.workloads:
            key = f"{app.namespace}/{w.name}"
            found.objects[SubjectKey(Kind.WORKLOAD, key)] = fields_of(w, drop=("name", "versions"))
            for v in w.versions:
                found.facts[SubjectKey(Kind.IMAGE, f"{key}/{v.name}")] = (
                    v.image or "none (virtual machines)"
                )
                found.details[SubjectKey(Kind.VERSION, f"{key}/{v.name}")] = fields_of(
                    v, drop=("name", "image")
                )
    for gw in spec.gateway_workloads:
        found.objects[SubjectKey(Kind.GATEWAY_WORKLOAD, f"{gw.namespace}/{gw.name}")] = fields_of(
            gw
        )


def _traffic(spec: MeshSpec, found: Subjects) -> None:
    policy = spec.policy
    for vs in policy.virtual_services:
        key = f"{vs.namespace}/{vs.name}"
        found.objects[SubjectKey(Kind.VIRTUAL_SERVICE, key)] = fields_of(
            vs, drop=("name", "namespace", "http")
        )
        for i, route in enumerate(vs.http):
            found.objects[SubjectKey(Kind.ROUTE, f"{key}#{route.name or i}")] = fields_of(
                route, drop=("name",)
            )
    for canary in policy.canaries:
        # the weight has its own fact, the split, so a weight change reads as one line
        canary_key = SubjectKey(Kind.CANARY, f"{canary.namespace}/{canary.service}")
        found.objects[canary_key] = fields_of(canary, drop=("weight",))
        found.facts[replace(canary_key, part="split")] = (
            f"{canary.stable} {100 - canary.weight}% / {canary.candidate} {canary.weight}%"
        )
    for dp in policy.destination_policies:
        found.objects[SubjectKey(Kind.DESTINATION_POLICY, f"{dp.namespace}/{dp.service}")] = (
            fields_of(dp)
        )


def _security(spec: MeshSpec, found: Subjects) -> None:
    policy = spec.policy
    for pa in policy.peer_authentications:
        namespace, workload = spec.mtls_scope(pa)
        scope = "mesh" if namespace is None else namespace + (f"/{workload}" if workload else "")
        found.facts[SubjectKey(Kind.MTLS, scope)] = pa.mode.value
        for port, mode in sorted(pa.port_modes.items()):
            found.facts[SubjectKey(Kind.MTLS, f"{scope}:{port}")] = mode.value
        found.details[SubjectKey(Kind.MTLS_POLICY, scope)] = fields_of(
            pa, drop=("mode", "port_modes")
        )
    for ns in policy.default_deny_namespaces:
        found.facts[SubjectKey(Kind.DEFAULT_DENY, ns)] = "on"
    for ap in policy.authorization_policies:
        found.objects[SubjectKey(Kind.AUTHORIZATION, f"{ap.namespace}/{ap.name}")] = fields_of(ap)
    for jwt in policy.jwt_rules:
        found.objects[SubjectKey(Kind.JWT, f"{jwt.namespace}/{jwt.name}")] = fields_of(jwt)
    for call in (*who_can_call_whom(spec), *who_can_reach_external(spec)):
        if call.verdict is not Verdict.DENIED:
            found.facts[SubjectKey(Kind.ACCESS, f"{call.caller} → {call.callee}")] = (
                call.verdict.value
            )


def _edge_and_proxies(spec: MeshSpec, found: Subjects) -> None:
    policy = spec.policy
    for gw in policy.gateways:
        key = SubjectKey(Kind.GATEWAY, f"{gw.namespace}/{gw.name}")
        found.objects[key] = fields_of(gw, drop=("name", "namespace", "servers"))
        for i, server in enumerate(gw.servers):
            twice = sum(s.port == server.port for s in gw.servers) > 1
            part = f"server :{server.port}" + (f"#{i}" if twice else "")
            found.objects[replace(key, part=part)] = fields_of(server, drop=("port",))
    for ext in policy.external_services:
        found.objects[SubjectKey(Kind.EGRESS, f"{ext.namespace}/{ext.name}")] = fields_of(ext)
    for sidecar in policy.sidecars:
        found.objects[SubjectKey(Kind.SIDECAR, f"{sidecar.namespace}/{sidecar.name}")] = fields_of(
            sidecar, drop=("name", "namespace"), defaults=True
        )
    if policy.telemetry is not None:
        found.objects[SubjectKey(Kind.TELEMETRY)] = fields_of(policy.telemetry, defaults=True)
    for limit in policy.rate_limits:
        found.objects[SubjectKey(Kind.RATE_LIMIT, f"{limit.namespace}/{limit.name}")] = fields_of(
            limit
        )
    found.objects[SubjectKey(Kind.SLO_RULES)] = fields_of(policy.slo_rules, defaults=True)
    for slo in policy.slos:
        # Defaults kept: the risk rules compare the objective and the alerts by value.
        key = SubjectKey(Kind.SLO, f"{slo.namespace}/{slo.service}", part=slo.name)
        found.objects[key] = fields_of(
            slo, drop=("name", "namespace", "service"), defaults=True, flat=True
        )


def _clusters(spec: MeshSpec, found: Subjects) -> None:
    """The mesh's clusters, one subject each (its network, region, how it is reached, its
    intermediate CA), and the mesh-wide settings; each cluster's remote secrets follow
    from the list, so a cluster added or removed is also a remote secret made or dropped."""
    mc = spec.multicluster
    if mc is None:
        return
    found.objects[SubjectKey(Kind.MULTI_CLUSTER)] = fields_of(
        mc, drop=("clusters",), defaults=True, flat=True
    )
    for cluster in mc.clusters:
        found.objects[SubjectKey(Kind.CLUSTER, cluster.name)] = fields_of(
            cluster, drop=("name",), flat=True
        )


def _install(spec: MeshSpec, found: Subjects) -> None:
    install = spec.install
    if install is None:
        return
    found.facts[SubjectKey(Kind.ISTIO_VERSION)] = install.version
    found.facts[SubjectKey(Kind.ISTIOD_REVISIONS)] = ", ".join(
        f"{cp.name}@{install.version_of(cp.version)}" for cp in install.control_planes
    )
    for tag in install.revision_tags:
        found.facts[SubjectKey(Kind.REVISION_TAG, tag.name)] = tag.revision
    # Where charts come from is a kind and an address; a local path is this machine's
    # business (``meshstack.locations``), not a change to the mesh.
    found.facts[SubjectKey(Kind.ISTIO_CHARTS)] = _chart_source(install.chart_source)
    found.objects[SubjectKey(Kind.INSTALL)] = fields_of(
        install,
        drop=(
            "version",
            "control_planes",
            "revision_tags",
            "mesh_config",
            "gateways",
            "chart_source",
        ),
        flat=True,
    )
    found.objects[SubjectKey(Kind.MESH_CONFIG)] = fields_of(
        install.mesh_config, defaults=True, flat=True
    )
    for cp in install.control_planes:
        found.details[SubjectKey(Kind.ISTIOD, cp.name)] = fields_of(cp, flat=True)
    for gateway in install.gateways:
        scope = f"{gateway.namespace}/{gateway.name}"
        found.objects[SubjectKey(Kind.GATEWAY_INSTALL, scope)] = fields_of(gateway, flat=True)


def _chart_source(source: ChartSource | None) -> str:
    if isinstance(source, LocalCharts):
        return f"{source.kind} files (layout {source.layout.value})"
    if isinstance(source, ChartRepository | OciRegistry):
        return f"{source.kind} {source.url}"
    return "none"


def _gateway_api(spec: MeshSpec, found: Subjects) -> None:
    crds = spec.gateway_api
    found.objects[SubjectKey(Kind.GATEWAY_API_CRDS)] = fields_of(crds, drop=("source",), flat=True)
    source = crds.source
    found.facts[SubjectKey(Kind.GATEWAY_API_FROM)] = (
        f"{source.kind} {source.url or 'the project release'}"
        if isinstance(source, GatewayApiRelease)
        else f"{source.kind} files"
    )


def _addons(spec: MeshSpec, found: Subjects) -> None:
    addons = spec.addons
    found.facts[SubjectKey(Kind.ADDONS)] = ", ".join(addons.enabled) or "none"
    found.facts[SubjectKey(Kind.ADDONS_FROM)] = (
        f"{addons.source.kind} (Istio's sample manifests, local files)"
        if isinstance(addons.source, IstioSampleManifests)
        else addons.source.kind
    )
    found.objects[SubjectKey(Kind.ADDON_SETTINGS)] = fields_of(
        addons, drop=(*_ADDONS, "source"), flat=True
    )
    for name in _ADDONS:
        addon = getattr(addons, name)
        if addon is not None:
            found.details[SubjectKey(Kind.ADDON, name)] = fields_of(addon, flat=True)
