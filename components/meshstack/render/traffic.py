"""VirtualServices and DestinationRules, including those a Canary yields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshstack.gateway_api.translation import istio_gateway_refs
from meshstack.k8s import NETWORKING, K8sObject, drop_none, k8s_object, whole
from meshstack.model import model_of
from meshstack.route_names import CANDIDATE_ROUTE, SPLIT_ROUTE, STABLE_ROUTE
from meshstack.spec.locality import LocalityLoadBalancing
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey
from meshstack.spec.traffic import (
    Canary,
    ConnectionPool,
    ConsistentHash,
    Destination,
    DestinationPolicy,
    FaultInjection,
    HttpMatch,
    HttpRoute,
    Mirror,
    OutlierDetection,
    RetryPolicy,
    StringMatch,
    Subset,
    VirtualService,
)


class TrafficRenderer:
    """Turns traffic specs into Istio objects; resolves service names once per spec."""

    def __init__(self, spec: MeshSpec) -> None:
        self.spec = spec
        self.hosts = model_of(spec).hosts
        self.external_hosts = self.hosts.external

    def host(self, ref: str, namespace: str) -> str:
        return self.hosts.host_or_written(ref, namespace)

    def _destination(
        self, service: str, subset: str | None, port: int | None, namespace: str
    ) -> dict[str, Any]:
        return drop_none(
            {
                "host": self.host(service, namespace),
                "subset": subset,
                "port": {"number": port} if port is not None else None,
            }
        )

    def route_destination(self, dest: Destination, namespace: str, single: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "destination": self._destination(dest.service, dest.subset, dest.port, namespace)
        }
        if not single and dest.weight is not None:
            out["weight"] = dest.weight
        return out

    def mirror(self, mirror: Mirror, namespace: str) -> dict[str, Any]:
        return {
            "mirror": self._destination(mirror.service, mirror.subset, None, namespace),
            "mirrorPercentage": {"value": whole(mirror.percentage)},
        }

    def http_route(self, route: HttpRoute, namespace: str) -> dict[str, Any]:
        single = len(route.destinations) == 1
        out = drop_none(
            {
                "name": route.name,
                "match": [http_match(m) for m in route.match] or None,
                "route": [self.route_destination(d, namespace, single) for d in route.destinations],
                "timeout": route.timeout,
                "retries": retries(route.retries) if route.retries else None,
                "fault": fault(route.fault) if route.fault else None,
            }
        )
        if route.mirror is not None:
            out.update(self.mirror(route.mirror, namespace))
        return out

    def virtual_service(self, vs: VirtualService, gateways: list[str]) -> K8sObject:
        """``gateways``: the Istio gateways (and ``mesh``) it binds to; Gateway API ones
        get an HTTPRoute instead (:mod:`meshstack.gateway_api`)."""
        spec = drop_none(
            {
                "hosts": [self.host(h, vs.namespace) for h in vs.hosts],
                "gateways": gateways or None,
                "http": [self.http_route(r, vs.namespace) for r in vs.http],
            }
        )
        return k8s_object(NETWORKING, "VirtualService", vs.name, vs.namespace, spec=spec)

    def canary_virtual_service(self, canary: Canary) -> K8sObject:
        key = self.hosts.key(canary.service, canary.namespace)
        host = self.hosts.fqdn(key)
        extras = drop_none(
            {
                "timeout": canary.timeout,
                "retries": retries(canary.retries) if canary.retries else None,
                "fault": fault(canary.fault) if canary.fault else None,
            }
        )

        def to(subset: str, weight: int | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {"destination": {"host": host, "subset": subset}}
            if weight is not None:
                out["weight"] = weight
            return out

        http: list[dict[str, Any]] = []
        if canary.match:
            http.append(
                {
                    "name": CANDIDATE_ROUTE,
                    "match": [http_match(m) for m in canary.match],
                    "route": [to(canary.candidate)],
                    **extras,
                }
            )
            http.append({"name": STABLE_ROUTE, "route": [to(canary.stable)], **extras})
        else:
            http.append(
                {
                    "name": SPLIT_ROUTE,
                    "route": [
                        to(canary.stable, 100 - canary.weight),
                        to(canary.candidate, canary.weight),
                    ],
                    **extras,
                }
            )
        return k8s_object(
            NETWORKING,
            "VirtualService",
            key.name,
            key.namespace,
            labels={"meshstack.io/canary": canary.candidate},
            spec=drop_none(
                {
                    "hosts": [host, *canary.gateway_hosts],
                    "gateways": ["mesh", canary.gateway] if canary.gateway else None,
                    "http": http,
                }
            ),
        )

    def destination_rules(self) -> Iterator[K8sObject]:
        """One DestinationRule per service: its policy merged with its canary's subsets."""
        policies: dict[ServiceKey, DestinationPolicy] = {}
        subsets: dict[ServiceKey, dict[str, str]] = {}
        order: list[ServiceKey] = []
        for dp in self.spec.policy.destination_policies:
            key = self.hosts.key(dp.service, dp.namespace)
            if key not in subsets:
                order.append(key)
                subsets[key] = {}
            policies[key] = dp
            subsets[key].update({s.name: s.version for s in dp.subsets})
        for canary in self.spec.policy.canaries:
            key = self.hosts.key(canary.service, canary.namespace)
            if key not in subsets:
                order.append(key)
                subsets[key] = {}
            subsets[key].setdefault(canary.stable, canary.stable)
            subsets[key].setdefault(canary.candidate, canary.candidate)
        for key in order:
            found = policies.get(key)
            external = found is not None and found.service in self.external_hosts
            host = found.service if found and external else self.hosts.fqdn(key)
            spec = drop_none(
                {
                    "host": host,
                    "trafficPolicy": traffic_policy(found) if found else None,
                    "subsets": [subset(Subset(name=n, version=v)) for n, v in subsets[key].items()]
                    or None,
                }
            )
            yield k8s_object(NETWORKING, "DestinationRule", key.name, key.namespace, spec=spec)


