"""Routes as HTTPRoutes: the translation, and what HTTPRoute cannot express.

The same typed gateway and routes that render as an Istio ``Gateway`` and
``VirtualService`` render here when the gateway says ``api=GatewayApi.KUBERNETES``.
Translation and the judgement of what HTTPRoute cannot express are one pass
(:class:`RouteTranslation`): validation runs it and reports what it could not carry, with
the field's path; rendering runs it on a valid spec. So the renderer can never emit a
route the validator did not see, nor drop a setting silently.

What maps (as Istio's own HTTPRoute → VirtualService conversion reads it back):

* path ``exact``/``prefix``/``regex`` → ``Exact``/``PathPrefix``/``RegularExpression``
  (Istio trims a trailing ``/`` of a ``PathPrefix``, so such a prefix is refused). A
  ``PathPrefix`` matches whole path segments (Istio serves it as Envoy's
  ``path_separated_prefix``): ``prefix="/api"`` takes ``/api`` and ``/api/items`` here but
  not ``/apiary``, which a VirtualService's string prefix takes — the one way the same
  routes differ between the two APIs;
* header ``exact``/``regex`` → ``Exact``/``RegularExpression``; a header ``prefix`` → the
  full-match regex ``<escaped prefix>.*``; method ``exact`` only;
* weights, ports, ``timeout`` → ``timeouts.request``, a mirror → ``RequestMirror``;
* retries only as HTTPRoute defines them: a number of attempts on connection errors
  (``connect-failure``, ``refused-stream``, ``unavailable``, ``cancelled``), no per-try
  timeout;
* a destination in another namespace → a ``ReferenceGrant`` there for exactly that
  Service; a route in another namespace than its gateway → the listener's
  ``allowedRoutes`` names that namespace;
* an HTTP server with ``https_redirect`` → an HTTPRoute on that listener whose only rule
  redirects to HTTPS with a 301.

Not expressible (a validation error at the field): fault injection, DestinationRule
subsets (HTTPRoute sends to Services), external hosts as destinations, TLS
pass-through and mutual TLS listeners, TCP/TLS servers, namespace-qualified server hosts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import re2

from meshstack.hosts import HostResolver, served_by
from meshstack.k8s import K8sObject, drop_none, k8s_object
from meshstack.model import model_of
from meshstack.spec.base import duration_seconds
from meshstack.spec.edge import Gateway, GatewayApi, GatewayServer, ServerProtocol, TlsMode
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import item_path
from meshstack.spec.refs import ServiceKey
from meshstack.spec.traffic import (
    Destination,
    HttpMatch,
    HttpRoute,
    Mirror,
    RetryPolicy,
    StringMatch,
    VirtualService,
)

GATEWAY_API = "gateway.networking.k8s.io/v1"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
ISTIO_GATEWAY_CLASS = "istio"
"""The GatewayClass istiod creates and serves: it deploys a proxy per Gateway."""

HTTP_ROUTE_RETRY_CONDITIONS = frozenset(
    {"connect-failure", "refused-stream", "unavailable", "cancelled"}
)
"""What Istio retries on for an HTTPRoute ``retry`` without status codes."""

HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
MAX_RULES = 16
MAX_MATCHES_PER_RULE = 64
MAX_MATCHES_PER_ROUTE = 128
MAX_HOSTNAMES = 16
MAX_LISTENERS = 64
MAX_PATH = 1024
MAX_HEADER_NAME = 256
MAX_HEADER_VALUE = 4096
"""The HTTPRoute schema's length limits (bytes) on a path match, a header name and value."""
_RULE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$")
_PATH_FORBIDDEN = ("//", "/./", "/../", "%2f", "%2F", "#")
_DURATION_UNITS = (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))

Inexpressible = tuple[str, str]
"""``(field path, why)`` for a setting HTTPRoute cannot carry."""


