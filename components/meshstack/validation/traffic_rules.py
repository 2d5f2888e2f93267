"""Rules for routing (VirtualServices, canaries) and destination policy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise

import re2

from meshstack.hosts import served_by
from meshstack.model import model_of
from meshstack.spec.base import duration_seconds
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import item_path
from meshstack.spec.refs import ServiceKey, gateway_key
from meshstack.spec.traffic import (
    RETRY_CONDITIONS,
    Canary,
    ConsistentHash,
    Destination,
    FaultInjection,
    HttpMatch,
    HttpRoute,
    Mirror,
    RetryPolicy,
    StringMatch,
    Subset,
    VirtualService,
)
from meshstack.validation.index import MeshIndex
from meshstack.validation.locality_rules import locality_problems
from meshstack.validation.problems import Problem, declared_twice, suggestion, undeclared_namespace

MESH_GATEWAY = "mesh"
MIN_ANALYSIS_SECONDS = 60


def _string_match(match: StringMatch, path: str) -> Iterator[Problem]:
    given = [k for k in ("exact", "prefix", "regex") if getattr(match, k) is not None]
    if len(given) != 1:
        yield Problem(path, f"set exactly one of exact, prefix or regex (got {given or 'none'})")
    if match.regex is not None:
        # Envoy matches with RE2 and Istio's webhook compiles with Go's RE2 syntax: no
        # look-around, no back-references. RE2 itself judges, not Python's re.
        try:
            re2.compile(match.regex)
        except re2.error as error:
            yield Problem(
                f"{path}.regex",
                f"{match.regex!r} is not a valid RE2 regular expression (the syntax Envoy and "
                f"Istio use: no look-around, no back-references): {_re2_reason(error)}",
            )


def _re2_reason(error: re2.error) -> str:
    """RE2's reason as text (the binding hands it over as bytes, shown as ``b'...'``)."""
    reason = error.args[0] if error.args else error
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


def _takes_every_request(route: HttpRoute) -> bool:
    """No match, an empty match or ``prefix: /`` alone: the route takes every request."""
    return not route.match or any(
        m == HttpMatch() or m == HttpMatch(uri=StringMatch(prefix="/")) for m in route.match
    )


def _route_order_problems(routes: Sequence[HttpRoute], path: str) -> Iterator[Problem]:
    """Routes Istio would never reach (it takes the first that matches), and reused names."""
    named: dict[str, int] = {}
    seen: dict[str, int] = {}
    catch_all: int | None = None
    for r, route in enumerate(routes):
        if route.name is not None:
            first = named.setdefault(route.name, r)
            if first != r:
                yield Problem(
                    f"{path}[{r}].name",
                    f"route name {route.name!r} is already used by http[{first}]; names "
                    "identify routes in Envoy's stats and must be unique in a VirtualService",
                )
        if catch_all is not None:
            yield Problem(
                f"{path}[{r}]",
                f"can never match: http[{catch_all}] above it takes every request; move this "
                f"route above it or give http[{catch_all}] a match",
            )
            continue
        keys = [m.model_dump_json() for m in route.match]
        if keys and all(k in seen for k in keys):
            yield Problem(
                f"{path}[{r}]",
                f"can never match: http[{seen[keys[0]]}] above it has the same match; "
                "merge the two routes or make this one's match narrower",
            )
        for key in keys:
            seen.setdefault(key, r)
        if _takes_every_request(route):
            catch_all = r


def _http_match(match: HttpMatch, path: str) -> Iterator[Problem]:
    for field in ("uri", "user_agent", "method"):
        value = getattr(match, field)
        if value is not None:
            yield from _string_match(value, f"{path}.{field}")
    for header, value in match.headers.items():
        yield from _string_match(value, f"{path}.headers[{header}]")


def _retries(retries: RetryPolicy, path: str) -> Iterator[Problem]:
    for i, condition in enumerate(retries.retry_on):
        if condition not in RETRY_CONDITIONS:
            yield Problem(
                f"{path}.retry_on[{i}]",
                f"unknown retry condition {condition!r}; valid: {sorted(RETRY_CONDITIONS)}",
            )


