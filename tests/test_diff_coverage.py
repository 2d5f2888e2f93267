"""The diff misses nothing the spec models, and weakening changes come first (issue 14 §4).

``test_every_modelled_field_shows_in_the_diff`` changes each field of every model reachable
from ``MeshSpec``, one at a time, in the three stacks (plus a spec using the models the stacks
leave out), and requires a diff line for each. A field added to a model later and not
exercised here fails the test until it is, so no field can be forgotten.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

import pytest
from builders import shop
from conftest import PROJECT
from meshstack.diff import diff, to_markdown
from meshstack.multicluster import cluster_view
from meshstack.spec import (
    AbortFault,
    Addons,
    ConsistentHash,
    DestinationPolicy,
    ExternalService,
    FaultInjection,
    Gateway,
    GatewayApi,
    GatewayApiCrdFiles,
    GatewayApiCrds,
    GatewayServer,
    HttpMatch,
    IstioInstall,
    JwtRule,
    LocalityDistribution,
    LocalityFailover,
    LocalityLoadBalancing,
    MeshSpec,
    MtlsMode,
    Namespace,
    OutlierDetection,
    PeerAuthentication,
    Prometheus,
    ServiceLevelObjective,
    ServicePort,
    SidecarInjection,
    SidecarScope,
    SloAlerting,
    SloIndicator,
    SloRulesAsPrometheusRules,
    StringMatch,
    TelemetrySpec,
)
from meshstack.spec.addons import IstioSampleManifests
from meshstack.spec.install import CniInstall, GatewayInstall, LocalCharts, OciRegistry
from meshstack.spec.observability import OutboundPolicy
from meshstack.spec.workloads import Resources
from meshstack.stacks import load_spec
from pydantic import BaseModel

Rebuild = Callable[[BaseModel], MeshSpec]


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [t for arg in typing.get_args(annotation) for t in _model_types(arg)]


def _all_fields(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    found = set()
    for name, info in model.model_fields.items():
        found.add(f"{model.__name__}.{name}")
        for inner in _model_types(info.annotation):
            found |= _all_fields(inner, seen)
    return found


def _scalar_for(annotation: Any) -> Any:
    """A value for a field that is unset (None) in the spec at hand, or ``...`` when none fits."""
    for arg in typing.get_args(annotation) or (annotation,):
        if arg is type(None):
            continue
        base = typing.get_args(arg)[0] if typing.get_origin(arg) is typing.Annotated else arg
        if isinstance(base, type) and issubclass(base, Enum):
            return next(iter(base))
        if base is Any:
            return "x"
        if base in (str, int, float, bool):
            return {str: "x", int: 7, float: 7.0, bool: True}[base]
    return ...


def _different(value: Any, annotation: Any) -> Any:
    """Another value of the same shape, or ``...`` when the field holds models (walked into)."""
    if value is None:
        return _scalar_for(annotation)
    if isinstance(value, bool):
        return not value
    if isinstance(value, Enum):
        return next(member for member in type(value) if member is not value)
    if isinstance(value, int | float):
        return value + 1 if value < 50 else value - 1
    if isinstance(value, str):
        return value + "x"
    holds_models = bool(_model_types(annotation))
    if isinstance(value, tuple) and not holds_models:
        if value:
            return value[:-1] if not isinstance(value[0], str) else (*value, value[0] + "x")
        (item,) = [a for a in typing.get_args(annotation) if a is not Ellipsis][:1] or [str]
        scalar = _scalar_for(item)
        return ... if scalar is ... else (scalar,)
    if isinstance(value, dict) and not holds_models:
        dict_type = next(
            a for a in (annotation, *typing.get_args(annotation)) if typing.get_origin(a) is dict
        )
        key_type, value_type = typing.get_args(dict_type)
        return {**value, _scalar_for(key_type): _scalar_for(value_type)}
    return ...


def _mutations(model: BaseModel, rebuild: Rebuild) -> Iterator[tuple[str, MeshSpec | None]]:
    """(``Model.field``, the whole spec with that one field changed) for every field below;
    ``None`` for a field that holds a model, whose own fields are changed instead."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        label = f"{type(model).__name__}.{name}"

        def put(new: Any, name: str = name, model: BaseModel = model) -> MeshSpec:
            return rebuild(model.model_copy(update={name: new}))

        changed = _different(value, info.annotation)
        if changed is not ...:
            yield label, put(changed)
        elif isinstance(value, tuple | dict) and value:
            yield label, None
        if isinstance(value, BaseModel):
            yield label, None  # exercised through its own fields, walked next
            yield from _mutations(value, put)
        elif isinstance(value, tuple) and any(isinstance(v, BaseModel) for v in value):
            if len(value) > 1:
                yield label, put(value[:-1])
            for i, item in enumerate(value):
                yield from _mutations(
                    item,
                    lambda new, i=i, put=put, value=value: put((*value[:i], new, *value[i + 1 :])),
                )
        elif isinstance(value, dict) and any(isinstance(v, BaseModel) for v in value.values()):
            for key, item in value.items():
                yield from _mutations(
                    item, lambda new, key=key, put=put, value=value: put({**value, key: new})
                )


