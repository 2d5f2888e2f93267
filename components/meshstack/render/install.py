"""The Istio install as Helm releases: base → (cni) → istiod per revision → gateways."""

from __future__ import annotations

import posixpath
from typing import Any

from meshstack.k8s import K8sObject, drop_none
from meshstack.locations import expand
from meshstack.render.charts import ChartRef, HelmRelease, deep_merge
from meshstack.render.workloads import resources_values
from meshstack.spec.install import (
    VERSION_PLACEHOLDER,
    Autoscaling,
    ChartLayout,
    ChartRepository,
    CniInstall,
    ControlPlane,
    GatewayInstall,
    IstioInstall,
    LocalCharts,
    MeshMembership,
    OciRegistry,
)
from meshstack.spec.trust import DEFAULT_TRUST, TrustDomain

SOURCE_TREE_PATHS = {
    "base": "base",
    "istiod": "istio-control/istio-discovery",
    "gateway": "gateway",
    "cni": "istio-cni",
    "ztunnel": "ztunnel",
}
"""Where Istio's source tree (``manifests/charts``) keeps each released chart."""

BASE_RELEASE = "istio-base"
"""The release of the base chart (CRDs): every Istio custom resource waits for it."""


def chart_ref(install: IstioInstall, chart: str, version: str) -> ChartRef:
    """Locate ``chart`` (a released chart name) in the install's chart source."""
    source = install.chart_source
    if isinstance(source, LocalCharts):
        sub = SOURCE_TREE_PATHS[chart] if source.layout is ChartLayout.ISTIO_SOURCE else chart
        root = expand(source.path).replace(VERSION_PLACEHOLDER, version)
        return ChartRef(chart=posixpath.join(root, sub), version=None, release=version)
    if isinstance(source, OciRegistry):
        return ChartRef(chart=f"{source.url.rstrip('/')}/{chart}", version=version)
    repository = source.url if isinstance(source, ChartRepository) else None
    return ChartRef(chart=chart, version=version, repository=repository)


def istiod_release_name(cp: ControlPlane) -> str:
    return f"istiod-{cp.revision}" if cp.revision else "istiod"


def _autoscaling_values(scaling: Autoscaling | None, replicas: int) -> dict[str, Any]:
    if scaling is None:
        return {"autoscaleEnabled": False, "replicaCount": replicas}
    return {
        "autoscaleEnabled": True,
        "autoscaleMin": scaling.min_replicas,
        "autoscaleMax": scaling.max_replicas,
        "replicaCount": max(replicas, scaling.min_replicas),
        "cpu": {"targetAverageUtilization": scaling.target_cpu_percent},
    }


PROMETHEUS_PROVIDER = "prometheus"
"""Istio's built-in extension provider for the proxies' Prometheus metrics."""


def mesh_config_values(install: IstioInstall, trust: TrustDomain = DEFAULT_TRUST) -> dict[str, Any]:
    """istiod's mesh config. The trust domain is the one every principal meshstack writes
    is rooted in: istiod must issue identities in it, or every ALLOW rule naming a
    service account matches no caller."""
    mesh = install.mesh_config
    values: dict[str, Any] = {
        "trustDomain": trust.name,
        "accessLogFile": mesh.access_log_file or "",
        "accessLogEncoding": mesh.access_log_encoding.value,
        "outboundTrafficPolicy": {"mode": mesh.outbound_traffic_policy.value},
        "enableTracing": mesh.tracing is not None,
        # The chart names Prometheus the default metrics provider only while the values
        # name no default provider at all: naming the tracing one below would silently
        # take every proxy's metrics away, so Prometheus is named here, always.
        "defaultProviders": {"metrics": [PROMETHEUS_PROVIDER]},
    }
    if mesh.tracing is not None:
        values["extensionProviders"] = [
            {
                "name": mesh.tracing.name,
                "opentelemetry": {"service": mesh.tracing.service, "port": mesh.tracing.port},
            }
        ]
        values["defaultProviders"]["tracing"] = [mesh.tracing.name]
    if trust.aliases:
        values["trustDomainAliases"] = list(trust.aliases)
    return values


def image_values(install: IstioInstall, version: str) -> dict[str, Any]:
    """``global.hub``/``global.tag``: the release's images, never a chart's own default."""
    return {"hub": install.image_hub, "tag": version}


def _global_values(install: IstioInstall, version: str) -> dict[str, Any]:
    proxy_resources = resources_values(install.mesh_config.default_proxy_resources)
    return drop_none(
        {
            "istioNamespace": install.namespace,
            **image_values(install, version),
            "proxy": {"resources": proxy_resources} if proxy_resources else None,
        }
    )