def kubernetes_gateway(spec: MeshSpec, ref: str, namespace: str) -> Gateway | None:
    """The Gateway API gateway a route's ``gateways`` entry names, if it is one."""
    found = spec.gateway(ref, namespace)
    return found if found is not None and found.api is GatewayApi.KUBERNETES else None


def istio_gateway_refs(spec: MeshSpec, vs: VirtualService) -> list[str] | None:
    """The ``gateways`` the VirtualService keeps: all but Gateway API ones. ``None`` when
    every gateway it names is a Gateway API one (an HTTPRoute replaces it entirely)."""
    kept = [g for g in vs.gateways if kubernetes_gateway(spec, g, vs.namespace) is None]
    return None if vs.gateways and not kept else kept


def gateway_api_duration(value: str) -> str | None:
    """``1.5s`` → ``1s500ms``: Gateway API durations are whole units of h/m/s/ms (at most
    four, five digits each); ``None`` when ``value`` needs finer than a millisecond."""
    millis = duration_seconds(value) * 1000
    if abs(millis - round(millis)) > 1e-6:
        return None
    left, counts = round(millis), []
    for unit, size in _DURATION_UNITS:
        count, left = divmod(left, size)
        if count:
            counts.append((count, unit))
    if len(counts) > 4 or any(count > 99_999 for count, _ in counts):
        return None
    return "".join(f"{count}{unit}" for count, unit in counts)


@dataclass(frozen=True)
class Listener:
    """One Gateway API listener: a server's port and protocol for one of its hosts."""

    name: str
    server: GatewayServer
    hostname: str | None


def listeners(gw: Gateway) -> list[Listener]:
    """A listener per server host (a listener has one hostname; ``*`` is none at all),
    named ``<protocol>-<port>``, numbered from 0 where several share that name."""
    pairs = [(server, host) for server in gw.servers for host in server.hosts]
    names = [f"{server.protocol.value.lower()}-{server.port}" for server, _ in pairs]
    seen: dict[str, int] = defaultdict(int)
    found = []
    for (server, host), name in zip(pairs, names, strict=True):
        if names.count(name) > 1:
            seen[name] += 1
            name = f"{name}-{seen[name] - 1}"
        found.append(Listener(name, server, None if host == "*" else host))
    return found


def gateway_problems(gw: Gateway, path: str) -> Iterator[Inexpressible]:
    """What a Gateway API gateway cannot declare of the typed gateway."""
    if "workload" in gw.model_fields_set:
        yield (
            f"{path}.workload",
            f"a Gateway API gateway runs on its own proxy (istiod deploys {gw.deployed_account!r}"
            "); remove workload, or use api=GatewayApi.ISTIO to run on an installed gateway",
        )
    for s, server in enumerate(gw.servers):
        where = f"{path}.servers[{s}]"
        if server.protocol not in (ServerProtocol.HTTP, ServerProtocol.HTTPS):
            yield (
                f"{where}.protocol",
                f"{server.protocol.value} servers need TCP/TLS routes, which specs do not "
                "declare; a Gateway API gateway serves HTTP and HTTPS",
            )
        elif server.protocol is ServerProtocol.HTTPS and server.tls_mode is not TlsMode.SIMPLE:
            yield (
                f"{where}.tls_mode",
                f"{server.tls_mode.value} has no Gateway API listener meshstack can route "
                "HTTP on; use TlsMode.SIMPLE (TLS terminated with tls_secret) or an Istio gateway",
            )
        for h, host in enumerate(server.hosts):
            if "/" in host:
                yield (
                    f"{where}.hosts[{h}]",
                    f"{host!r}: a listener's hostname has no namespace part (the namespaces "
                    "allowed to attach routes follow from the routes); write the host alone",
                )
    if len(listeners(gw)) > MAX_LISTENERS:
        yield (f"{path}.servers", f"more than {MAX_LISTENERS} listeners (one per server host)")
    first: dict[tuple[int, str, str], int] = {}
    for s, server in enumerate(gw.servers):
        for h, host in enumerate(server.hosts):
            combination = (server.port, server.protocol.value, host)
            if first.setdefault(combination, s) != s:
                yield (
                    f"{path}.servers[{s}].hosts[{h}]",
                    f"servers[{first[combination]}] already serves {host!r} on port "
                    f"{server.port} ({server.protocol.value}); the Gateway API refuses two "
                    "listeners with the same port, protocol and hostname: merge the servers "
                    "or remove the host from one",
                )