def _fault(fault: FaultInjection, path: str) -> Iterator[Problem]:
    if fault.delay is None and fault.abort is None:
        yield Problem(path, "a fault needs a delay, an abort, or both")


def _gateway_id(ref: str, namespace: str) -> str:
    """One spelling per gateway (``namespace/name``), however a route wrote it; ``mesh``
    stays itself."""
    return ref if ref == MESH_GATEWAY else "/".join(gateway_key(ref, namespace))


class TrafficRules:
    """Checks that need the index; one instance per validation run."""

    def __init__(self, spec: MeshSpec, index: MeshIndex) -> None:
        self.spec = spec
        self.index = index
        self.hosts = model_of(spec).hosts
        self.gateway_hosts = {
            ServiceKey(g.namespace, g.name): [h for s in g.servers for h in s.hosts]
            for g in spec.policy.gateways
        }

    def _names_in(self, namespace: str) -> list[str]:
        return [k.name for k in self.index.workloads if k.namespace == namespace]

    def _key(self, ref: str, namespace: str) -> ServiceKey:
        return self.hosts.key(ref, namespace)

    def _service_exists(self, ref: str, namespace: str, path: str) -> Iterator[Problem]:
        key = self._key(ref, namespace)
        if ref in self.index.external_hosts:
            return
        workload = self.index.workloads.get(key)
        if workload is None:
            yield Problem(
                path,
                f"no workload {key.name!r} in namespace {key.namespace!r} "
                "and no external service with that host"
                + suggestion(key.name, self._names_in(key.namespace), "workload"),
            )
        elif not workload.ports:
            yield Problem(
                path, f"workload {key.name!r} exposes no ports, so it cannot be routed to"
            )

    def _subset_defined(
        self, ref: str, subset: str | None, namespace: str, path: str
    ) -> Iterator[Problem]:
        if subset is None or ref in self.index.external_hosts:
            return
        key = self._key(ref, namespace)
        if key in self.index.workloads and subset not in self.index.subsets.get(key, ()):
            defined = sorted(self.index.subsets.get(key, ()))
            yield Problem(
                path,
                f"subset {subset!r} of {key.name!r} is not defined by any DestinationPolicy "
                f"or Canary; defined: {defined or 'none'}",
            )

    def _destination(self, dest: Destination, namespace: str, path: str) -> Iterator[Problem]:
        found = list(self._service_exists(dest.service, namespace, f"{path}.service"))
        yield from found
        if found:
            return
        yield from self._subset_defined(dest.service, dest.subset, namespace, f"{path}.subset")
        if dest.port is not None and dest.service not in self.index.external_hosts:
            workload = self.index.workloads[self._key(dest.service, namespace)]
            numbers = [p.number for p in workload.ports]
            if dest.port not in numbers:
                yield Problem(
                    f"{path}.port",
                    f"{dest.service!r} has no port {dest.port}; its ports: {numbers}",
                )

    def _mirror(self, mirror: Mirror, namespace: str, path: str) -> Iterator[Problem]:
        found = list(self._service_exists(mirror.service, namespace, f"{path}.service"))
        yield from found
        if not found:
            yield from self._subset_defined(
                mirror.service, mirror.subset, namespace, f"{path}.subset"
            )

    def virtual_services(self) -> Iterator[Problem]:
        bound: dict[tuple[str, str], str] = {}
        for vs in self.spec.policy.virtual_services:
            path = f"policy.virtual_services[{vs.name}]"
            if vs.namespace not in self.index.config_namespaces:
                yield undeclared_namespace(
                    f"{path}.namespace", vs.namespace, self.index.config_namespaces
                )
            gateways = vs.gateways or (MESH_GATEWAY,)
            for i, gateway in enumerate(vs.gateways):
                if gateway == MESH_GATEWAY:
                    continue
                if not self._gateway_declared(gateway, vs.namespace):
                    yield Problem(
                        f"{path}.gateways[{i}]",
                        f"no Gateway {gateway!r} is declared in policy.gateways "
                        "(use 'name', 'namespace/name' or 'mesh')",
                    )
            yield from self._host_problems(vs)
            if not vs.http:
                yield Problem(
                    f"{path}.http",
                    "a VirtualService needs at least one route; without one its hosts answer 404",
                )
            yield from _route_order_problems(vs.http, f"{path}.http")
            for host in vs.hosts:
                host_id = self._host_id(host, vs.namespace)
                for gateway in gateways:
                    binding = (host_id, _gateway_id(gateway, vs.namespace))
                    owner = bound.setdefault(binding, vs.name)
                    if owner != vs.name:
                        yield Problem(
                            f"{path}.hosts",
                            f"host {host!r} on gateway {gateway!r} is already routed by "
                            f"VirtualService {owner!r}; merge the routes into one VirtualService",
                        )
            for r, route in enumerate(vs.http):
                yield from self._route(route, vs.namespace, f"{path}.http[{r}]")
        for c, canary in enumerate(self.spec.policy.canaries):
            path = item_path("policy.canaries", c, canary)
            me = f"canary:{canary.service}"
            bindings = [(self._host_id(canary.service, canary.namespace), MESH_GATEWAY)]
            if canary.gateway is not None:
                if not self._gateway_declared(canary.gateway, canary.namespace):
                    yield Problem(
                        f"{path}.gateway",
                        f"no Gateway {canary.gateway!r} is declared in policy.gateways",
                    )
                gateway_id = _gateway_id(canary.gateway, canary.namespace)
                bindings += [(host, gateway_id) for host in canary.gateway_hosts]
                yield from self._served_problems(
                    f"{path}.gateway_hosts",
                    list(canary.gateway_hosts),
                    canary.gateway,
                    canary.namespace,
                )
            elif canary.gateway_hosts:
                yield Problem(f"{path}.gateway_hosts", "gateway_hosts need a gateway")
            for host_id, gateway in bindings:
                owner = bound.setdefault((host_id, gateway), me)
                if owner != me:
                    yield Problem(
                        f"{path}.service",
                        f"host {host_id!r} on {gateway!r} is already routed by VirtualService "
                        f"{owner!r}; a canary owns its service's routing: move the other routes into it",
                    )

    def _gateway_declared(self, ref: str, namespace: str) -> bool:
        """Whether ``name`` (in ``namespace``) or ``namespace/name`` is in policy.gateways."""
        return gateway_key(ref, namespace) in self.index.gateways

    def _host_id(self, host: str, namespace: str) -> str:
        return self.hosts.host_or_written(host, namespace)

    def _host_problems(self, vs: VirtualService) -> Iterator[Problem]:
        """Hosts that resolve to nothing, and Gateways a route binds to that serve none of
        its hosts: Istio binds gateway routes by host, so such a route binds to nothing
        and the gateway answers 404 (istioctl: IST0132)."""
        path = f"policy.virtual_services[{vs.name}]"
        resolved = []
        for i, host in enumerate(vs.hosts):
            found = self.hosts.host(host, vs.namespace)
            if found is None:
                yield Problem(
                    f"{path}.hosts[{i}]",
                    f"{host!r} is neither a declared service (name or name.namespace), an "
                    "external service's host, nor a hostname a Gateway in policy.gateways serves",
                )
            else:
                resolved.append(found)
        if not resolved:
            return
        where = f"{path}.hosts[0]" if len(vs.hosts) == 1 else f"{path}.hosts"
        for gateway in vs.gateways:
            yield from self._served_problems(where, resolved, gateway, vs.namespace)

    def _served_problems(
        self, path: str, hosts: list[str], gateway: str, namespace: str
    ) -> Iterator[Problem]:
        if gateway == MESH_GATEWAY:
            return
        served = self.gateway_hosts.get(gateway_key(gateway, namespace))
        if served is not None and not any(served_by(served, host) for host in hosts):
            shown = ", ".join(repr(h) for h in hosts)
            yield Problem(
                path,
                f"{shown} not served by Gateway {gateway!r} (its servers' hosts: "
                f"{sorted(set(served))}): the route would bind to nothing and the gateway "
                "answer 404; use one of those hosts or add it to a server",
            )

    def _route(self, route: HttpRoute, namespace: str, path: str) -> Iterator[Problem]:
        for m, match in enumerate(route.match):
            yield from _http_match(match, f"{path}.match[{m}]")
        if not route.destinations:
            yield Problem(f"{path}.destinations", "a route needs at least one destination")
        for d, dest in enumerate(route.destinations):
            yield from self._destination(dest, namespace, f"{path}.destinations[{d}]")
        if len(route.destinations) > 1:
            weights = [d.weight for d in route.destinations]
            if any(w is None for w in weights):
                yield Problem(
                    f"{path}.destinations",
                    "every destination of a route with several needs a weight",
                )
            elif sum(w for w in weights if w is not None) != 100:
                yield Problem(
                    f"{path}.destinations",
                    f"weights {weights} sum to {sum(w for w in weights if w is not None)}; "
                    "they must sum to 100",
                )
        if route.retries is not None:
            yield from _retries(route.retries, f"{path}.retries")
        if route.fault is not None:
            yield from _fault(route.fault, f"{path}.fault")
        if route.mirror is not None:
            yield from self._mirror(route.mirror, namespace, f"{path}.mirror")

    def destination_policies(self) -> Iterator[Problem]:
        owners: dict[ServiceKey, str] = {}
        for i, dp in enumerate(self.spec.policy.destination_policies):
            path = f"policy.destination_policies[{i}]"
            key = self._key(dp.service, dp.namespace)
            yield from self._service_exists(dp.service, dp.namespace, f"{path}.service")
            if owners.setdefault(key, path) != path:
                yield Problem(
                    f"{path}.service",
                    f"{dp.service!r} already has a DestinationPolicy at {owners[key]}; "
                    "Istio applies only one DestinationRule per host",
                )
            deployed = self.index.versions.get(key, set())
            yield from _subset_problems(dp.subsets, f"{path}.subsets")
            for subset in dp.subsets:
                if key in self.index.workloads and subset.version not in deployed:
                    yield Problem(
                        f"{path}.subsets[{subset.name}].version",
                        f"no Deployment of {key.name!r} has version {subset.version!r}; "
                        f"deployed: {sorted(deployed)}",
                    )
            yield from locality_problems(dp, path)
            if dp.consistent_hash is not None:
                yield from _consistent_hash(dp.consistent_hash, f"{path}.consistent_hash")
                if dp.load_balancer is not None:
                    yield Problem(
                        f"{path}.load_balancer",
                        "choose either a load_balancer algorithm or consistent_hash, not both",
                    )

    def canaries(self) -> Iterator[Problem]:
        seen: set[ServiceKey] = set()
        for c, canary in enumerate(self.spec.policy.canaries):
            path = item_path("policy.canaries", c, canary)
            key = self._key(canary.service, canary.namespace)
            if key in seen:
                yield Problem(f"{path}.service", f"{canary.service!r} has two canaries")
            seen.add(key)
            workload = self.index.workloads.get(key)
            if workload is None:
                yield Problem(
                    f"{path}.service",
                    f"no workload {key.name!r} in namespace {key.namespace!r} to canary"
                    + suggestion(key.name, self._names_in(key.namespace), "workload"),
                )
                continue
            if workload.virtual_machines is not None:
                yield Problem(
                    f"{path}.service",
                    f"{key.name!r} runs on virtual machines, which have one version: a canary "
                    "needs Deployments (declare the candidate's machines as their own workload)",
                )
                continue
            images = {v.name: v.image for v in workload.versions}
            if canary.stable not in images:
                yield Problem(
                    f"{path}.stable",
                    f"{key.name!r} has no version {canary.stable!r}; versions: {sorted(images)}",
                )
            if canary.candidate == canary.stable:
                yield Problem(
                    f"{path}.candidate", "the candidate must differ from the stable version"
                )
            candidate_image = images.get(canary.candidate, canary.candidate_image)
            if candidate_image is None:
                yield Problem(
                    f"{path}.candidate_image",
                    f"version {canary.candidate!r} is not declared by {key.name!r}; "
                    "give its image in candidate_image",
                )
            elif candidate_image == images.get(canary.stable):
                yield Problem(
                    f"{path}.candidate_image",
                    f"the candidate runs the same image as stable ({candidate_image}); "
                    "a canary must change something",
                )
            if canary.match and canary.weight:
                yield Problem(
                    f"{path}.weight",
                    "set either weight (a percentage split) or match (A/B by request), not both",
                )
            for m, match in enumerate(canary.match):
                yield from _http_match(match, f"{path}.match[{m}]")
            if canary.retries is not None:
                yield from _retries(canary.retries, f"{path}.retries")
            if canary.fault is not None:
                yield from _fault(canary.fault, f"{path}.fault")
            if canary.analysis is not None:
                yield from _analysis_problems(canary, f"{path}.analysis")


