"""Rules for gateways, egress and per-proxy settings."""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.access.authorization import Verdict
from meshstack.access.ingress import who_can_enter
from meshstack.gateway_api.translation import inexpressible
from meshstack.spec.edge import ExternalService, GatewayApi, Resolution, ServerProtocol, TlsMode
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey, service_account_key
from meshstack.spec.workloads import Protocol
from meshstack.validation.index import MeshIndex
from meshstack.validation.problems import Problem, suggestion, undeclared_namespace


def ingress_permission_problems(spec: MeshSpec) -> Iterator[Problem]:
    """Ingress routes whose backend denies the gateway's own proxy: all 403s."""
    for entry in who_can_enter(spec):
        if entry.verdict is Verdict.DENIED:
            yield Problem(
                entry.route,
                f"gateway {entry.gateway} calls {entry.callee} as {entry.identity}, which is "
                f"denied ({entry.reason}): every request would get a 403; allow "
                f"RequestSource(service_accounts=({entry.identity!r},)) on {entry.callee}",
            )


def gateway_api_problems(spec: MeshSpec) -> Iterator[Problem]:
    """Gateway API gateways and routes that use what that API cannot express."""
    for path, message in inexpressible(spec):
        yield Problem(path, message)


def gateway_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    for gw in spec.policy.gateways:
        path = f"policy.gateways[{gw.name}]"
        if gw.namespace not in index.config_namespaces:
            yield undeclared_namespace(f"{path}.namespace", gw.namespace, index.config_namespaces)
        if gw.api is GatewayApi.ISTIO and gw.workload not in index.gateway_workloads:
            yield Problem(
                f"{path}.workload",
                f"no gateway workload {gw.workload!r}: name one of gateway_workloads, or "
                "declare it there"
                + suggestion(gw.workload, index.gateway_workloads, "gateway workload"),
            )
        if not gw.servers:
            yield Problem(f"{path}.servers", "a gateway needs at least one server")
        for s, server in enumerate(gw.servers):
            server_path = f"{path}.servers[{s}]"
            passes_through = server.tls_mode in (TlsMode.PASSTHROUGH, TlsMode.AUTO_PASSTHROUGH)
            terminates_tls = server.protocol is ServerProtocol.HTTPS or (
                server.protocol is ServerProtocol.TLS and not passes_through
            )
            if terminates_tls and not passes_through and not server.tls_secret:
                wildcard = any("*" in h for h in server.hosts)
                proxy_namespace = (
                    next(
                        (w.namespace for w in spec.gateway_workloads if w.name == gw.workload),
                        None,
                    )
                    if gw.api is GatewayApi.ISTIO
                    else gw.namespace
                )
                where = (
                    f"namespace {proxy_namespace!r}, where the gateway's proxy runs"
                    if proxy_namespace
                    else "the namespace where the gateway's proxy runs"
                )
                yield Problem(
                    f"{server_path}.tls_secret",
                    ("an HTTPS server with wildcard hosts" if wildcard else "an HTTPS server")
                    + f" needs a certificate: set tls_secret to a TLS Secret in {where} "
                    "(Istio reads it from there), or use tls_mode=PASSTHROUGH",
                )
            if server.https_redirect and server.protocol is not ServerProtocol.HTTP:
                yield Problem(
                    f"{server_path}.https_redirect",
                    "only an HTTP server can redirect to HTTPS: remove https_redirect here, "
                    "or declare a protocol=HTTP server for it",
                )


def egress_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    restricted: dict[str, str] = {}
    """Egress gateway → the first external service that restricts its callers."""
    for ext in spec.policy.external_services:
        if ext.via_egress_gateway and ext.allowed_callers:
            restricted.setdefault(ext.egress_gateway, ext.name)
    for ext in spec.policy.external_services:
        path = f"policy.external_services[{ext.name}]"
        if ext.namespace not in index.config_namespaces:
            yield undeclared_namespace(f"{path}.namespace", ext.namespace, index.config_namespaces)
        if not ext.ports:
            yield Problem(f"{path}.ports", "an external service needs at least one port")
        if not ext.hosts:
            yield Problem(
                f"{path}.hosts", "an external service needs a host, e.g. 'api.example.com'"
            )
            continue
        if ext.resolution is Resolution.DNS:
            for h, host in enumerate(ext.hosts):
                if "*" in host:
                    yield Problem(
                        f"{path}.hosts[{h}]",
                        f"{host!r} is a wildcard, which resolution DNS cannot look up (Istio "
                        "refuses such a ServiceEntry): name the host exactly, or set "
                        "resolution=Resolution.NONE to send each call to the address the "
                        "caller resolved",
                    )
        if not ext.via_egress_gateway:
            yield from _direct_egress_problems(ext, path)
            continue
        if ext.egress_gateway not in index.gateway_workloads:
            yield Problem(
                f"{path}.egress_gateway",
                f"no gateway workload {ext.egress_gateway!r}: add it to gateway_workloads "
                "(the Istio install must deploy an egress gateway)",
            )
            continue
        if len(ext.hosts) > 1:
            yield Problem(
                f"{path}.hosts",
                f"{len(ext.hosts)} hosts through one egress gateway route: the gateway sends "
                "every request to one host, so declare one external service per host",
            )
        yield from _gateway_port_problems(spec, ext, path)
        yield from _origination_problems(ext, path)
        yield from _caller_problems(spec, ext, index, path, restricted.get(ext.egress_gateway))


