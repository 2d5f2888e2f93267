"""Sidecar scoping, Telemetry and local rate limits (EnvoyFilter)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshstack.k8s import (
    NETWORKING,
    NETWORKING_ALPHA,
    TELEMETRY,
    K8sObject,
    drop_none,
    k8s_object,
    whole,
)
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.observability import LocalRateLimit, SidecarScope, TelemetrySpec
from meshstack.spec.slo import ROUTE_LABEL


def sidecar(scope: SidecarScope) -> K8sObject:
    spec = drop_none(
        {
            "workloadSelector": {"labels": {"app": scope.workload}} if scope.workload else None,
            "egress": [{"hosts": list(scope.egress_hosts)}],
            "outboundTrafficPolicy": {"mode": scope.outbound_policy.value}
            if scope.outbound_policy
            else None,
        }
    )
    return k8s_object(NETWORKING, "Sidecar", scope.name, scope.namespace, spec=spec)


ROUTE_METRICS = ("REQUEST_COUNT", "REQUEST_DURATION")
"""The metrics an SLO reads (``istio_requests_total``, the latency histogram)."""


def route_name_overrides() -> list[dict[str, Any]]:
    """Add ``route_name`` (Envoy's ``xds.route_name``) to the metrics SLOs read, at the
    calling proxy (``CLIENT``: gateways and sidecars' outbound requests), the only one
    that chose a named route. Its values are the mesh's route names, so the label adds
    as many series as the mesh has routes, no more."""
    return [
        {
            "match": {"metric": metric, "mode": "CLIENT"},
            "tagOverrides": {ROUTE_LABEL: {"value": "xds.route_name"}},
        }
        for metric in ROUTE_METRICS
    ]


def telemetry(
    spec: TelemetrySpec | None, root_namespace: str, *, route_metrics: bool = False
) -> K8sObject:
    """The mesh-wide Telemetry (one per root namespace: Istio applies only one without a
    selector), with the route label when an SLO names routes."""
    body: dict[str, Any] = {}
    if spec is not None:
        body = _tracing_and_logging(spec)
    if route_metrics:
        body["metrics"] = [{"overrides": route_name_overrides()}]
    return k8s_object(TELEMETRY, "Telemetry", "mesh-default", root_namespace, spec=body)


def _tracing_and_logging(spec: TelemetrySpec) -> dict[str, Any]:
    tracing = drop_none(
        {
            "providers": [{"name": spec.tracing_provider}] if spec.tracing_provider else None,
            "randomSamplingPercentage": whole(spec.tracing_sampling),
        }
    )
    access_logging: dict[str, Any] = {
        "providers": [{"name": spec.access_log_provider}],
        "disabled": not spec.access_logging,
    }
    if spec.access_log_filter:
        access_logging["filter"] = {"expression": spec.access_log_filter}
    return {"tracing": [tracing], "accessLogging": [access_logging]}


def local_rate_limit(limit: LocalRateLimit) -> K8sObject:
    """Envoy's local_ratelimit HTTP filter, inserted on the workload's inbound listener."""
    bucket = {
        "max_tokens": limit.max_tokens,
        "tokens_per_fill": limit.tokens_per_fill,
        "fill_interval": f"{limit.fill_interval}",
    }
    enabled = {
        "default_value": {"numerator": 100, "denominator": "HUNDRED"},
        "runtime_key": "local_rate_limit_enabled",
    }
    filter_config = {
        "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
        "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "value": {
            "stat_prefix": "http_local_rate_limiter",
            "token_bucket": bucket,
            "filter_enabled": enabled,
            "filter_enforced": enabled,
            "response_headers_to_add": [
                {
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    "header": {"key": "x-local-rate-limit", "value": "true"},
                }
            ],
        },
    }
    patch = {
        "applyTo": "HTTP_FILTER",
        "match": {
            "context": "SIDECAR_INBOUND",
            "listener": {
                "filterChain": {"filter": {"name": "envoy.filters.network.http_connection_manager"}}
            },
        },
        "patch": {
            "operation": "INSERT_FIRST",
            "value": {"name": "envoy.filters.http.local_ratelimit", "typed_config": filter_config},
        },
    }
    return k8s_object(
        NETWORKING_ALPHA,
        "EnvoyFilter",
        limit.name,
        limit.namespace,
        spec={"workloadSelector": {"labels": {"app": limit.workload}}, "configPatches": [patch]},
    )


def render_proxy(spec: MeshSpec) -> Iterator[K8sObject]:
    for scope in spec.policy.sidecars:
        yield sidecar(scope)
    route_metrics = any(slo.names_routes for slo in spec.policy.slos)
    if spec.policy.telemetry is not None or route_metrics:
        yield telemetry(spec.policy.telemetry, spec.root_namespace, route_metrics=route_metrics)
    for limit in spec.policy.rate_limits:
        yield local_rate_limit(limit)
