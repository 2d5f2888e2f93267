"""Rules for service level objectives: what they measure must exist and be measurable.

An SLO naming a service the mesh does not run records nothing and never alerts; a latency
threshold between two histogram buckets cannot be measured (Prometheus only knows the
bucket counts); without Prometheus nobody evaluates the rules at all. Each is a silent
failure of the very thing meant to catch failures, so validation refuses it.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.route_names import ProxyRoute, proxy_routes
from meshstack.spec.formats import label_key_problem, label_value_problem
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import item_path
from meshstack.spec.refs import ServiceKey
from meshstack.spec.slo import (
    ISTIO_LATENCY_BUCKETS_MS,
    ROUTE_LABEL,
    ServiceLevelObjective,
    SloIndicator,
    SloRulesAsPrometheusRules,
)
from meshstack.validation.index import MeshIndex
from meshstack.validation.problems import (
    Problem,
    declared_twice,
    suggestion,
    undeclared_namespace,
)


def slo_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    slos = spec.policy.slos
    if spec.policy.addon_slos and spec.addons.prometheus is None:
        yield Problem(
            "policy.slos",
            "SLO rules need a Prometheus that scrapes the mesh and evaluates them: enable "
            "addons.prometheus, or set policy.slo_rules=SloRulesAsPrometheusRules(...) for a "
            "Prometheus the Operator runs",
        )
    delivery = spec.policy.slo_rules
    if isinstance(delivery, SloRulesAsPrometheusRules):
        for label, value in delivery.labels.items():
            wrong = label_key_problem(label) or label_value_problem(value)
            if wrong is not None:
                yield Problem(f"policy.slo_rules.labels[{label}]", wrong)
    seen: set[str] = set()
    routes = proxy_routes(spec) if any(slo.names_routes for slo in slos) else {}
    for i, slo in enumerate(slos):
        path = item_path("policy.slos", i, slo)
        if slo.id in seen:
            yield declared_twice(
                f"{path}.name", f"SLO {slo.name!r} of {slo.namespace}/{slo.service}"
            )
        seen.add(slo.id)
        if slo.namespace not in index.namespaces:
            yield undeclared_namespace(f"{path}.namespace", slo.namespace, index.namespaces)
        else:
            key = ServiceKey(slo.namespace, slo.service)
            workload = index.workloads.get(key)
            if workload is None:
                yield Problem(
                    f"{path}.service",
                    f"no service {slo.service!r} in namespace {slo.namespace!r}, so the SLO "
                    "would record nothing and never alert"
                    + suggestion(
                        slo.service,
                        (k.name for k in index.workloads if k.namespace == slo.namespace),
                        "service",
                    ),
                )
            elif not workload.ports:
                yield Problem(
                    f"{path}.service",
                    f"{slo.service!r} serves no ports (it has no Service), so it has no "
                    "requests to measure: give it ports, or remove the SLO",
                )
        yield from _threshold_problems(path, slo.indicator, slo.latency_threshold_ms)
        if slo.names_routes:
            yield from _route_problems(
                path, slo, routes.get(ServiceKey(slo.namespace, slo.service), [])
            )


def _route_problems(
    path: str, slo: ServiceLevelObjective, routes: list[ProxyRoute]
) -> Iterator[Problem]:
    """An SLO kept per route needs every route to the service named (requests taking an
    unnamed one would pool under an empty ``route_name``); a route left out must be one
    that sends to the service (a typo would leave out nothing)."""
    names = sorted({r.name for r in routes if r.name})
    listed = ", ".join(names) or "none"
    for k, excluded in enumerate(slo.excluded_routes):
        if excluded not in names:
            yield Problem(
                f"{path}.excluded_routes[{k}]",
                f"no proxy route named {excluded!r} sends requests to "
                f"{slo.namespace}/{slo.service}, so leaving it out changes nothing (its "
                f"routes: {listed})" + suggestion(excluded, names, "route"),
            )
    if ROUTE_LABEL in slo.group_by:
        for where in sorted({r.where for r in routes if not r.name.strip(".")}):
            yield Problem(
                f"{path}.group_by",
                f"the route at {where} has no name, so its requests to "
                f"{slo.namespace}/{slo.service} would be kept under an empty route_name: "
                "name it (HttpRoute.name, or name each of its matches)",
            )


def _threshold_problems(
    path: str, indicator: SloIndicator, threshold: float | None
) -> Iterator[Problem]:
    where = f"{path}.latency_threshold_ms"
    if indicator is SloIndicator.AVAILABILITY:
        if threshold is not None:
            yield Problem(
                where, "only a latency SLO has a threshold: remove it, or set indicator=LATENCY"
            )
        return
    bounds = ", ".join(f"{b:g}" for b in ISTIO_LATENCY_BUCKETS_MS)
    if threshold is None:
        yield Problem(where, f"a latency SLO needs a threshold: one of the buckets {bounds}")
    elif threshold not in ISTIO_LATENCY_BUCKETS_MS:
        below = max((b for b in ISTIO_LATENCY_BUCKETS_MS if b < threshold), default=None)
        above = min((b for b in ISTIO_LATENCY_BUCKETS_MS if b > threshold), default=None)
        near = " or ".join(f"{b:g}" for b in (below, above) if b is not None)
        yield Problem(
            where,
            f"{threshold:g} ms is not a bucket bound of istio_request_duration_milliseconds, "
            f"so it cannot be measured: use {near} (the buckets: {bounds})",
        )