def _analysis_problems(canary: Canary, path: str) -> Iterator[Problem]:
    """An analysis whose plan the canary cannot follow: steps out of order, a weight off
    the plan (where would the next step be?), a match-routed canary (it has no weight to
    advance), or an interval too short for Prometheus's rates (two scrapes at least)."""
    assert canary.analysis is not None
    steps = canary.analysis.steps
    if not steps:
        yield Problem(f"{path}.steps", "give at least one step, e.g. (1, 10, 50, 100)")
    elif any(b <= a for a, b in pairwise(steps)):
        yield Problem(
            f"{path}.steps",
            f"steps must increase strictly, each one more traffic than the last (got {list(steps)})",
        )
    if canary.match:
        yield Problem(
            path,
            "an analysis advances a weight, and a canary routed by match has none: "
            "remove match to run a weighted rollout, or remove the analysis",
        )
    elif steps and canary.weight and canary.weight not in steps:
        yield Problem(
            f"{path[: -len('.analysis')]}.weight",
            f"weight {canary.weight} is not a step of its analysis ({', '.join(map(str, steps))}): "
            f"set 0 or one of them, or add {canary.weight} to analysis.steps",
        )
    if duration_seconds(canary.analysis.interval) < MIN_ANALYSIS_SECONDS:
        yield Problem(
            f"{path}.interval",
            f"{canary.analysis.interval} is shorter than {MIN_ANALYSIS_SECONDS // 60}m: a rate "
            "over it spans too few scrapes (the add-on scrapes every 15s) to judge; use '1m' or more",
        )


