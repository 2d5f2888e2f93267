"""Where an ingress request goes, read from rendered objects the way Istio reads them.

Two independent readers, one per API, each written from Istio's behaviour rather than
from meshstack's renderer:

* :func:`istio_answer` — an Istio ``Gateway`` server takes the request by port and host,
  then the first ``VirtualService`` route that matches (VirtualServices bound to that
  gateway, by host) decides;
* :func:`gateway_api_answer` — a Gateway API listener takes it by port and hostname, the
  ``HTTPRoute``s attached to that listener (and admitted by its ``allowedRoutes``) are
  flattened into one route per match, with the API's defaults (``PathPrefix /``; a
  ``PathPrefix`` matches whole path segments, unlike a VirtualService ``prefix``), and
  sorted the way istiod's conversion sorts them (exact path, then longer path, then
  prefix before regex, a method, more headers); the first that matches decides. A
  backend in another namespace counts only with a ``ReferenceGrant`` there.

Both answer with the same shape, so a test can ask whether the two APIs send a request to
the same place, with the same timeout, retries and mirror.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Objects = list[dict[str, Any]]
CLUSTER_SUFFIX = ".svc.cluster.local"


@dataclass(frozen=True)
class Request:
    host: str
    path: str
    port: int = 80
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    """``backends``: ``(namespace, service, port, percent)``; ``redirect``: the scheme a
    301 sends to; nothing at all: 404."""

    backends: frozenset[tuple[str, str, int, float]] = frozenset()
    redirect: str | None = None
    timeout_ms: int | None = None
    attempts: int | None = None
    mirror: tuple[str, str, int, float] | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)


NOT_FOUND = Answer()


def _host_matches(pattern: str, host: str) -> bool:
    pattern = pattern.rpartition("/")[2]
    return pattern in ("*", host) or (pattern.startswith("*.") and host.endswith(pattern[1:]))


def _string(match: dict[str, str], value: str | None) -> bool:
    if value is None:
        return False
    if "exact" in match:
        return value == match["exact"]
    if "prefix" in match:
        return value.startswith(match["prefix"])
    return re.fullmatch(match["regex"], value) is not None


def _millis(duration: str) -> int:
    units = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
    return round(
        sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration))
    )


def _service_ports(objects: Objects) -> dict[tuple[str, str], list[int]]:
    return {
        (o["metadata"]["namespace"], o["metadata"]["name"]): [p["port"] for p in o["spec"]["ports"]]
        for o in objects
        if o["kind"] == "Service"
    }


def _split(backends: list[tuple[str, str, int, float]]) -> frozenset[tuple[str, str, int, float]]:
    total = sum(b[3] for b in backends)
    return frozenset((ns, name, port, round(100 * w / total, 3)) for ns, name, port, w in backends)


# ---------------------------------------------------------------- Istio's own API


def istio_answer(objects: Objects, request: Request) -> Answer:
    gateways = [
        o
        for o in objects
        if o["kind"] == "Gateway" and o["apiVersion"].startswith("networking.istio.io")
    ]
    for gw in gateways:
        for server in gw["spec"]["servers"]:
            if server["port"]["number"] != request.port:
                continue
            if not any(_host_matches(h, request.host) for h in server["hosts"]):
                continue
            if server.get("tls", {}).get("httpsRedirect"):
                return Answer(redirect="https")
            return _istio_routes(objects, gw, request)
    return NOT_FOUND


def _bound_to(vs: dict[str, Any], gw: dict[str, Any]) -> bool:
    for ref in vs["spec"].get("gateways", []):
        namespace, _, name = ref.rpartition("/")
        if (namespace or vs["metadata"]["namespace"], name) == (
            gw["metadata"]["namespace"],
            gw["metadata"]["name"],
        ):
            return True
    return False


def _istio_match(match: dict[str, Any], request: Request) -> bool:
    headers = dict(request.headers)
    if "uri" in match and not _string(match["uri"], request.path):
        return False
    if "method" in match and not _string(match["method"], request.method):
        return False
    return all(_string(m, headers.get(name)) for name, m in match.get("headers", {}).items())


def _istio_routes(objects: Objects, gw: dict[str, Any], request: Request) -> Answer:
    ports = _service_ports(objects)
    for vs in objects:
        if vs["kind"] != "VirtualService" or not _bound_to(vs, gw):
            continue
        if not any(_host_matches(h, request.host) for h in vs["spec"]["hosts"]):
            continue
        for route in vs["spec"]["http"]:
            matches = route.get("match") or [{}]
            if not any(_istio_match(m, request) for m in matches):
                continue
            backends = []
            for to in route["route"]:
                name, namespace = to["destination"]["host"].removesuffix(CLUSTER_SUFFIX).split(".")
                port = to["destination"].get("port", {}).get("number")
                port = port if port is not None else ports[(namespace, name)][0]
                backends.append((namespace, name, port, float(to.get("weight", 100))))
            mirror = None
            if "mirror" in route:
                name, namespace = route["mirror"]["host"].removesuffix(CLUSTER_SUFFIX).split(".")
                port = route["mirror"].get("port", {}).get("number", ports[(namespace, name)][0])
                share = float(route.get("mirrorPercentage", {}).get("value", 100))
                mirror = (namespace, name, port, share)
            return Answer(
                backends=_split(backends),
                timeout_ms=_millis(route["timeout"]) if "timeout" in route else None,
                attempts=route["retries"]["attempts"] if "retries" in route else None,
                mirror=mirror,
            )
    return NOT_FOUND


# ---------------------------------------------------------------- the Gateway API


def gateway_api_answer(objects: Objects, request: Request) -> Answer:
    gateways = [
        o
        for o in objects
        if o["kind"] == "Gateway" and o["apiVersion"].startswith("gateway.networking.k8s.io")
    ]
    for gw in gateways:
        for listener in gw["spec"]["listeners"]:
            if listener["port"] != request.port:
                continue
            if not _host_matches(listener.get("hostname", "*"), request.host):
                continue
            return _gateway_api_routes(objects, gw, listener, request)
    return NOT_FOUND


def _admits(gw: dict[str, Any], listener: dict[str, Any], namespace: str) -> bool:
    allowed = listener.get("allowedRoutes", {}).get("namespaces", {"from": "Same"})
    if allowed["from"] == "All":
        return True
    if allowed["from"] == "Same":
        return namespace == gw["metadata"]["namespace"]
    (expression,) = allowed["selector"]["matchExpressions"]
    assert (expression["key"], expression["operator"]) == ("kubernetes.io/metadata.name", "In")
    return namespace in expression["values"]


def _attached(route: dict[str, Any], gw: dict[str, Any], listener: dict[str, Any]) -> bool:
    namespace = route["metadata"]["namespace"]
    return any(
        (ref.get("namespace", namespace), ref["name"])
        == (gw["metadata"]["namespace"], gw["metadata"]["name"])
        and ref.get("sectionName", listener["name"]) == listener["name"]
        for ref in route["spec"]["parentRefs"]
    )


_PATH_RANK = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}


def _rank(match: dict[str, Any]) -> tuple[int, int, bool, int]:
    path = match["path"]
    return (
        _PATH_RANK[path["type"]],
        len(path["value"]),
        "method" in match,
        len(match.get("headers", [])),
    )


def _segment_prefix(prefix: str, path: str) -> bool:
    """A Gateway API ``PathPrefix`` matches whole path segments (Istio serves it as Envoy's
    ``path_separated_prefix``, a trailing ``/`` trimmed): ``/api`` takes ``/api`` and
    ``/api/items``, not ``/apiary``."""
    prefix = prefix.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _api_match(match: dict[str, Any], request: Request) -> bool:
    path = match["path"]
    value = path["value"]
    if path["type"] == "Exact" and request.path != value:
        return False
    if path["type"] == "PathPrefix" and not _segment_prefix(value, request.path):
        return False
    if path["type"] == "RegularExpression" and not re.fullmatch(value, request.path):
        return False
    if "method" in match and match["method"] != request.method:
        return False
    headers = {k.lower(): v for k, v in request.headers}
    for header in match.get("headers", []):
        got = headers.get(header["name"].lower())
        if got is None:
            return False
        if header["type"] == "Exact" and got != header["value"]:
            return False
        if header["type"] == "RegularExpression" and not re.fullmatch(header["value"], got):
            return False
    return True


def _granted(objects: Objects, route_namespace: str, namespace: str, name: str) -> bool:
    if namespace == route_namespace:
        return True
    for grant in objects:
        if grant["kind"] != "ReferenceGrant" or grant["metadata"]["namespace"] != namespace:
            continue
        froms = grant["spec"]["from"]
        if not any(f["kind"] == "HTTPRoute" and f["namespace"] == route_namespace for f in froms):
            continue
        if any(t["kind"] == "Service" and t.get("name", name) == name for t in grant["spec"]["to"]):
            return True
    return False


def _gateway_api_routes(
    objects: Objects, gw: dict[str, Any], listener: dict[str, Any], request: Request
) -> Answer:
    flat = []
    for route in objects:
        if route["kind"] != "HTTPRoute" or not _attached(route, gw, listener):
            continue
        if not _admits(gw, listener, route["metadata"]["namespace"]):
            continue
        if not any(_host_matches(h, request.host) for h in route["spec"].get("hostnames", ["*"])):
            continue
        for rule in route["spec"].get("rules", [{}]):
            for match in rule.get("matches") or [{}]:
                full = {"path": {"type": "PathPrefix", "value": "/"}, **match}
                flat.append((route, rule, full))
    flat.sort(key=lambda item: _rank(item[2]), reverse=True)  # stable, as istiod's sort
    for route, rule, match in flat:
        if not _api_match(match, request):
            continue
        namespace = route["metadata"]["namespace"]
        filters = rule.get("filters", [])
        for f in filters:
            if f["type"] == "RequestRedirect":
                return Answer(redirect=f["requestRedirect"]["scheme"])
        backends = []
        for ref in rule.get("backendRefs", []):
            ref_ns = ref.get("namespace", namespace)
            if not _granted(objects, namespace, ref_ns, ref["name"]):
                return Answer(notes=(f"no ReferenceGrant for {ref_ns}/{ref['name']}",))
            backends.append((ref_ns, ref["name"], ref["port"], float(ref.get("weight", 1))))
        mirror = None
        for f in filters:
            if f["type"] == "RequestMirror":
                ref = f["requestMirror"]["backendRef"]
                ref_ns = ref.get("namespace", namespace)
                assert _granted(objects, namespace, ref_ns, ref["name"])
                fraction = f["requestMirror"].get("fraction")
                share = (
                    100 * fraction["numerator"] / fraction.get("denominator", 100)
                    if fraction
                    else float(f["requestMirror"].get("percent", 100))
                )
                mirror = (ref_ns, ref["name"], ref["port"], share)
        timeout = rule.get("timeouts", {}).get("request")
        return Answer(
            backends=_split(backends),
            timeout_ms=_millis(timeout) if timeout else None,
            attempts=rule["retry"].get("attempts", 2) if "retry" in rule else None,
            mirror=mirror,
        )
    return NOT_FOUND
