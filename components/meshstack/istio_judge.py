"""Istio's own control plane as the judge of traffic.

``meshstack-judge`` (built from ``judge/`` by ``scripts/toolchain.sh ensure judge``) runs
istiod's config pipeline in-process on a stack's rendered objects — the pinned
``istio.io/istio`` module's fake discovery server, with the mesh config the istiod chart
would get — adds what a cluster would (a Pod per replica, an EndpointSlice per Service),
and answers from the Envoy configuration istiod generates for each proxy: where a request
goes (listener, virtual host, first matching route, clusters and weights, faults, mirrors,
timeout, retries, each cluster's policy) and whether a caller may make it (the callee's
inbound filter chain and its RBAC filters, with the TLS the caller's own cluster speaks).

meshstack's own readers (``graph``, ``ingress_graph``) are claims; this is how they are
checked, and how ``meshstack trace`` answers before anything is deployed.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshstack.access.authorization import Endpoint, Verdict, endpoints
from meshstack.access.ingress import who_can_enter
from meshstack.render import K8sObject
from meshstack.render.install import (
    AMBIENT_PROFILE,
    NETWORK_LABEL,
    istiod_values,
    mesh_config_values,
)
from meshstack.spec.edge import Gateway, GatewayApi
from meshstack.spec.install import GatewayInstall
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.refs import ServiceKey

JUDGE_NAME = "meshstack-judge"
BUILD_COMMAND = "meshstack build-judge"
SOURCES = Path(__file__).parent / "judge_go"
"""The judge's Go sources, shipped in the package: a wheel's user builds it the same way."""


class JudgeUnavailable(Exception):
    """The judge binary is not built (or cannot run): the message says how to build it."""


def judge_binary() -> Path:
    """``MESHSTACK_JUDGE``, else the toolchain's cache (``MESHSTACK_CACHE`` or
    ``~/.cache/meshstack``): the same place ``scripts/toolchain.sh`` builds it."""
    explicit = os.environ.get("MESHSTACK_JUDGE")
    if explicit:
        return Path(explicit)
    return cache_dir() / "toolchain" / "bin" / JUDGE_NAME


def cache_dir() -> Path:
    return Path(os.environ.get("MESHSTACK_CACHE", Path.home() / ".cache" / "meshstack"))


def build_judge() -> int:
    """Build the judge from the package's Go sources into the toolchain's cache (Go
    modules through the module proxy; the Go caches under it unless GOMODCACHE/GOCACHE
    say otherwise). Returns the build's exit status; it says what it does."""
    env = dict(os.environ)
    env.setdefault("GOMODCACHE", str(cache_dir() / "go" / "mod"))
    env.setdefault("GOCACHE", str(cache_dir() / "go" / "build"))
    out = cache_dir() / "toolchain" / "bin" / JUDGE_NAME
    return subprocess.run(
        ["bash", str(SOURCES / "build.sh"), str(out)], env=env, check=False
    ).returncode


def mesh_config(spec: MeshSpec) -> dict[str, Any]:
    """The mesh config istiod runs with: exactly what meshstack's istiod values set (the
    chart's defaults for the rest), so a setting meshstack forgets to pass is missing here
    too. Without an install, Istio's defaults with the spec's root namespace."""
    if spec.install is None:
        return {"rootNamespace": spec.root_namespace}
    return {"rootNamespace": spec.install.namespace, **mesh_config_values(spec.install, spec.trust)}


def istiod_environment(spec: MeshSpec) -> dict[str, str]:
    """The environment istiod runs with, as meshstack's istiod values set it: the chart's
    own ``env`` values, and ``PILOT_ENABLE_AMBIENT`` where the values select the ambient
    profile (the chart's profile sets it so). Istio reads these flags once, at start."""
    if spec.install is None:
        return {}
    values = istiod_values(spec.install, spec.install.control_planes[0], spec.trust)
    env = {k: str(v) for k, v in (values.get("env") or {}).items() if v != ""}
    if (values.get("global") or {}).get("profile") == AMBIENT_PROFILE:
        env["PILOT_ENABLE_AMBIENT"] = "true"
    if (values.get("global") or {}).get("externalIstiod"):
        env["EXTERNAL_ISTIOD"] = "true"  # what the chart's Deployment sets from it
    return env


