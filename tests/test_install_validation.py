"""Invalid install and add-on specs are rejected at their field paths, before registration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from builders import shop
from meshstack.spec import (
    Addons,
    Autoscaling,
    ControlPlane,
    GatewayInstall,
    Grafana,
    IstioInstall,
    Jaeger,
    Kiali,
    MeshConfig,
    MeshSpec,
    Namespace,
    OciRegistry,
    Prometheus,
    RevisionTag,
    SidecarInjection,
    TelemetrySpec,
    TracingProvider,
)
from meshstack.spec.install import ChartRepository
from meshstack.spec.mesh import MeshPolicy
from meshstack.validation import validate


def installed(**fields: Any) -> MeshSpec:
    """The shop mesh with an Istio install; ``fields`` replace IstioInstall fields."""
    return shop().model_copy(update={"install": IstioInstall(**fields)})


def with_namespaces(spec: MeshSpec, *namespaces: Namespace) -> MeshSpec:
    return spec.model_copy(update={"namespaces": namespaces})


def with_addons(**addons: Any) -> MeshSpec:
    return installed().model_copy(update={"addons": Addons(**addons)})


def tracing_to(service: str, *, jaeger: bool = True) -> MeshSpec:
    """The shop with Prometheus (and Jaeger) whose proxies send spans to ``service``."""
    tracing = TracingProvider(service=service)
    addons = with_addons(prometheus=Prometheus(), jaeger=Jaeger() if jaeger else None)
    return addons.model_copy(
        update={"install": IstioInstall(mesh_config=MeshConfig(tracing=tracing))}
    )


REVISIONED = (ControlPlane(revision="blue"), ControlPlane(revision="green"))

INVALID: dict[str, tuple[Callable[[], MeshSpec], str, str]] = {
    "revision name with dots": (
        lambda: installed(control_planes=(ControlPlane(revision="1.30.4"),)),
        "install.control_planes[1.30.4].revision",
        "no dots",
    ),
    "revision named default": (
        lambda: installed(control_planes=(ControlPlane(revision="default"),)),
        "install.control_planes[default].revision",
        "not 'default'",
    ),
    "malformed install version": (
        lambda: installed(version="1.30"),
        "install.version",
        "major.minor.patch",
    ),
    "gateway chart at another version": (
        lambda: installed(gateways=(GatewayInstall(version="1.29.2"),)),
        "install.gateways[istio-ingressgateway].version",
        "differs from install.version",
    ),
    "default control plane at another version": (
        lambda: installed(control_planes=(ControlPlane(version="1.29.2"),)),
        "install.control_planes[default].version",
        "named revision",
    ),
    "canary newer than the CRDs": (
        lambda: installed(
            control_planes=(ControlPlane(), ControlPlane(revision="next", version="1.31.0"))
        ),
        "install.control_planes[next].version",
        "raise install.version first",
    ),
    "missing chart source": (
        lambda: installed(chart_source=None),
        "install.chart_source",
        "no chart source",
    ),
    "plain-http chart repository": (
        lambda: installed(chart_source=ChartRepository(url="http://charts.meshstack.test")),
        "install.chart_source.url",
        "https://",
    ),
    "OCI source without oci://": (
        lambda: installed(chart_source=OciRegistry(url="charts.meshstack.test/istio")),
        "install.chart_source.url",
        "oci://",
    ),
    "pre-1.24 pilot values": (
        lambda: installed(control_planes=(ControlPlane(values={"pilot": {"replicaCount": 2}}),)),
        "install.control_planes[default].values.pilot",
        "silently ignore",
    ),
    "escape hatch overriding a typed field": (
        lambda: installed(control_planes=(ControlPlane(values={"replicaCount": 5}),)),
        "install.control_planes[default].values.replicaCount",
        "ControlPlane.replicas",
    ),
    "escape hatch overriding a nested typed key (the image hub)": (
        lambda: installed(control_planes=(ControlPlane(values={"global": {"hub": "evil.test"}}),)),
        "install.control_planes[default].values.global.hub",
        "IstioInstall.image_hub",
    ),
    "escape hatch replacing the subtree of a typed key": (
        lambda: installed(control_planes=(ControlPlane(values={"global": {"proxy": "x"}}),)),
        "install.control_planes[default].values.global.proxy",
        "MeshConfig.default_proxy_resources",
    ),
    "escape hatch inside the mesh config": (
        lambda: installed(
            control_planes=(ControlPlane(values={"meshConfig": {"trustDomain": "other.test"}}),)
        ),
        "install.control_planes[default].values.meshConfig.trustDomain",
        "IstioInstall.mesh_config",
    ),
    "base chart values overriding the webhook failure policy": (
        lambda: installed(base_values={"base": {"validationFailurePolicy": "Ignore"}}),
        "install.base_values.base.validationFailurePolicy",
        "IstioInstall.validation_failure_policy",
    ),
    "ztunnel values overriding the image tag": (
        lambda: installed(ambient=True, ztunnel_values={"tag": "1.29.0"}),
        "install.ztunnel_values.tag",
        "IstioInstall.version",
    ),
    "two default control planes": (
        lambda: installed(control_planes=(ControlPlane(), ControlPlane())),
        "install.control_planes[default].revision",
        "both",
    ),
    "no control plane": (
        lambda: installed(control_planes=()),
        "install.control_planes",
        "at least one",
    ),
    "autoscaling range upside down": (
        lambda: installed(
            control_planes=(ControlPlane(autoscaling=Autoscaling(min_replicas=4, max_replicas=2)),)
        ),
        "install.control_planes[default].autoscaling.max_replicas",
        "below min_replicas",
    ),
    "revision tag to an unknown revision": (
        lambda: installed(revision_tags=(RevisionTag(name="stable", revision="blue"),)),
        "install.revision_tags[stable].revision",
        "no control plane has revision 'blue'",
    ),
    "namespace on an unknown revision": (
        lambda: with_namespaces(
            installed(),
            Namespace(name="shop", injection=SidecarInjection.REVISION, revision="canary"),
            Namespace(name="istio-ingress"),
        ),
        "namespaces[shop].revision",
        "no control-plane revision or revision tag 'canary'",
    ),
    "injection=enabled with only named revisions": (
        lambda: installed(control_planes=REVISIONED, gateways=(GatewayInstall(revision="blue"),)),
        "namespaces[shop].injection",
        "needs a default control plane",
    ),
    "default revision that does not exist": (
        lambda: installed(control_planes=REVISIONED, default_revision="purple"),
        "install.default_revision",
        "no control plane has revision 'purple'",
    ),
    "gateway in a namespace without injection": (
        lambda: with_namespaces(
            installed(),
            Namespace(name="shop"),
            Namespace(name="istio-ingress", injection=SidecarInjection.DISABLED),
        ),
        "install.gateways[istio-ingressgateway].namespace",
        "image: auto",
    ),
    "gateway workload the install does not deploy": (
        lambda: installed(gateways=(GatewayInstall(name="edge-gateway"),)),
        "gateway_workloads[istio-ingressgateway]",
        "deploys no gateway",
    ),
    "telemetry naming an undeclared tracing provider": (
        lambda: installed().model_copy(
            update={"policy": MeshPolicy(telemetry=TelemetrySpec(tracing_provider="zipkin"))}
        ),
        "policy.telemetry.tracing_provider",
        "set install.mesh_config.tracing",
    ),
    "kiali without prometheus": (
        lambda: with_addons(kiali=Kiali()),
        "addons.kiali",
        "enable addons.prometheus",
    ),
    "grafana without prometheus": (
        lambda: with_addons(grafana=Grafana()),
        "addons.grafana",
        "enable addons.prometheus",
    ),
    "tracing to the Jaeger add-on that is not enabled": (
        lambda: tracing_to(TracingProvider().service, jaeger=False),
        "install.mesh_config.tracing.service",
        "addons.jaeger is not enabled",
    ),
    "tracing to a service the namespace does not declare": (
        lambda: tracing_to("otel-colector.shop.svc.cluster.local"),
        "install.mesh_config.tracing.service",
        "declares no service 'otel-colector'",
    ),
    "tracing to another cluster domain": (
        lambda: tracing_to("jaeger-collector.istio-system.svc.corp"),
        "install.mesh_config.tracing.service",
        "not in the cluster's domain 'cluster.local'",
    ),
    "jaeger that no proxy sends spans to": (
        lambda: with_addons(prometheus=Prometheus(), jaeger=Jaeger()),
        "addons.jaeger",
        "install.mesh_config.tracing",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID), ids=str)
def test_an_invalid_install_is_reported_at_its_field_path(case: str) -> None:
    build, path, message = INVALID[case]
    problems = validate(build())
    assert any(p.path == path and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def test_a_revisioned_install_with_a_default_revision_is_valid() -> None:
    spec = installed(
        control_planes=REVISIONED,
        default_revision="blue",
        revision_tags=(RevisionTag(name="stable", revision="blue"),),
        gateways=(GatewayInstall(revision="stable"),),
    )
    assert validate(spec) == []
