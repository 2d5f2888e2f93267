"""Who enters where: each ingress route's backends, judged for the gateway's own identity.

An ingress gateway is a caller like any other: its proxy calls the route's backend over
mTLS with its service account, and the backend's AuthorizationPolicies judge that
identity. Which identity depends on the API: an Istio Gateway runs on the installed
gateway deployment (``gateway_workloads``), a Gateway API one on the proxy istiod deploys
for it (``<name>-istio`` in its namespace). Moving a gateway between the APIs changes the
caller, and a default-deny namespace that allowed the old one answers every request with
403: validation refuses such a route and ``graph`` lists every entry with its verdict.
End users' requests may carry JWTs, so token rules count as matching some requests here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

from meshstack.access.authorization import Endpoint, Verdict, endpoints
from meshstack.model import model_of
from meshstack.spec.edge import Gateway, GatewayApi
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.paths import item_path
from meshstack.spec.refs import ServiceKey


@dataclass(frozen=True)
class Entry:
    """One backend of one ingress route, as the gateway's proxy calls it."""

    gateway: str
    """``namespace/name`` of the Gateway."""
    identity: str
    """``namespace/service-account`` of the proxy that serves it."""
    route: str
    """Field path of the destination in the spec."""
    callee: str
    verdict: Verdict
    reason: str


def gateway_proxy(spec: MeshSpec, gateway: Gateway) -> Endpoint | None:
    """The proxy serving ``gateway``: who calls its routes' backends."""
    if gateway.api is GatewayApi.KUBERNETES:
        account = ServiceKey(gateway.namespace, gateway.deployed_account)
        return Endpoint(key=account, account=account, ports=frozenset())
    workload = spec.gateway_workload(gateway.workload)
    if workload is None:
        return None
    return Endpoint(
        key=ServiceKey(workload.namespace, workload.name),
        account=ServiceKey(workload.namespace, workload.service_account),
        ports=frozenset(),
    )


def _routes(spec: MeshSpec) -> Iterator[tuple[Gateway, str, str, str]]:
    """``(gateway, field path, service ref, namespace it is written in)`` per backend."""
    for vs in spec.policy.virtual_services:
        for ref in vs.gateways:
            gateway = spec.gateway(ref, vs.namespace)
            if gateway is None:
                continue
            for r, route in enumerate(vs.http):
                for d, dest in enumerate(route.destinations):
                    path = f"policy.virtual_services[{vs.name}].http[{r}].destinations[{d}]"
                    yield gateway, path, dest.service, vs.namespace
    for c, canary in enumerate(spec.policy.canaries):
        gateway = spec.gateway(canary.gateway, canary.namespace) if canary.gateway else None
        if gateway is not None:
            path = item_path("policy.canaries", c, canary)
            yield gateway, path, canary.service, canary.namespace


def who_can_enter(spec: MeshSpec) -> list[Entry]:
    """Every ingress route's backend with the verdict for its gateway's proxy."""
    routes = list(_routes(spec))
    if not routes:
        return []  # validation asks on every `up`: no index for a mesh without ingress
    evaluator = model_of(spec).authorization
    hosts = model_of(spec).hosts
    backends = {e.key: e for e in endpoints(spec)}
    found = []
    for gateway, path, service, namespace in routes:
        proxy = gateway_proxy(spec, gateway)
        callee = backends.get(hosts.key(service, namespace))
        if proxy is None or callee is None:
            continue  # validation reports the unknown gateway workload or service
        verdict, reason = evaluator.judge(proxy, callee, end_user_tokens=True, from_gateway=True)
        found.append(
            Entry(
                gateway=f"{gateway.namespace}/{gateway.name}",
                identity=f"{proxy.account.namespace}/{proxy.account.name}",
                route=path,
                callee=callee.label,
                verdict=verdict,
                reason=reason,
            )
        )
    return found


def to_markdown(entries: list[Entry]) -> str:
    """The ``meshstack graph`` section: what each gateway's proxy may call, one line per
    gateway, caller, callee and verdict, naming every route that leads there (a
    VirtualService sending four paths to one backend is one entry, not four alike)."""
    out = ["", "## Ingress: what each gateway's proxy may call", ""]
    routes: dict[tuple[str, str, str, str, str], list[str]] = {}
    for e in entries:
        line = (e.gateway, e.identity, e.callee, e.verdict.value, e.reason)
        routes.setdefault(line, []).append(e.route)
    out += [
        f"- {gateway} as {identity} → {callee}: {verdict} ({reason}); "
        f"{'route' if len(paths) == 1 else 'routes'} {', '.join(paths)}"
        for (gateway, identity, callee, verdict, reason), paths in routes.items()
    ] or ["- no ingress routes"]
    return "\n".join(out) + "\n"


def as_json(entries: list[Entry]) -> list[dict[str, str]]:
    return [asdict(e) | {"verdict": e.verdict.value} for e in entries]