def ask(
    objects: Sequence[K8sObject], spec: MeshSpec, queries: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every answer, in the order of ``queries`` (each a dict the judge's ``Query`` reads)."""
    question = {
        "objects": yaml.safe_dump_all(list(objects), sort_keys=False),
        "meshConfig": yaml.safe_dump(mesh_config(spec)),
        "domain": spec.cluster_domain,
        "queries": [{"id": str(i), **q} for i, q in enumerate(queries)],
    }
    return _run(question, istiod_environment(spec))


def istiod_network(spec: MeshSpec) -> str:
    """The network meshstack's istiod values put the cluster's sidecars on
    (``global.network``, which the injector writes into each pod); empty without one."""
    if spec.install is None:
        return ""
    values = istiod_values(spec.install, spec.install.control_planes[0], spec.trust)
    return str((values.get("global") or {}).get("network") or "")


@dataclass(frozen=True)
class ClusterObjects:
    """One cluster of a multi-cluster question: the objects applied there, where its
    nodes run, and the view of the spec its istiod is installed from."""

    name: str
    objects: Sequence[K8sObject]
    view: MeshSpec
    region: str | None = None
    zone: str | None = None


def ask_clusters(
    clusters: Sequence[ClusterObjects], queries: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every answer of a multi-primary mesh's istiods: one per cluster, each with its own
    cluster's Istio configuration and mesh config, reading the endpoints of the clusters
    its remote secrets name. Each query names the ``cluster`` its caller runs in (and
    ``to.cluster`` for a callee elsewhere)."""
    question = {
        "clusters": [
            {
                "name": c.name,
                "objects": yaml.safe_dump_all(list(c.objects), sort_keys=False),
                "meshConfig": yaml.safe_dump(mesh_config(c.view)),
                "region": c.region or "",
                "zone": c.zone or "",
                "network": istiod_network(c.view),
            }
            for c in clusters
        ],
        "objects": "",
        "domain": clusters[0].view.cluster_domain,
        "queries": [{"id": str(i), **q} for i, q in enumerate(queries)],
    }
    # One process judges every istiod: the environment of the first cluster running one.
    primaries = [c for c in clusters if not _is_remote(c.view)] or list(clusters)
    return _run(question, istiod_environment(primaries[0].view))


def _is_remote(view: MeshSpec) -> bool:
    """Whether a cluster's view runs no istiod (the one answer: ``MultiCluster.is_remote``)."""
    mc, name = view.multicluster, view.cluster_view
    return mc is not None and name is not None and mc.is_remote(name)


@dataclass(frozen=True)
class ClusterCA:
    """One istiod's plug-in CA: its cluster's ``cacerts`` files (by key) and the trust
    domain it mints identities in."""

    cluster: str
    files: Mapping[str, str]
    trust_domain: str


@dataclass(frozen=True)
class TrustAnswers:
    """What Istio's CA code says of a mesh's plug-in CAs: ``refused`` — each cluster whose
    ``cacerts`` istiod would not start its CA with, and Istio's reason; ``reasons`` — for
    each (signer, verifier) pair of accepted CAs, why a workload certificate from the
    signer's istiod fails against the verifier's root, or None when it is trusted."""

    refused: dict[str, str]
    reasons: dict[tuple[str, str], str | None]

    def trusted(self, signer: str, verifier: str) -> bool:
        return (signer, verifier) in self.reasons and self.reasons[(signer, verifier)] is None


def ask_trust(cas: Sequence[ClusterCA]) -> TrustAnswers:
    """Whether the clusters share a root of trust, as Istio's own CA decides it: each
    ``cacerts`` loaded as istiod loads it, a workload certificate signed by each, verified
    against every other cluster's root."""
    question = {
        "certificateAuthorities": [
            {"cluster": c.cluster, "files": dict(c.files), "trustDomain": c.trust_domain}
            for c in cas
        ],
        "objects": "",
        "queries": [],
    }
    output = _output(question, {})
    return TrustAnswers(
        refused={a["cluster"]: a["error"] for a in output.get("cas") or [] if a.get("error")},
        reasons={
            (a["signer"], a["verifier"]): None if a["trusted"] else a.get("reason", "")
            for a in output.get("trust") or []
        },
    )


def _run(question: dict[str, Any], environment: dict[str, str]) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = _output(question, environment)["answers"] or []
    return answers


def _output(question: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    binary = judge_binary()
    if not binary.exists():
        raise JudgeUnavailable(
            f"Istio's control-plane judge is not built ({binary} is missing); build it "
            f"with `{BUILD_COMMAND}` (needs Go; about 5 minutes cold)"
        )
    with tempfile.TemporaryDirectory(prefix="meshstack-judge-") as scratch:
        asked, answered = Path(scratch) / "q.json", Path(scratch) / "a.json"
        asked.write_text(json.dumps(question))
        done = subprocess.run(
            [
                str(binary),
                "-test.run",
                "^TestJudge$",
                "-input",
                str(asked),
                "-output",
                str(answered),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **environment},
        )
        if done.returncode != 0 or not answered.exists():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise JudgeUnavailable(
                f"Istio's control-plane judge failed ({done.returncode}):\n{tail}"
            )
        output: dict[str, Any] = json.loads(answered.read_text())
    return output


# ---------------------------------------------------------------- who may call whom


@dataclass(frozen=True)
class AccessProbe:
    """One request a caller makes of a callee's Service port."""

    service_port: int
    target_port: int
    protocol: str
    method: str
    path: str


def _probe_paths(spec: MeshSpec) -> list[str]:
    """A path outside every rule, and one inside each path a policy names (wildcards
    filled in): requests enough to tell "all", "some" and "none" apart."""
    paths = {"/", "/meshstack-probe-unlisted"}
    for policy in spec.policy.authorization_policies:
        for rule in policy.rules:
            for op in rule.operations:
                for p in op.paths:
                    paths.add(p.replace("*", "probe") if p != "*" else "/probe")
    for jwt in spec.policy.jwt_rules:
        for p in jwt.unauthenticated_paths:
            paths.add(p.replace("*", "probe"))
    return sorted(paths)


def _probe_methods(spec: MeshSpec) -> list[str]:
    methods = {"GET", "POST"}
    for policy in spec.policy.authorization_policies:
        for rule in policy.rules:
            for op in rule.operations:
                methods.update(m for m in op.methods if "*" not in m)
    return sorted(methods)


def probes(spec: MeshSpec, callee: ServiceKey) -> list[AccessProbe]:
    workload = next(
        w
        for app in spec.apps
        if app.namespace == callee.namespace
        for w in app.workloads
        if w.name == callee.name
    )
    paths, methods = _probe_paths(spec), _probe_methods(spec)
    found = []
    for port in workload.ports:
        protocol = {"HTTP": "http", "HTTP2": "http2", "GRPC": "http2"}.get(
            port.protocol.value.upper(), "tcp"
        )
        if protocol == "tcp":
            found.append(AccessProbe(port.number, port.container_port, protocol, "GET", "/"))
            continue
        found += [
            AccessProbe(port.number, port.container_port, protocol, method, path)
            for method in methods
            for path in paths
        ]
    return found


def deployment_name(spec: MeshSpec, key: ServiceKey) -> str | None:
    """The instance that stands for a workload: its first version's Deployment, or for a
    workload on virtual machines its first WorkloadEntry (found by its app label); None
    for machines that register themselves (no entry to judge before they join)."""
    for app in spec.apps:
        if app.namespace != key.namespace:
            continue
        for w in app.workloads:
            if w.name != key.name:
                continue
            if w.virtual_machines is None:
                return f"{w.name}-{w.versions[0].name}"
            return w.name if w.virtual_machines.addresses else None
    return None


@dataclass(frozen=True)
class IstioVerdict:
    verdict: Verdict | None
    """None: Istio's sidecar configuration does not decide it (ambient, virtual machines)."""
    decided: str
    answers: tuple[dict[str, Any], ...] = ()


def _access_queries(
    spec: MeshSpec, pairs: Iterable[tuple[Endpoint, Endpoint]]
) -> Iterator[tuple[tuple[str, str], AccessProbe | None, dict[str, Any] | None]]:
    for caller, callee in pairs:
        source = deployment_name(spec, caller.key)
        for probe in probes(spec, callee.key):
            if source is None:
                yield (caller.label, callee.label), probe, None
                continue
            yield (
                (caller.label, callee.label),
                probe,
                {
                    "kind": "access",
                    "from": {"namespace": caller.key.namespace, "name": source},
                    "to": {
                        "namespace": callee.key.namespace,
                        "service": callee.key.name,
                        "port": probe.service_port,
                    },
                    "method": probe.method,
                    "path": probe.path,
                    "protocol": probe.protocol,
                },
            )


def istio_verdicts(
    spec: MeshSpec, objects: Sequence[K8sObject]
) -> dict[tuple[str, str], IstioVerdict]:
    """For every ordered pair of workloads that ``graph`` judges, Istio's verdict: allowed
    when every probe is, denied when none is, some requests otherwise."""
    workloads = endpoints(spec)
    pairs = [
        (caller, callee)
        for caller in workloads
        for callee in workloads
        if caller.key != callee.key and callee.ports
    ]
    planned = list(_access_queries(spec, pairs))
    asked = [q for _, _, q in planned if q is not None]
    answers = iter(ask(objects, spec, asked)) if asked else iter(())
    by_pair: dict[tuple[str, str], list[dict[str, Any] | None]] = {}
    for pair, _, query in planned:
        by_pair.setdefault(pair, []).append(next(answers) if query is not None else None)
    verdicts = {}
    for pair, found in by_pair.items():
        if any(a is None or not a.get("judged") for a in found):
            why = (
                "caller's machines register themselves: no instance yet"
                if any(a is None for a in found)
                else next(
                    a.get("decided") or a.get("error", "")
                    for a in found
                    if a is not None and not a.get("judged")
                )
            )
            verdicts[pair] = IstioVerdict(None, why)
            continue
        errors = [a["error"] for a in found if a and a.get("error")]
        if errors:
            raise JudgeUnavailable(f"Istio's judge could not decide {pair}: {errors[0]}")
        verdict = _combined([bool(a and a["allowed"]) for a in found])
        decided = next((a["decided"] for a in found if a), "")
        verdicts[pair] = IstioVerdict(verdict, decided, tuple(a for a in found if a))
    return verdicts


def _combined(allowed: Sequence[bool]) -> Verdict:
    """Allowed when every request is, denied when none is, some requests otherwise."""
    return (
        Verdict.ALLOWED if all(allowed) else Verdict.DENIED if not any(allowed) else Verdict.PARTIAL
    )


def _end_user_tokens(spec: MeshSpec) -> list[dict[str, Any] | None]:
    """The tokens end users may bring through a gateway: none, one from each issuer a JWT
    rule trusts, and one for each request principal a policy names (wildcards filled) —
    enough to tell a route open to all from one open to some tokens."""
    tokens: dict[tuple[str, str], dict[str, Any]] = {}
    for jwt in spec.policy.jwt_rules:
        tokens[(jwt.issuer, "meshstack-probe")] = {"iss": jwt.issuer, "sub": "meshstack-probe"}
    for policy in spec.policy.authorization_policies:
        for rule in policy.rules:
            for source in rule.sources:
                for principal in source.request_principals:
                    if principal == "*":
                        continue
                    issuer, _, subject = principal.replace("*", "probe").rpartition("/")
                    tokens[(issuer, subject)] = {"iss": issuer, "sub": subject}
    return [None, *tokens.values()]


def gateway_deployment(spec: MeshSpec, gateway: Gateway) -> tuple[str, str] | None:
    """``(namespace, name)`` of the Deployment whose proxy serves ``gateway``: the
    install's gateway workload for Istio's API (in its own namespace), the one istiod
    deploys beside a Gateway API gateway."""
    if gateway.api is GatewayApi.KUBERNETES:
        return gateway.namespace, gateway.deployed_name
    workload = spec.gateway_workload(gateway.workload)
    return (workload.namespace, workload.name) if workload is not None else None


def istio_entry_verdicts(spec: MeshSpec, objects: Sequence[K8sObject]) -> list[IstioVerdict]:
    """For each entry of ``graph``'s Ingress section (one backend of one ingress route),
    Istio's verdict for the gateway's proxy calling it, with and without the end users'
    tokens a gateway forwards: allowed when every request is, denied when none is."""
    entries = who_can_enter(spec)
    tokens = _end_user_tokens(spec)
    planned: list[list[dict[str, Any]]] = []
    for entry in entries:
        namespace, _, name = entry.gateway.partition("/")
        gateway = spec.gateway(name, namespace)
        deployment = gateway_deployment(spec, gateway) if gateway else None
        assert gateway is not None and deployment is not None, entry
        callee = ServiceKey(*entry.callee.split("/", 1))
        planned.append(
            [
                {
                    "kind": "access",
                    "from": {"namespace": deployment[0], "name": deployment[1]},
                    "gateway": True,
                    "to": {
                        "namespace": callee.namespace,
                        "service": callee.name,
                        "port": probe.service_port,
                    },
                    "method": probe.method,
                    "path": probe.path,
                    "protocol": probe.protocol,
                    **({"jwt": token} if token is not None else {}),
                }
                for probe in probes(spec, callee)
                for token in tokens
            ]
        )
    answers = iter(ask(objects, spec, [q for qs in planned for q in qs]) if planned else ())
    verdicts = []
    for queries in planned:
        found = [next(answers) for _ in queries]
        errors = [a["error"] for a in found if a.get("error")]
        if errors:
            raise JudgeUnavailable(f"Istio's judge could not decide an ingress entry: {errors[0]}")
        if not all(a.get("judged") for a in found):
            verdicts.append(IstioVerdict(None, found[0].get("decided", ""), tuple(found)))
            continue
        verdict = _combined([bool(a["allowed"]) for a in found])
        verdicts.append(IstioVerdict(verdict, found[0].get("decided", ""), tuple(found)))
    return verdicts


def istio_egress_verdicts(
    spec: MeshSpec, objects: Sequence[K8sObject]
) -> dict[tuple[str, str], IstioVerdict]:
    """For each pair of ``graph``'s Egress section (a workload, an external host), Istio's
    verdict on every port the host is declared with: the caller's sidecar route (the host
    itself, the passthrough cluster, the black hole, or the egress gateway), and at the
    egress gateway its own policy for the caller's mTLS identity and where it sends on."""
    gateway_fqdns = {
        ServiceKey(w.namespace, w.name).fqdn(spec.cluster_domain): w for w in spec.gateway_workloads
    }
    plan: list[tuple[tuple[str, str], Endpoint, str, int, str]] = []
    for ext in spec.policy.external_services:
        for host in ext.hosts:
            for caller in endpoints(spec):
                if deployment_name(spec, caller.key) is None:
                    continue  # machines that register themselves: no instance to ask
                for port in ext.ports:
                    protocol = "http" if port.protocol.value.upper() in ("HTTP", "HTTP2") else "tcp"
                    plan.append(
                        ((caller.label, f"external/{host}"), caller, host, port.number, protocol)
                    )
    first = [
        route_query(
            source=(caller.key.namespace, deployment_name(spec, caller.key) or ""),
            gateway=False,
            host=host,
            port=port,
            protocol=protocol,
        )
        for _, caller, host, port, protocol in plan
    ]
    answers = ask(objects, spec, first) if first else []
    second: list[tuple[int, dict[str, Any]]] = []
    allowed: list[bool | None] = []
    for i, ((_, caller, host, _, protocol), answer) in enumerate(zip(plan, answers, strict=True)):
        if answer.get("error") and answer.get("outcome") != "not found":
            raise JudgeUnavailable(f"Istio's judge could not route {host}: {answer['error']}")
        backends = answer.get("backends") or []
        hosts = {b.get("host") for b in backends}
        if answer.get("outcome") not in ("route", "tcp") or not backends:
            allowed.append(False)  # no route, a direct response (REGISTRY_ONLY's 502)
        elif {b["cluster"] for b in backends} <= {"BlackHoleCluster"}:
            allowed.append(False)
        elif hosts & gateway_fqdns.keys():
            gateway = gateway_fqdns[next(iter(hosts & gateway_fqdns.keys()))]
            hop = next(b for b in backends if b.get("host") in gateway_fqdns)
            mtls = (hop.get("policy") or {}).get("tls", "").startswith("ISTIO_MUTUAL")
            principal = spec.trust.identity(caller.account.namespace, caller.account.name)
            allowed.append(None)
            second.append(
                (
                    i,
                    route_query(
                        source=(gateway.namespace, gateway.name),
                        gateway=True,
                        host=host,
                        port=hop["port"],
                        protocol=protocol,
                        principal=principal if mtls else None,
                    ),
                )
            )
        else:
            allowed.append(True)  # the host itself, or the passthrough cluster (ALLOW_ANY)
    if second:
        for (i, _), answer in zip(second, ask(objects, spec, [q for _, q in second]), strict=True):
            allowed[i] = bool(answer.get("allowed", True)) and bool(answer.get("backends"))
    by_pair: dict[tuple[str, str], list[bool]] = {}
    for (pair, *_), ok in zip(plan, allowed, strict=True):
        by_pair.setdefault(pair, []).append(bool(ok))
    return {pair: IstioVerdict(_combined(oks), "") for pair, oks in by_pair.items()}


# ---------------------------------------------------------------- where a request goes


def gateway_stand_ins(spec: MeshSpec, objects: Sequence[K8sObject]) -> list[K8sObject]:
    """The installed gateways' Deployments (and Services, with the ports the install
    gives them), as their chart labels them, for objects that lack them (``meshstack
    render`` leaves Istio's charts out; the real engine's render has them): what a
    Gateway's selector binds to, and whose identity calls the backends."""
    present = {
        (o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in objects
        if o.get("kind") == "Deployment"
    }
    installed = {(g.namespace, g.name): g for g in (spec.install.gateways if spec.install else ())}
    services = {
        (o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in objects
        if o.get("kind") == "Service"
    }
    stand_ins: list[K8sObject] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": gw.name,
                "namespace": gw.namespace,
                **(
                    {"labels": label}
                    if (label := _network_label(installed[(gw.namespace, gw.name)]))
                    else {}
                ),
            },
            "spec": {
                **_network_gateway_type(installed[(gw.namespace, gw.name)]),
                "selector": dict(gw.selector),
                "ports": [
                    {"name": p.name, "port": p.port, "targetPort": p.target_port}
                    for p in installed[(gw.namespace, gw.name)].ports
                ],
            },
        }
        for gw in spec.gateway_workloads
        if (gw.namespace, gw.name) in installed and (gw.namespace, gw.name) not in services
    ]
    return stand_ins + [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": gw.name, "namespace": gw.namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": dict(gw.selector)},
                "template": {
                    # The gateway chart labels its pods app=<release> besides the selector.
                    "metadata": {
                        "labels": {
                            "app": gw.name,
                            **gw.selector,
                            **_network_gateway_pod_labels(installed.get((gw.namespace, gw.name))),
                        }
                    },
                    "spec": {
                        "serviceAccountName": gw.service_account,
                        "containers": [{"name": "istio-proxy", "image": "auto"}],
                    },
                },
            },
        }
        for gw in spec.gateway_workloads
        if (gw.namespace, gw.name) not in present
    ]