@dataclass
class RouteTranslation:
    """One VirtualService bound to Gateway API gateways, as an HTTPRoute, together with
    everything of it HTTPRoute cannot express and the cross-namespace Services it needs
    a ReferenceGrant for."""

    spec: MeshSpec
    vs: VirtualService
    hosts: HostResolver
    ports: dict[ServiceKey, list[int]]
    path: str
    problems: list[Inexpressible] = field(default_factory=list)
    foreign_services: set[ServiceKey] = field(default_factory=set)

    def refuse(self, where: str, why: str) -> None:
        self.problems.append((f"{self.path}.{where}", why))

    def http_route(self) -> K8sObject:
        vs = self.vs
        gateways = [
            gw
            for ref in vs.gateways
            if (gw := kubernetes_gateway(self.spec, ref, vs.namespace)) is not None
        ]
        hostnames = [h for h in vs.hosts if any(_serves(gw, h) for gw in gateways)]
        if len(hostnames) > MAX_HOSTNAMES:
            self.refuse("hosts", f"an HTTPRoute has at most {MAX_HOSTNAMES} hostnames")
        if len(vs.http) > MAX_RULES:
            self.refuse("http", f"an HTTPRoute has at most {MAX_RULES} rules; split the routes")
        if sum(len(r.match) for r in vs.http) > MAX_MATCHES_PER_ROUTE:
            self.refuse("http", f"an HTTPRoute has at most {MAX_MATCHES_PER_ROUTE} matches")
        self.precedence_problems()
        return k8s_object(
            GATEWAY_API,
            "HTTPRoute",
            vs.name,
            vs.namespace,
            spec={
                "parentRefs": [
                    ref for gw in gateways for ref in parent_refs(gw, vs.namespace, hostnames)
                ],
                "hostnames": hostnames,
                "rules": [self.rule(r, f"http[{i}]") for i, r in enumerate(vs.http)],
            },
        )

    def precedence_problems(self) -> None:
        """A VirtualService takes the first route that matches; Istio orders an HTTPRoute's
        matches by specificity (exact path, longer prefix, regex, then a method, then more
        headers: the Gateway API's precedence), keeping the written order only among
        equals. Where a later match is more specific than an earlier one it may overlap, the
        same request would reach another backend: refused, with the two matches named."""
        flat = [
            (r, f"http[{r}].match[{m}]" if route.match else f"http[{r}]", match)
            for r, route in enumerate(self.vs.http)
            for m, match in enumerate(route.match or (HttpMatch(),))
        ]
        for i, (r_first, where_first, first) in enumerate(flat):
            for r_later, where_later, later in flat[i + 1 :]:
                if r_later == r_first or _rank(later) <= _rank(first):
                    continue
                if _may_overlap(first, later):
                    self.refuse(
                        where_later,
                        f"the Gateway API ranks matches by specificity, not order: this one "
                        f"would take requests that {where_first} (above it) takes in the "
                        "VirtualService; move it above, or make the two disjoint",
                    )

    def rule(self, route: HttpRoute, where: str) -> dict[str, Any]:
        if route.name is not None and not _RULE_NAME.match(route.name):
            self.refuse(
                f"{where}.name",
                f"{route.name!r}: an HTTPRoute rule name is lowercase letters, digits, '-' and '.'",
            )
        if len(route.match) > MAX_MATCHES_PER_RULE:
            self.refuse(f"{where}.match", f"at most {MAX_MATCHES_PER_RULE} matches per rule")
        if route.fault is not None:
            self.refuse(
                f"{where}.fault",
                "HTTPRoute has no fault injection; inject faults on a mesh route (gateways: "
                "mesh) or through an Istio gateway",
            )
        single = len(route.destinations) == 1
        timeout = self.duration(route.timeout, f"{where}.timeout")
        return drop_none(
            {
                "name": route.name,
                "matches": [self.match(m, f"{where}.match[{i}]") for i, m in enumerate(route.match)]
                or None,
                "backendRefs": [
                    self.backend(d, f"{where}.destinations[{i}]", single)
                    for i, d in enumerate(route.destinations)
                ],
                "filters": [self.mirror(route.mirror, f"{where}.mirror")] if route.mirror else None,
                "timeouts": {"request": timeout} if timeout else None,
                "retry": self.retry(route.retries, f"{where}.retries") if route.retries else None,
            }
        )

    def duration(self, value: str | None, where: str) -> str | None:
        if value is None:
            return None
        found = gateway_api_duration(value)
        if found is None:
            self.refuse(where, f"{value!r}: Gateway API durations are whole milliseconds")
        return found

    def retry(self, policy: RetryPolicy, where: str) -> dict[str, Any]:
        if policy.per_try_timeout is not None:
            self.refuse(
                f"{where}.per_try_timeout", "an HTTPRoute retry has no per-try timeout; remove it"
            )
        if set(policy.retry_on) != HTTP_ROUTE_RETRY_CONDITIONS:
            self.refuse(
                f"{where}.retry_on",
                f"an HTTPRoute retries on connection errors only: set retry_on to "
                f"{tuple(sorted(HTTP_ROUTE_RETRY_CONDITIONS))} (it was {policy.retry_on})",
            )
        return {"attempts": policy.attempts}

    def match(self, match: HttpMatch, where: str) -> dict[str, Any]:
        if match.name is not None:
            self.refuse(
                f"{where}.name",
                "an HTTPRoute match has no name (Istio names the route after its rule): "
                "put the match in a rule of its own and name the rule",
            )
        headers = [self.header(name, m) for name, m in match.all_headers().items()]
        for name, header in zip(match.all_headers(), headers, strict=True):
            if len(name) > MAX_HEADER_NAME:
                self.refuse(
                    f"{where}.headers[{name}]",
                    f"an HTTPRoute header name has at most {MAX_HEADER_NAME} characters",
                )
            if len(header["value"].encode()) > MAX_HEADER_VALUE:
                self.refuse(
                    f"{where}.headers[{name}]",
                    f"an HTTPRoute header value has at most {MAX_HEADER_VALUE} bytes "
                    f"(this one has {len(header['value'].encode())}); match a shorter value",
                )
        return drop_none(
            {
                "path": self.uri(match.uri, f"{where}.uri") if match.uri else None,
                "headers": headers or None,
                "method": self.method(match.method, f"{where}.method") if match.method else None,
            }
        )

    def uri(self, match: StringMatch, where: str) -> dict[str, str]:
        if match.regex is not None:
            return {"type": "RegularExpression", "value": match.regex}
        kind, value = (
            ("Exact", match.exact) if match.exact is not None else ("PathPrefix", match.prefix)
        )
        assert value is not None  # one of the three is set (validated with the field)
        field_name = "exact" if kind == "Exact" else "prefix"
        if kind == "PathPrefix" and value != "/" and value.endswith("/"):
            self.refuse(
                f"{where}.prefix",
                f"{value!r}: Istio drops a PathPrefix's trailing '/', which would widen the "
                f"match; write {value.rstrip('/')!r} or a regex",
            )
        bad = _path_problem(value)
        if len(value.encode()) > MAX_PATH:
            bad = f"an HTTPRoute path has at most {MAX_PATH} bytes; match a shorter prefix"
        if bad:
            self.refuse(f"{where}.{field_name}", f"{value!r}: {bad}")
        return {"type": kind, "value": value}

    def header(self, name: str, match: StringMatch) -> dict[str, str]:
        """Exact and regex carry over; a prefix becomes the full-match regex
        ``<escaped prefix>.*``, which Envoy's RE2 reads the same way."""
        if match.exact is not None:
            return {"type": "Exact", "name": name, "value": match.exact}
        if match.regex is not None:
            return {"type": "RegularExpression", "name": name, "value": match.regex}
        return {
            "type": "RegularExpression",
            "name": name,
            "value": f"{re.escape(match.prefix or '')}.*",
        }

    def method(self, match: StringMatch, where: str) -> str | None:
        if match.exact is None or match.exact not in HTTP_METHODS:
            self.refuse(
                where,
                f"an HTTPRoute matches one exact method of {sorted(HTTP_METHODS)}",
            )
            return None
        return match.exact

    def target(self, service: str, subset: str | None, where: str) -> ServiceKey | None:
        if service in self.hosts.external:
            self.refuse(
                f"{where}.service",
                f"{service!r} is an external host; an HTTPRoute sends to Services of the mesh",
            )
            return None
        if subset is not None:
            self.refuse(
                f"{where}.subset",
                "an HTTPRoute sends to Services, not DestinationRule subsets: give the version "
                "its own Service, or route through an Istio gateway",
            )
        key = self.hosts.key(service, self.vs.namespace)
        if key.namespace != self.vs.namespace:
            self.foreign_services.add(key)
        return key

    def port(self, key: ServiceKey, port: int | None, where: str) -> int | None:
        if port is not None:
            return port
        ports = self.ports.get(key, [])
        if len(ports) != 1:
            self.refuse(
                f"{where}.port",
                f"an HTTPRoute names the Service port; {key.name!r} has {sorted(ports)}",
            )
            return None
        return ports[0]

    def backend(self, dest: Destination, where: str, single: bool) -> dict[str, Any]:
        key = self.target(dest.service, dest.subset, where)
        if key is None:
            return {"name": dest.service}
        return self._ref(key, self.port(key, dest.port, where)) | drop_none(
            {"weight": None if single else dest.weight}
        )

    def mirror(self, mirror: Mirror, where: str) -> dict[str, Any]:
        key = self.target(mirror.service, mirror.subset, where)
        ref = (
            {"name": mirror.service} if key is None else self._ref(key, self.port(key, None, where))
        )
        share: dict[str, Any] = (
            {"percent": int(mirror.percentage)}
            if float(mirror.percentage).is_integer()
            else {
                "fraction": {
                    "numerator": round(mirror.percentage * 10_000),
                    "denominator": 1_000_000,
                }
            }
        )
        return {"type": "RequestMirror", "requestMirror": {"backendRef": ref, **share}}

    def _ref(self, key: ServiceKey, port: int | None) -> dict[str, Any]:
        return drop_none(
            {
                "name": key.name,
                "namespace": key.namespace if key.namespace != self.vs.namespace else None,
                "port": port,
            }
        )