MESH_LAYER = "namespace"
CRD_LAYER = "cluster"
"""The base chart's ``global.resourceScope`` in a mesh stack whose CRDs live in a CRD
layer stack (``IstioInstall.crd_stack``), and in that CRD layer stack."""


def base_values(install: IstioInstall, scope: str = MESH_LAYER) -> dict[str, Any]:
    """The base chart's values; with a ``crd_stack``, ``scope`` says which half of the
    chart this stack renders (its namespaced objects, or the cluster-scoped CRD layer)."""
    values: dict[str, Any] = {
        "global": {"istioNamespace": install.namespace},
        "base": {"validationFailurePolicy": install.validation_failure_policy.value},
    }
    if install.crd_stack is not None:
        values["global"]["resourceScope"] = scope
    if install.membership is not None and install.membership.control_plane is not None:
        values["global"]["profile"] = REMOTE_PROFILE
    if install.default_revision is not None:
        values["defaultRevision"] = install.default_revision
    return deep_merge(values, install.base_values)


def istiod_values(
    install: IstioInstall, cp: ControlPlane, trust: TrustDomain = DEFAULT_TRUST
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "revision": cp.revision or "",
        "revisionTags": [t.name for t in install.revision_tags if t.revision == cp.revision],
        **_autoscaling_values(cp.autoscaling, cp.replicas),
        "meshConfig": mesh_config_values(install, trust),
        "global": _global_values(install, install.version_of(cp.version)),
        "env": {"BLOCKED_CIDRS_IN_JWKS_URIS": ",".join(install.jwks_blocked_cidrs)},
        "base": {"validationFailurePolicy": install.validation_failure_policy.value},
    }
    resources = resources_values(cp.resources)
    if resources:
        values["resources"] = resources
    if install.cni is not None or install.ambient:
        values["cni"] = {"enabled": True}
    if install.ambient:
        values["global"]["profile"] = AMBIENT_PROFILE
    if install.default_revision is not None and cp.revision == install.default_revision:
        values["defaultRevision"] = cp.revision
    if install.membership is not None:
        values["global"].update(membership_values(install.membership))
        if install.membership.control_plane is not None:
            values = deep_merge(values, remote_values(install.membership))
        if install.membership.serves_remotes:
            # The chart's EXTERNAL_ISTIOD: istiod also serves as the control plane of the
            # remotes whose namespace names its cluster (their webhooks, their CA roots).
            values["global"]["externalIstiod"] = True
    return deep_merge(values, cp.values)


def membership_values(membership: MeshMembership) -> dict[str, Any]:
    """istiod's ``global`` values for one cluster of a multi-cluster mesh: which mesh,
    which cluster (the name remote secrets and endpoints carry), which network."""
    return {
        "meshID": membership.mesh_id,
        "multiCluster": {"clusterName": membership.cluster_name},
        "network": membership.network,
    }


def remote_values(membership: MeshMembership) -> dict[str, Any]:
    """istiod's values in a remote cluster: the charts' ``remote`` profile (no istiod; a
    webhook and an ``istiod`` Service for the primary's, at ``remotePilotAddress``), and
    the injection path that tells the primary which cluster and network a pod is in
    (what it writes as the sidecar's ``ISTIO_META_CLUSTER_ID`` and ``ISTIO_META_NETWORK``)."""
    return {
        "global": {
            "profile": REMOTE_PROFILE,
            "remotePilotAddress": membership.discovery_address,
        },
        "istiodRemote": {
            "injectionPath": (
                f"/inject/cluster/{membership.cluster_name}/net/{membership.network}"
            ),
        },
    }


def install_namespace_object(install: IstioInstall) -> K8sObject:
    """Istio's own namespace; in a multi-cluster mesh labelled with its cluster's network
    (``topology.istio.io/network``), which istiod reads as the network of every pod of the
    cluster that says none; in a remote, annotated with its primary
    (``topology.istio.io/controlPlaneClusters``), which that istiod reads to manage it."""
    labels = {"app.kubernetes.io/managed-by": "meshstack"}
    metadata: dict[str, Any] = {"name": install.namespace, "labels": labels}
    if install.membership is not None:
        labels[NETWORK_LABEL] = install.membership.network
        if install.membership.control_plane is not None:
            metadata["annotations"] = {CONTROL_PLANE_ANNOTATION: install.membership.control_plane}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


NETWORK_LABEL = "topology.istio.io/network"
CONTROL_PLANE_ANNOTATION = "topology.istio.io/controlPlaneClusters"
REMOTE_PROFILE = "remote"
"""The charts' profile for a cluster served by another cluster's istiod."""


AMBIENT_PROFILE = "ambient"
"""The charts' own profile for ambient mode (istiod: ``PILOT_ENABLE_AMBIENT``; istio-cni:
``ambient.enabled``), set as ``global.profile``, which every chart's profile template reads."""


