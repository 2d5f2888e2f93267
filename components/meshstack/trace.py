"""``meshstack trace``: one request followed through Istio's own generated configuration.

The caller (a workload's sidecar, or an installed ingress gateway) and the URL are
resolved against the spec first, so a typo gets the candidates instead of a judge error;
then Istio's control plane (:mod:`meshstack.istio_judge`) says which route matched, where
the request goes, what happens on the way, and whether the callee's policy lets it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from meshstack.istio_judge import (
    ask,
    backend_service,
    deployment_name,
    fqdn,
    gateway_stand_ins,
    route_query,
)
from meshstack.render import render
from meshstack.spec.edge import GatewayApi
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey


class TraceError(Exception):
    """A request meshstack cannot trace as written; the message says what would do."""


@dataclass(frozen=True)
class Source:
    namespace: str
    deployment: str
    gateway: bool
    label: str
    account: str
    """The caller's service account: its identity is ``<trust>/ns/<namespace>/sa/<account>``."""


def _workloads(spec: MeshSpec) -> list[ServiceKey]:
    return [ServiceKey(app.namespace, w.name) for app in spec.apps for w in app.workloads]


def resolve_source(spec: MeshSpec, text: str) -> Source:
    """``ingress`` (the gateway of the first Istio-API gateway, else the first Gateway API
    gateway, else the first installed one), ``ingress:NAME`` (an installed gateway or a
    Gateway API gateway by name), ``workload.namespace``, ``namespace/workload`` or a
    workload name that is unique across namespaces."""
    if text == "ingress" or text.startswith("ingress:"):
        wanted = text.partition(":")[2]
        used = [g.workload for g in spec.policy.gateways if g.api is GatewayApi.ISTIO]
        own = {g.name: g for g in spec.policy.gateways if g.api is GatewayApi.KUBERNETES}
        names = [w.name for w in spec.gateway_workloads]
        name = wanted or (used[0] if used else next(iter(own), names[0] if names else ""))
        if name in own and spec.gateway_workload(name) is None:
            # A Gateway API gateway runs on the proxy istiod deploys for it.
            gateway = own[name]
            return Source(
                gateway.namespace,
                gateway.deployed_name,
                True,
                f"{gateway.namespace}/{gateway.deployed_name} (Gateway API gateway {name})",
                gateway.deployed_account,
            )
        gw = spec.gateway_workload(name)
        if gw is None:
            declared = ", ".join([*names, *own]) or "none"
            raise TraceError(f"--from {text}: no gateway {name!r} (declared: {declared})")
        return Source(
            gw.namespace, gw.name, True, f"{gw.namespace}/{gw.name} (gateway)", gw.service_account
        )
    if "/" in text:
        namespace, _, name = text.partition("/")
    elif "." in text:
        name, _, namespace = text.partition(".")
    else:
        found = [k for k in _workloads(spec) if k.name == text]
        if len(found) != 1:
            raise TraceError(_unknown(spec, text, found))
        namespace, name = found[0].namespace, text
    key = ServiceKey(namespace, name)
    if key not in _workloads(spec):
        raise TraceError(_unknown(spec, text, []))
    deployment = deployment_name(spec, key)
    if deployment is None:
        raise TraceError(f"--from {text}: runs on virtual machines; trace from a pod's sidecar")
    account = next(
        w.identity
        for app in spec.apps
        if app.namespace == namespace
        for w in app.workloads
        if w.name == name
    )
    return Source(namespace, deployment, False, f"{namespace}/{name} (sidecar)", account)


def _unknown(spec: MeshSpec, text: str, ambiguous: list[ServiceKey]) -> str:
    if ambiguous:
        choices = ", ".join(f"{k.name}.{k.namespace}" for k in ambiguous)
        return f"--from {text}: in several namespaces; write one of {choices}"
    known = ", ".join(f"{k.name}.{k.namespace}" for k in _workloads(spec))
    return f"--from {text}: no such workload; candidates: {known}, or ingress"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TraceError(f"{url!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TraceError(
            f"{url!r} is not a URL meshstack can trace: write http://HOST[:PORT]/PATH "
            "(or https:// at an ingress gateway)"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
    )


def parse_headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise TraceError(f"-H {value!r}: write NAME:VALUE, e.g. -H end-user:jason")
        headers[name.strip().lower()] = content.strip()
    return headers