def _the_rest() -> MeshSpec:
    """The models and fields none of the three stacks uses."""
    base = shop(
        virtual_services=(),
        sidecars=(SidecarScope(namespace="shop", workload="api"),),
        telemetry=TelemetrySpec(tracing_provider="otel"),
        slos=(
            ServiceLevelObjective(
                name="fast",
                service="api",
                namespace="shop",
                indicator=SloIndicator.LATENCY,
                latency_threshold_ms=250,
                excluded_codes=(429,),
                group_by=("destination_version",),
                alerting=SloAlerting(
                    labels={"team": "shop"},
                    annotations={"dashboard": "https://grafana.test/d/shop"},
                    runbook_url="https://runbooks.test",
                ),
            ),
        ),
        slo_rules=SloRulesAsPrometheusRules(namespace="monitoring", labels={"release": "kps"}),
        destination_policies=(
            DestinationPolicy(
                service="api",
                namespace="shop",
                outlier_detection=OutlierDetection(),
                locality=LocalityLoadBalancing(
                    failover=(LocalityFailover(from_region="eu-west", to_region="eu-central"),),
                    failover_priority=("topology.istio.io/network",),
                ),
            ),
            DestinationPolicy(
                service="web",
                namespace="shop",
                locality=LocalityLoadBalancing(
                    enabled=True,
                    distribute=(
                        LocalityDistribution(from_locality="eu-west/*", to={"eu-west": 100}),
                    ),
                ),
            ),
        ),
    )
    install = IstioInstall(
        chart_source=LocalCharts(path="/charts"),
        cni=CniInstall(version="1.30.4"),
        gateways=(GatewayInstall(version="1.30.4"),),
        default_revision="default",
    )
    apps = tuple(
        app.model_copy(
            update={
                "workloads": tuple(
                    w.model_copy(
                        update={
                            "ports": tuple(
                                p.model_copy(update={"name": "http-x"}) for p in w.ports
                            ),
                            "versions": tuple(
                                v.model_copy(update={"replicas": 2}) for v in w.versions
                            ),
                        }
                    )
                    for w in app.workloads
                )
            }
        )
        for app in base.apps
    )
    return base.model_copy(
        update={
            "install": install,
            "apps": apps,
            "addons": Addons(
                prometheus=Prometheus(resources=Resources(cpu_request="100m")),
                source=IstioSampleManifests(path="/addons"),
            ),
            "gateway_api": GatewayApiCrds(source=GatewayApiCrdFiles(path="/crds")),
        }
    )


def _oci() -> MeshSpec:
    return shop().model_copy(
        update={"install": IstioInstall(chart_source=OciRegistry(url="oci://mirror.test/istio"))}
    )


def _canary_extras(stack_specs: dict[str, MeshSpec]) -> MeshSpec:
    prod = stack_specs["prod"]
    canary = prod.policy.canaries[0].model_copy(
        update={"fault": FaultInjection(abort=AbortFault(http_status=500, percentage=5))}
    )
    policies = tuple(
        dp.model_copy(
            update={
                "consistent_hash": ConsistentHash(http_cookie_name="user", http_cookie_ttl="60s"),
                "load_balancer": None,
            }
        )
        for dp in prod.policy.destination_policies
    )
    vss = tuple(
        vs.model_copy(
            update={
                "http": tuple(
                    r.model_copy(update={"match": (HttpMatch(method=StringMatch(exact="GET")),)})
                    for r in vs.http
                )
            }
        )
        for vs in prod.policy.virtual_services
    )
    policy = prod.policy.model_copy(
        update={"canaries": (canary,), "destination_policies": policies, "virtual_services": vss}
    )
    return prod.model_copy(update={"policy": policy})