def _network_label(gw: GatewayInstall | None) -> dict[str, str]:
    """What the gateway chart labels a network gateway's Service and pods with
    (``networkGateway``): the label istiod finds each network's gateway by."""
    return {NETWORK_LABEL: gw.network} if gw is not None and gw.network is not None else {}


def _network_gateway_pod_labels(gw: GatewayInstall | None) -> dict[str, str]:
    """A network gateway's pods also ask for injection themselves (they run in Istio's
    own namespace, which asks for none)."""
    label = _network_label(gw)
    return {**label, "sidecar.istio.io/inject": "true"} if label else {}


def _network_gateway_type(gw: GatewayInstall) -> dict[str, Any]:
    """A network gateway's Service type (a load balancer other networks reach), and the
    reserved address it asks for, as the chart sets them."""
    if gw.network is None:
        return {}
    reserved = {"loadBalancerIP": gw.load_balancer_ip} if gw.load_balancer_ip else {}
    return {"type": gw.service_type.value, **reserved}


def fqdn(host: str, namespace: str, domain: str) -> str:
    """A host as a caller in ``namespace`` writes it (``reviews``, ``reviews.bookinfo``)
    made whole, the way the cluster's DNS search path completes it."""
    parts = host.split(".")
    if len(parts) == 1:
        return ServiceKey(namespace, host).fqdn(domain)
    if len(parts) == 2:
        return ServiceKey(parts[1], parts[0]).fqdn(domain)
    return host