def _direct_egress_problems(ext: ExternalService, path: str) -> Iterator[Problem]:
    if ext.tls_origination is not None:
        yield Problem(
            f"{path}.tls_origination",
            "TLS is originated at the egress gateway: set via_egress_gateway=True",
        )
    if ext.allowed_callers:
        yield Problem(
            f"{path}.allowed_callers",
            "callers are checked at the egress gateway: set via_egress_gateway=True "
            "(a sidecar-only ServiceEntry is open to every workload that can resolve it)",
        )


def _gateway_port_problems(spec: MeshSpec, ext: ExternalService, path: str) -> Iterator[Problem]:
    """The egress gateway receives on the ports callers use: its Service must have them."""
    install = spec.install
    deployed = (
        None
        if install is None
        else next((g for g in install.gateways if g.name == ext.egress_gateway), None)
    )
    if deployed is None:
        return
    offered = sorted(p.port for p in deployed.ports)
    for i, port in enumerate(ext.ports):
        if port.number not in offered:
            yield Problem(
                f"{path}.ports[{i}].number",
                f"the egress gateway {ext.egress_gateway!r} has no Service port {port.number} "
                f"(it has {offered}): use one of them, or add it to "
                f"install.gateways[{deployed.name}].ports",
            )


def _origination_problems(ext: ExternalService, path: str) -> Iterator[Problem]:
    origination = ext.tls_origination
    if origination is None:
        return
    for i, port in enumerate(ext.ports):
        if port.protocol is not Protocol.HTTP:
            yield Problem(
                f"{path}.ports[{i}].protocol",
                f"{port.protocol.value!r}: with tls_origination callers speak plain HTTP and "
                f"the gateway opens TLS on port {origination.port}; use Protocol.HTTP",
            )
        if port.number == origination.port:
            yield Problem(
                f"{path}.tls_origination.port",
                f"{origination.port} is also a caller port (ports[{i}]): the host's TLS port "
                "must differ from the plain-HTTP port callers use (e.g. 80 for callers, 443 "
                "for the host)",
            )


def _caller_problems(
    spec: MeshSpec, ext: ExternalService, index: MeshIndex, path: str, restricting: str | None
) -> Iterator[Problem]:
    if ext.allowed_callers and ext.tls_origination is None:
        yield Problem(
            f"{path}.allowed_callers",
            "the egress gateway can check a caller's identity and host only when it receives "
            "HTTP over mTLS: set tls_origination (a TLS pass-through stream is opaque to it)",
        )
    for i, account in enumerate(ext.allowed_callers):
        key = service_account_key(account, ext.namespace)
        if key not in index.service_accounts:
            yield Problem(
                f"{path}.allowed_callers[{i}]",
                f"no workload runs as service account {key.namespace}/{key.name}: name a "
                "workload's identity"
                + suggestion(
                    f"{key.namespace}/{key.name}",
                    (f"{a.namespace}/{a.name}" for a in index.service_accounts),
                    "service account",
                ),
            )
    if ext.allowed_callers:
        workload = spec.gateway_workload(ext.egress_gateway)
        if workload is not None and workload.namespace not in index.namespaces:
            yield undeclared_namespace(
                f"{path}.allowed_callers",
                workload.namespace,
                index.namespaces,
                why="the egress gateway's authorization policy goes there",
            )
    elif restricting is not None:
        yield Problem(
            f"{path}.allowed_callers",
            f"the egress gateway {ext.egress_gateway!r} lets through only the callers that "
            f"external_services[{restricting}] names, so traffic to {ext.hosts[0]!r} would be "
            "denied: list this host's callers too",
        )


def _no_workload(path: str, name: str, namespace: str, index: MeshIndex) -> Problem:
    return Problem(
        path,
        f"no workload {name!r} in namespace {namespace!r} to select"
        + suggestion(
            name, (k.name for k in index.selectable if k.namespace == namespace), "workload"
        ),
    )


def proxy_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    for i, sidecar in enumerate(spec.policy.sidecars):
        path = f"policy.sidecars[{i}]"
        if sidecar.namespace not in index.config_namespaces:
            yield undeclared_namespace(
                f"{path}.namespace", sidecar.namespace, index.config_namespaces
            )
        if (
            sidecar.workload is not None
            and ServiceKey(sidecar.namespace, sidecar.workload) not in index.selectable
        ):
            yield _no_workload(f"{path}.workload", sidecar.workload, sidecar.namespace, index)
        for h, host in enumerate(sidecar.egress_hosts):
            namespace, slash, name = host.partition("/")
            if not slash or not namespace or not name:
                yield Problem(
                    f"{path}.egress_hosts[{h}]",
                    f"{host!r} should be 'namespace/host', e.g. './*' or 'istio-system/*'",
                )
    for limit in spec.policy.rate_limits:
        path = f"policy.rate_limits[{limit.name}]"
        if ServiceKey(limit.namespace, limit.workload) not in index.selectable:
            yield _no_workload(f"{path}.workload", limit.workload, limit.namespace, index)
        if limit.tokens_per_fill > limit.max_tokens:
            yield Problem(
                f"{path}.tokens_per_fill",
                f"refills {limit.tokens_per_fill} tokens into a bucket of {limit.max_tokens}; "
                "it must not exceed max_tokens",
            )