def _subset_problems(subsets: Sequence[Subset], path: str) -> Iterator[Problem]:
    """A subset name used twice, or two subsets selecting the same pods (the same version)."""
    names: set[str] = set()
    versions: dict[str, str] = {}
    for i, subset in enumerate(subsets):
        if subset.name in names:
            yield declared_twice(f"{path}[{i}].name", f"subset {subset.name!r}")
        names.add(subset.name)
        first = versions.setdefault(subset.version, subset.name)
        if first != subset.name:
            yield Problem(
                f"{path}[{i}].version",
                f"version {subset.version!r} selects the same pods as subset {first!r}; "
                "route to that subset instead",
            )


def _consistent_hash(ch: ConsistentHash, path: str) -> Iterator[Problem]:
    keys = [
        name
        for name, given in (
            ("http_header_name", ch.http_header_name is not None),
            ("http_cookie_name", ch.http_cookie_name is not None),
            ("use_source_ip", ch.use_source_ip),
        )
        if given
    ]
    if len(keys) != 1:
        yield Problem(
            path,
            f"hash on exactly one of http_header_name, http_cookie_name or use_source_ip (got {keys or 'none'})",
        )
    if ch.http_cookie_ttl is not None and ch.http_cookie_name is None:
        yield Problem(f"{path}.http_cookie_ttl", "a cookie TTL needs http_cookie_name")