ENVIRONMENT_ONLY = ("GatewayApiCrdFiles.path", "IstioSampleManifests.path", "LocalCharts.path")
"""Where a local source sits on this machine: not a change to the mesh (the source's kind
and address are; ``meshstack.locations``)."""


@pytest.mark.filterwarnings("ignore::UserWarning")  # a changed ``kind`` tag serialises loosely
def test_every_modelled_field_shows_in_the_diff(stack_specs: dict[str, MeshSpec]) -> None:
    multi = load_spec("multi", PROJECT / "stacks")
    specs = [
        *stack_specs.values(),
        _the_rest(),
        _oci(),
        _canary_extras(stack_specs),
        multi,
        cluster_view(multi, "east"),
    ]
    exercised: set[str] = set()
    silent: set[str] = set()
    for spec in specs:
        for label, mutated in _mutations(spec, lambda new: typing.cast(MeshSpec, new)):
            exercised.add(label)
            if mutated is not None and not diff(spec, mutated):
                silent.add(label)
    assert sorted(silent) == sorted(ENVIRONMENT_ONLY), "changes the diff does not show"
    assert sorted(_all_fields(MeshSpec) - exercised) == [], "fields no spec here exercises"


def _with(spec: MeshSpec, **policy: Any) -> MeshSpec:
    return spec.model_copy(update={"policy": spec.policy.model_copy(update=policy)})


HTTPS = GatewayServer(port=443, protocol="HTTPS", hosts=("shop.test",), tls_secret="shop-cert")
HTTP_REDIRECT = GatewayServer(port=80, hosts=("shop.test",), https_redirect=True)


def _edge(*servers: GatewayServer, api: GatewayApi = GatewayApi.ISTIO) -> MeshSpec:
    return shop(gateways=(Gateway(name="edge", namespace="shop", servers=servers, api=api),))


_PROD = load_spec("prod", PROJECT / "stacks")
_PAYMENTS = next(e for e in _PROD.policy.external_services if e.allowed_callers)


def _payments(**update: Any) -> MeshSpec:
    """prod with its payments API changed by ``update``."""
    return _with(_PROD, external_services=(_PAYMENTS.model_copy(update=update),))