def trace(
    spec: MeshSpec, source_text: str, url: str, headers: list[str], method: str = "GET"
) -> str:
    source = resolve_source(spec, source_text)
    target = parse_url(url)
    wanted = parse_headers(headers)
    if target.scheme == "https" and not source.gateway:
        raise TraceError(
            "https:// is traced at an ingress gateway (--from ingress); sidecars speak http"
        )
    host = (
        target.host if source.gateway else fqdn(target.host, source.namespace, spec.cluster_domain)
    )
    objects = render(spec)
    objects += gateway_stand_ins(spec, objects)
    route = route_query(
        source=(source.namespace, source.deployment),
        gateway=source.gateway,
        host=host,
        port=target.port,
        path=target.path,
        method=method,
        headers=wanted,
        tls=target.scheme == "https",
    )
    (answer,) = ask(objects, spec, [route])
    lines = [
        f"{method} {target.scheme}://{host}:{target.port}{target.path} from {source.label}"
        + "".join(f" -H {k}:{v}" for k, v in wanted.items()),
        "judged by Istio's control plane on the stack's rendered objects",
        "",
    ]
    lines += _route_lines(answer)
    if answer.get("judged"):
        lines.append(f"policy at the gateway: {_access_line(answer)}")
    services = [
        s
        for b in answer.get("backends") or []
        if (s := backend_service(b["cluster"], spec.cluster_domain)) is not None
    ]
    gateways = {(g.namespace, g.name) for g in (spec.install.gateways if spec.install else ())}
    for ns, name, port, _ in sorted({s for s in services if (s[0], s[1]) in gateways}):
        principal = spec.trust.identity(source.namespace, source.account)
        hop = route_query(
            source=(ns, name),
            gateway=True,
            host=host,
            port=port,
            path=target.path,
            method=method,
            headers=wanted,
            principal=principal,
        )
        (through,) = ask(objects, spec, [hop])
        lines += ["", f"then at the gateway {ns}/{name} (port {port}, mTLS from {principal}):"]
        lines += _route_lines(through)
        lines.append(f"policy at the gateway: {_access_line(through)}")
    services = [s for s in services if (s[0], s[1]) not in gateways]
    callees = sorted({(s[0], s[1], s[2]) for s in services})
    access: list[dict[str, Any]] = [
        {
            "kind": "access",
            "from": {"namespace": source.namespace, "name": source.deployment},
            "gateway": source.gateway,
            "to": {"namespace": ns, "service": name, "port": port},
            "method": method,
            "path": target.path,
            "headers": wanted,
        }
        for ns, name, port in callees
    ]
    verdicts = ask(objects, spec, access) if access else []
    for (ns, name, _), verdict in zip(callees, verdicts, strict=True):
        lines.append(f"policy at {ns}/{name}: {_access_line(verdict)}")
    return "\n".join(lines) + "\n"


def _route_lines(a: dict[str, Any]) -> list[str]:
    lines = [
        f"  listener      {a.get('listener') or '-'}",
        f"  route config  {a.get('routeConfig') or '-'}",
        f"  virtual host  {a.get('virtualHost') or '-'}",
        f"  route         {a.get('route') or '-'}",
    ]
    outcome = a.get("outcome")
    if outcome == "not found":
        lines.append(
            "  outcome       404: no route matches" + (f" ({a['error']})" if a.get("error") else "")
        )
        return lines
    if outcome == "redirect":
        r = a["redirect"]
        lines.append(
            f"  outcome       redirect {r.get('code')} to {r.get('scheme') or 'same scheme'}://{r.get('host') or '(same host)'}"
        )
        return lines
    if outcome == "direct response":
        lines.append(f"  outcome       direct response {a['directResponse']}")
        return lines
    if outcome == "error":
        lines.append(f"  outcome       error: {a.get('error')}")
        return lines
    backends = a.get("backends") or []
    total = sum(b["weight"] for b in backends) or 1
    for b in backends:
        policy = b.get("policy") or {}
        extra = ", ".join(
            x
            for x in (
                f"lb {policy['lbPolicy']}" if policy else "",
                f"tls {policy['tls']}" if policy else "",
                "outlier detection" if policy.get("outlierDetection") else "",
                "by locality" if policy.get("localityWeighted") else "",
                f"max {policy['maxConnections']} connections"
                if 0 < policy.get("maxConnections", 0) < 2**32 - 1
                else "",
            )
            if x
        )
        lines.append(
            f"  goes to       {100 * b['weight'] / total:g} % {b['cluster']}"
            + (f" [{extra}]" if extra else "")
        )
    fault = a.get("fault")
    if fault:
        parts = []
        if fault.get("delayMs"):
            parts.append(f"delay {fault['delayMs']} ms on {fault['delayPercent']:g} %")
        if fault.get("abortStatus"):
            parts.append(f"abort {fault['abortStatus']} on {fault['abortPercent']:g} %")
        lines.append("  fault         " + "; ".join(parts))
    if a.get("timeoutMs") is not None:
        lines.append(
            f"  timeout       {a['timeoutMs']} ms" if a["timeoutMs"] else "  timeout       none"
        )
    retry = a.get("retry")
    if retry:
        per_try = f", {retry['perTryTimeoutMs']} ms each" if retry.get("perTryTimeoutMs") else ""
        lines.append(f"  retries       {retry['attempts']} on {retry['retryOn']}{per_try}")
    for m in a.get("mirrors") or []:
        lines.append(f"  mirror        {m['percent']:g} % to {m['cluster']}")
    return lines


def _access_line(v: dict[str, Any]) -> str:
    if v.get("error"):
        return f"not judged: {v['error']}"
    if not v.get("judged"):
        return f"not judged by sidecar configuration ({v.get('decided')})"
    who = v.get("principal") or "no peer identity (plaintext)"
    word = "allowed" if v.get("allowed") else "denied"
    return f"{word} — {v.get('decided')}; caller {who}"