def ztunnel_values(install: IstioInstall) -> dict[str, Any]:
    """The node proxy's image (its chart reads ``hub``/``tag`` at the top level, not under
    ``global``) and where istiod runs (``istioNamespace``)."""
    return {
        "hub": install.image_hub,
        "tag": install.version,
        "istioNamespace": install.namespace,
    }


def gateway_values(gw: GatewayInstall) -> dict[str, Any]:
    values: dict[str, Any] = {
        "revision": gw.revision or "",
        "service": {
            "type": gw.service_type.value,
            "ports": [
                {
                    "name": p.name,
                    "port": p.port,
                    "protocol": p.protocol,
                    "targetPort": p.target_port,
                }
                for p in gw.ports
            ],
        },
        "replicaCount": gw.replicas,
        "autoscaling": {"enabled": False}
        if gw.autoscaling is None
        else {
            "enabled": True,
            "minReplicas": gw.autoscaling.min_replicas,
            "maxReplicas": gw.autoscaling.max_replicas,
            "targetCPUUtilizationPercentage": gw.autoscaling.target_cpu_percent,
        },
    }
    resources = resources_values(gw.resources)
    if resources:
        values["resources"] = resources
    if gw.load_balancer_ip is not None:
        values["service"]["loadBalancerIP"] = gw.load_balancer_ip
    if gw.network is not None:
        # The chart gives a network gateway its own Service ports (networkGatewayPorts).
        del values["service"]["ports"]
        values["networkGateway"] = gw.network
    return deep_merge(values, gw.values)


def _injector_release(install: IstioInstall, revision: str | None) -> str | None:
    """The istiod release whose webhook injects pods labelled with ``revision``."""
    target = revision
    tags = {t.name: t.revision for t in install.revision_tags}
    if target in tags:
        target = tags[target]
    if target is None:
        target = install.default_revision
    for cp in install.control_planes:
        if cp.revision == target:
            return istiod_release_name(cp)
    return None


def base_release(install: IstioInstall, scope: str = MESH_LAYER) -> HelmRelease:
    """The base chart's release: the CRDs and the rest, or one half of it (``scope``) when
    the CRDs live in a CRD layer stack."""
    return HelmRelease(
        name=BASE_RELEASE,
        chart=chart_ref(install, "base", install.version),
        namespace=install.namespace,
        values=base_values(install, scope),
        role="base",
        protect=install.protect,
        keep_on_destroy=install.keep_crds_on_destroy,
    )


def crd_layer_release(install: IstioInstall) -> HelmRelease:
    """What a CRD layer stack renders of the base chart: its cluster-scoped objects."""
    return base_release(install, CRD_LAYER)


def istio_releases(install: IstioInstall, trust: TrustDomain = DEFAULT_TRUST) -> list[HelmRelease]:
    """Every release of the install, in an order where each comes after what it waits for."""
    base = base_release(install)
    releases = [base]
    before_istiod = [base.name]
    cni_install = install.cni or (CniInstall() if install.ambient else None)
    if cni_install is not None:
        cni_version = install.version_of(cni_install.version)
        cni_values: dict[str, Any] = {
            "global": {"istioNamespace": install.namespace, **image_values(install, cni_version)}
        }
        if install.ambient:
            cni_values["global"]["profile"] = AMBIENT_PROFILE
        cni = HelmRelease(
            name="istio-cni",
            chart=chart_ref(install, "cni", cni_version),
            namespace=cni_install.namespace,
            values=deep_merge(cni_values, cni_install.values),
            after=(base.name,),
            role="cni",
        )
        releases.append(cni)
        before_istiod.append(cni.name)
    istiods = [
        HelmRelease(
            name=istiod_release_name(cp),
            chart=chart_ref(install, "istiod", install.version_of(cp.version)),
            namespace=install.namespace,
            values=istiod_values(install, cp, trust),
            after=tuple(before_istiod),
            role="istiod",
        )
        for cp in install.control_planes
    ]
    releases.extend(istiods)
    if install.ambient:
        releases.append(
            HelmRelease(
                name="ztunnel",
                chart=chart_ref(install, "ztunnel", install.version),
                namespace=install.namespace,
                values=deep_merge(ztunnel_values(install), install.ztunnel_values),
                after=tuple(r.name for r in istiods),
                role="ztunnel",
            )
        )
    for gw in install.gateways:
        injector = _injector_release(install, gw.revision)
        releases.append(
            HelmRelease(
                name=gw.name,
                chart=chart_ref(install, "gateway", install.version_of(gw.version)),
                namespace=gw.namespace,
                values=gateway_values(gw),
                after=(injector,) if injector else tuple(r.name for r in istiods),
                role="gateway",
            )
        )
    return releases