RISKY: dict[str, tuple[MeshSpec, MeshSpec, str]] = {
    "HTTPS listener removed": (
        _edge(HTTP_REDIRECT, HTTPS),
        _edge(HTTP_REDIRECT.model_copy(update={"https_redirect": False})),
        "HTTPS removed",
    ),
    "HTTPS redirect removed": (
        _edge(HTTP_REDIRECT, HTTPS),
        _edge(HTTP_REDIRECT.model_copy(update={"https_redirect": False}), HTTPS),
        "HTTPS redirect removed",
    ),
    "ingress moved to the Gateway API": (
        _edge(HTTP_REDIRECT, HTTPS),
        _edge(HTTP_REDIRECT, HTTPS, api=GatewayApi.KUBERNETES),
        "ingress moves to a new proxy",
    ),
    "ingress moved back to Istio's gateway": (
        _edge(HTTP_REDIRECT, HTTPS, api=GatewayApi.KUBERNETES),
        _edge(HTTP_REDIRECT, HTTPS),
        "ingress moves to a new proxy",
    ),
    "HTTPS server turned into HTTP": (
        _edge(HTTPS),
        _edge(HTTPS.model_copy(update={"protocol": "HTTP", "tls_secret": None})),
        "HTTPS removed",
    ),
    "sidecar outbound opened": (
        shop(
            sidecars=(SidecarScope(namespace="shop", outbound_policy=OutboundPolicy.REGISTRY_ONLY),)
        ),
        shop(sidecars=(SidecarScope(namespace="shop", outbound_policy=OutboundPolicy.ALLOW_ANY),)),
        "outbound traffic to any host allowed",
    ),
    "mesh outbound opened": (
        shop().model_copy(
            update={
                "install": IstioInstall().model_copy(
                    update={
                        "mesh_config": IstioInstall().mesh_config.model_copy(
                            update={"outbound_traffic_policy": OutboundPolicy.REGISTRY_ONLY}
                        )
                    }
                )
            }
        ),
        shop().model_copy(update={"install": IstioInstall()}),
        "outbound traffic to any host allowed",
    ),
    "access logging off": (
        shop(telemetry=TelemetrySpec()),
        shop(telemetry=TelemetrySpec(access_logging=False)),
        "access logging turned off",
    ),
    "tracing off": (
        shop(telemetry=TelemetrySpec(tracing_sampling=10)),
        shop(telemetry=TelemetrySpec(tracing_sampling=0)),
        "tracing turned off",
    ),
    "sidecar egress widened": (
        shop(sidecars=(SidecarScope(namespace="shop"),)),
        shop(
            sidecars=(
                SidecarScope(namespace="shop", egress_hosts=("./*", "istio-system/*", "*/*")),
            )
        ),
        "egress scope widened",
    ),
    "JWT rule removed": (
        shop(
            jwt_rules=(
                JwtRule(
                    name="jwt",
                    namespace="shop",
                    workload="api",
                    issuer="https://issuer.test",
                    jwks_uri="https://issuer.test/jwks",
                ),
            )
        ),
        shop(),
        "JWT rule removed",
    ),
    "sidecars removed from a namespace": (
        shop(),
        shop().model_copy(
            update={
                "namespaces": (
                    Namespace(name="shop", injection=SidecarInjection.DISABLED),
                    Namespace(name="istio-ingress"),
                )
            }
        ),
        "sidecars removed",
    ),
    "egress caller restriction removed": (
        _payments(),
        _payments(allowed_callers=()),
        "egress open to every caller",
    ),
    "egress caller added": (
        _payments(),
        _payments(allowed_callers=(*_PAYMENTS.allowed_callers, "hipster-shop/frontend")),
        "egress opened to hipster-shop/frontend",
    ),
    "egress bypasses the gateway": (
        _payments(),
        _payments(via_egress_gateway=False, tls_origination=None, allowed_callers=()),
        "egress no longer through the egress gateway",
    ),
}


@pytest.mark.parametrize("case", sorted(RISKY), ids=str)
def test_a_weakening_change_is_flagged_risky(case: str) -> None:
    base, head, risk = RISKY[case]
    changes = diff(base, head)
    assert any(c.risk and risk in c.risk for c in changes), [c.line() for c in changes]


def test_a_harmless_egress_change_is_not_risky() -> None:
    payments = ExternalService(
        name="payments",
        namespace="shop",
        hosts=("pay.test",),
        ports=(ServicePort(number=443, protocol="tls"),),
    )
    base = shop(external_services=(payments,))
    head = shop(
        external_services=(
            payments.model_copy(update={"ports": (ServicePort(number=8443, protocol="tls"),)}),
        )
    )
    assert [c.risk for c in diff(base, head)] == [None]


def test_risky_lines_lead_and_many_permission_lines_fold(stack_specs: dict[str, MeshSpec]) -> None:
    prod = stack_specs["prod"]
    mesh_wide = [pa for pa in prod.policy.peer_authentications if pa.namespace is None]
    weakened = tuple(
        pa.model_copy(update={"mode": MtlsMode.PERMISSIVE}) if pa.namespace is None else pa
        for pa in prod.policy.peer_authentications
    )
    assert mesh_wide
    head = _with(
        prod, peer_authentications=weakened, authorization_policies=(), default_deny_namespaces=()
    )
    text = to_markdown("prod", diff(prod, head)).splitlines()
    first_item = next(i for i, line in enumerate(text) if line.startswith("- "))
    assert text[first_item].startswith("- mTLS mesh: STRICT → PERMISSIVE"), text[:12]
    pair_lines = [
        line
        for line in text
        if " → " in line and line.startswith("- ") and "/" in line.split(":")[0]
    ]
    assert len(text) < 80, "per-pair lines are folded into a summary"
    assert any("caller → callee" in line for line in text), text
    assert len(pair_lines) <= 40


def test_peer_authentication_with_the_same_mode_elsewhere_is_still_a_change() -> None:
    base = shop(peer_authentications=(PeerAuthentication(namespace="shop"),))
    head = shop(peer_authentications=(PeerAuthentication(namespace="shop", workload="api"),))
    assert diff(base, head)