def _path(match: HttpMatch) -> tuple[str, str]:
    """``(kind, value)`` of a match's path; none is the Gateway API's ``PathPrefix /``."""
    return ("prefix", "/") if match.uri is None else _condition(match.uri)


_URI_RANK = {"exact": 3, "prefix": 2, "regex": 1}


def _rank(match: HttpMatch) -> tuple[int, int, bool, int]:
    """Istio's sort key for a Gateway API match (higher goes first)."""
    kind, value = _path(match)
    headers = len(match.all_headers())
    return _URI_RANK[kind], len(value), match.method is not None, headers


def _strings_may_overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether some value satisfies both (kind, value) conditions; unsure means yes."""
    for (kind, value), (other_kind, other) in ((a, b), (b, a)):
        if kind == "exact" and other_kind == "exact":
            return value == other
        if kind == "exact" and other_kind == "prefix":
            return value.startswith(other)
        if kind == "exact" and other_kind == "regex":
            return _full_match(other, value)
    if a[0] == "prefix" and b[0] == "prefix":
        return a[1].startswith(b[1]) or b[1].startswith(a[1])
    return True


def _full_match(pattern: str, value: str) -> bool:
    """RE2's full match, as Envoy applies Istio's regexes."""
    try:
        return re2.fullmatch(pattern, value) is not None
    except re2.error:
        return True


def _condition(match: StringMatch) -> tuple[str, str]:
    """``(kind, value)`` of a string match: one of exact, prefix or regex is set."""
    if match.exact is not None:
        return "exact", match.exact
    if match.regex is not None:
        return "regex", match.regex
    return "prefix", match.prefix or ""


def _may_overlap(a: HttpMatch, b: HttpMatch) -> bool:
    """Whether one request can satisfy both matches (false only when provably not)."""
    if not _strings_may_overlap(_path(a), _path(b)):
        return False
    if (
        a.method is not None
        and b.method is not None
        and not _strings_may_overlap(_condition(a.method), _condition(b.method))
    ):
        return False
    headers_b = b.all_headers()
    return all(
        _strings_may_overlap(_condition(m), _condition(headers_b[name]))
        for name, m in a.all_headers().items()
        if name in headers_b
    )


def _path_problem(value: str) -> str | None:
    if not value.startswith("/"):
        return "an HTTPRoute path starts with '/'"
    if any(part in value for part in _PATH_FORBIDDEN) or value.endswith(("/..", "/.")):
        return "an HTTPRoute path has no '//', '/./', '/../', '%2f', '#' or trailing '/.'"
    if not _PATH_CHARS.match(value):
        return "an HTTPRoute path holds only URL path characters"
    return None


def _serves(gw: Gateway, host: str) -> bool:
    return any(served_by(s.hosts, host) for s in gw.servers if not s.https_redirect)


def parent_refs(gw: Gateway, namespace: str, hostnames: list[str]) -> list[dict[str, Any]]:
    """The gateway's listeners a route attaches to: those whose server serves one of the
    route's hosts, except HTTP listeners that only redirect to HTTPS."""
    refs = []
    for listener in listeners(gw):
        if listener.server.https_redirect:
            continue
        if any(served_by((listener.hostname or "*",), h) for h in hostnames):
            refs.append(
                drop_none(
                    {
                        "name": gw.name,
                        "namespace": gw.namespace if gw.namespace != namespace else None,
                        "sectionName": listener.name,
                    }
                )
            )
    return refs