def string_match(match: StringMatch) -> dict[str, str]:
    return drop_none({"exact": match.exact, "prefix": match.prefix, "regex": match.regex})


def http_match(match: HttpMatch) -> dict[str, Any]:
    headers = {name: string_match(m) for name, m in match.all_headers().items()}
    return drop_none(
        {
            "name": match.name,
            "uri": string_match(match.uri) if match.uri else None,
            "method": string_match(match.method) if match.method else None,
            "headers": headers or None,
        }
    )


def retries(policy: RetryPolicy) -> dict[str, Any]:
    return drop_none(
        {
            "attempts": policy.attempts,
            "perTryTimeout": policy.per_try_timeout,
            "retryOn": ",".join(policy.retry_on) or None,
        }
    )


def fault(spec: FaultInjection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.delay is not None:
        out["delay"] = {
            "fixedDelay": spec.delay.fixed_delay,
            "percentage": {"value": whole(spec.delay.percentage)},
        }
    if spec.abort is not None:
        out["abort"] = {
            "httpStatus": spec.abort.http_status,
            "percentage": {"value": whole(spec.abort.percentage)},
        }
    return out


def subset(s: Subset) -> dict[str, Any]:
    return {"name": s.name, "labels": {"version": s.version}}


def consistent_hash(ch: ConsistentHash) -> dict[str, Any]:
    if ch.http_header_name is not None:
        return {"httpHeaderName": ch.http_header_name}
    if ch.http_cookie_name is not None:
        return {"httpCookie": drop_none({"name": ch.http_cookie_name, "ttl": ch.http_cookie_ttl})}
    return {"useSourceIp": True}


def connection_pool(pool: ConnectionPool) -> dict[str, Any]:
    tcp = drop_none(
        {"maxConnections": pool.max_connections, "connectTimeout": pool.connect_timeout}
    )
    http = drop_none(
        {
            "http1MaxPendingRequests": pool.http1_max_pending_requests,
            "http2MaxRequests": pool.http2_max_requests,
            "maxRequestsPerConnection": pool.max_requests_per_connection,
            "maxRetries": pool.max_retries,
        }
    )
    return drop_none({"tcp": tcp or None, "http": http or None})


def outlier_detection(od: OutlierDetection) -> dict[str, Any]:
    return {
        "consecutive5xxErrors": od.consecutive_5xx_errors,
        "interval": od.interval,
        "baseEjectionTime": od.base_ejection_time,
        "maxEjectionPercent": whole(od.max_ejection_percent),
    }


def locality_lb(locality: LocalityLoadBalancing) -> dict[str, Any]:
    return drop_none(
        {
            "enabled": locality.enabled,
            "failover": [{"from": f.from_region, "to": f.to_region} for f in locality.failover]
            or None,
            "failoverPriority": list(locality.failover_priority) or None,
            "distribute": [{"from": d.from_locality, "to": dict(d.to)} for d in locality.distribute]
            or None,
        }
    )


def traffic_policy(dp: DestinationPolicy) -> dict[str, Any] | None:
    load_balancer: dict[str, Any] | None = None
    if dp.consistent_hash is not None:
        load_balancer = {"consistentHash": consistent_hash(dp.consistent_hash)}
    elif dp.load_balancer is not None:
        load_balancer = {"simple": dp.load_balancer.value}
    if dp.locality is not None:
        load_balancer = {**(load_balancer or {}), "localityLbSetting": locality_lb(dp.locality)}
    policy = drop_none(
        {
            "loadBalancer": load_balancer,
            "connectionPool": connection_pool(dp.connection_pool) if dp.connection_pool else None,
            "outlierDetection": outlier_detection(dp.outlier_detection)
            if dp.outlier_detection
            else None,
        }
    )
    return policy or None


def render_traffic(spec: MeshSpec) -> Iterator[K8sObject]:
    renderer = TrafficRenderer(spec)
    for vs in spec.policy.virtual_services:
        gateways = istio_gateway_refs(spec, vs)
        if gateways is not None:
            yield renderer.virtual_service(vs, gateways)
    for canary in spec.policy.canaries:
        yield renderer.canary_virtual_service(canary)
    yield from renderer.destination_rules()
