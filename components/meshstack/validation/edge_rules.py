"""Rules for gateways, egress and per-proxy settings."""

from __future__ import annotations

from collections.abc import Iterator

from meshstack.spec.edge import ServerProtocol, TlsMode
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey
from meshstack.validation.index import MeshIndex
from meshstack.validation.problems import Problem


def gateway_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    for gw in spec.policy.gateways:
        path = f"policy.gateways[{gw.name}]"
        if gw.namespace not in index.namespaces:
            yield Problem(f"{path}.namespace", f"namespace {gw.namespace!r} is not declared")
        if gw.workload not in index.gateway_workloads:
            yield Problem(
                f"{path}.workload",
                f"no gateway workload {gw.workload!r}; declared: {sorted(index.gateway_workloads)}",
            )
        if not gw.servers:
            yield Problem(f"{path}.servers", "a gateway needs at least one server")
        for s, server in enumerate(gw.servers):
            server_path = f"{path}.servers[{s}]"
            terminates_tls = server.protocol is ServerProtocol.HTTPS or (
                server.protocol is ServerProtocol.TLS and server.tls_mode is not TlsMode.PASSTHROUGH
            )
            if (
                terminates_tls
                and server.tls_mode is not TlsMode.PASSTHROUGH
                and not server.tls_secret
            ):
                wildcard = any("*" in h for h in server.hosts)
                yield Problem(
                    f"{server_path}.tls_secret",
                    ("wildcard hosts on an HTTPS server" if wildcard else "an HTTPS server")
                    + " need a certificate: set tls_secret to a TLS secret in the gateway's "
                    "namespace, or use tls_mode=PASSTHROUGH",
                )
            if server.https_redirect and server.protocol is not ServerProtocol.HTTP:
                yield Problem(
                    f"{server_path}.https_redirect", "only an HTTP server can redirect to HTTPS"
                )


def egress_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    for ext in spec.policy.external_services:
        path = f"policy.external_services[{ext.name}]"
        if ext.namespace not in index.namespaces:
            yield Problem(f"{path}.namespace", f"namespace {ext.namespace!r} is not declared")
        if not ext.ports:
            yield Problem(f"{path}.ports", "an external service needs at least one port")
        if ext.via_egress_gateway and ext.egress_gateway not in index.gateway_workloads:
            yield Problem(
                f"{path}.egress_gateway",
                f"no gateway workload {ext.egress_gateway!r}: add it to gateway_workloads "
                "(the Istio install must deploy an egress gateway)",
            )


def proxy_problems(spec: MeshSpec, index: MeshIndex) -> Iterator[Problem]:
    for i, sidecar in enumerate(spec.policy.sidecars):
        path = f"policy.sidecars[{i}]"
        if sidecar.namespace not in index.namespaces:
            yield Problem(f"{path}.namespace", f"namespace {sidecar.namespace!r} is not declared")
        if (
            sidecar.workload is not None
            and ServiceKey(sidecar.namespace, sidecar.workload) not in index.selectable
        ):
            yield Problem(
                f"{path}.workload", f"no workload {sidecar.workload!r} in {sidecar.namespace!r}"
            )
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
            yield Problem(
                f"{path}.workload", f"no workload {limit.workload!r} in {limit.namespace!r}"
            )
        if limit.tokens_per_fill > limit.max_tokens:
            yield Problem(
                f"{path}.tokens_per_fill",
                f"refills {limit.tokens_per_fill} tokens into a bucket of {limit.max_tokens}; "
                "it must not exceed max_tokens",
            )