def route_query(
    *,
    source: tuple[str, str],
    gateway: bool,
    host: str,
    port: int,
    path: str = "/",
    method: str = "GET",
    headers: dict[str, str] | None = None,
    tls: bool = False,
    protocol: str = "http",
    principal: str | None = None,
) -> dict[str, Any]:
    """A route query; ``principal`` (a SPIFFE URI): the request reaches a gateway over
    Istio mTLS from that identity, and the gateway's own policy judges it too."""
    return {
        "mtls": principal is not None,
        "principal": principal or "",
        "kind": "route",
        "from": {"namespace": source[0], "name": source[1]},
        "gateway": gateway,
        "host": host,
        "port": port,
        "path": path,
        "method": method,
        "headers": headers or {},
        "tls": tls,
        "protocol": protocol,
    }


def backend_service(cluster: str, domain: str) -> tuple[str, str, int, str] | None:
    """``outbound|9080|v2|reviews.bookinfo.svc.cluster.local`` → (namespace, service,
    port, subset); None for a host that is not a Service of this cluster."""
    parts = cluster.split("|")
    if len(parts) != 4:
        return None
    suffix = f".svc.{domain}"
    if not parts[3].endswith(suffix):
        return None
    name, _, namespace = parts[3].removesuffix(suffix).partition(".")
    return namespace, name, int(parts[1]), parts[2]