def translations(spec: MeshSpec) -> Iterator[RouteTranslation]:
    """A translation per VirtualService bound to a Gateway API gateway."""
    hosts = model_of(spec).hosts
    ports = {
        ServiceKey(app.namespace, w.name): [p.number for p in w.ports]
        for app in spec.apps
        for w in app.workloads
    }
    for vs in spec.policy.virtual_services:
        if any(kubernetes_gateway(spec, ref, vs.namespace) for ref in vs.gateways):
            path = f"policy.virtual_services[{vs.name}]"
            yield RouteTranslation(spec, vs, hosts, ports, path)


def inexpressible(spec: MeshSpec) -> Iterator[Inexpressible]:
    """Everything of the spec's Gateway API gateways and routes that the API cannot carry."""
    for gw in spec.policy.gateways:
        if gw.api is GatewayApi.KUBERNETES:
            yield from gateway_problems(gw, f"policy.gateways[{gw.name}]")
    for translation in translations(spec):
        translation.http_route()
        yield from translation.problems
    for c, canary in enumerate(spec.policy.canaries):
        if canary.gateway and kubernetes_gateway(spec, canary.gateway, canary.namespace):
            yield (
                f"{item_path('policy.canaries', c, canary)}.gateway",
                "a canary splits traffic between DestinationRule subsets, which an HTTPRoute "
                "cannot route to; bind it to an Istio gateway (api=GatewayApi.ISTIO)",
            )
