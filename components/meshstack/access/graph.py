"""Who can call whom: the effective authorization between every pair of a stack's
workloads (:mod:`meshstack.access.authorization` decides each pair), with the apps'
declared call graph marked, so a reviewer sees both the calls the policy would break and
the access it grants beyond the design; and how ``meshstack graph`` prints it.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from meshstack.access.authorization import SYMBOL, Call, Endpoint, Evaluator, Verdict, endpoints
from meshstack.access.sidecar_scope import imports, outbound_policy, scope_of
from meshstack.enforcement import Enforcement
from meshstack.model import model_of
from meshstack.multicluster import crossings, placement
from meshstack.runtime import collector_paused
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.observability import OutboundPolicy, SidecarScope
from meshstack.spec.refs import ServiceKey, service_key


def _declared(spec: MeshSpec) -> set[tuple[ServiceKey, ServiceKey]]:
    pairs = set()
    for app in spec.apps:
        for w in app.workloads:
            for ref in w.calls:
                pairs.add(
                    (
                        ServiceKey(app.namespace, w.name),
                        service_key(ref, app.namespace, spec.cluster_domain),
                    )
                )
    return pairs


def who_can_call_whom(spec: MeshSpec) -> list[Call]:
    """Every ordered pair of distinct workloads that serve ports, with its verdict."""
    workloads = endpoints(spec)
    declared = _declared(spec)
    evaluator = model_of(spec).authorization
    calls = []
    hosts = {w.key: w.key.fqdn(spec.cluster_domain) for w in workloads}
    with collector_paused():  # every Call survives: collections would only rescan them
        for caller in workloads:
            scope = scope_of(spec, caller.key)  # one per caller, not one per pair
            for callee in workloads:
                if caller.key == callee.key or not callee.ports:
                    continue
                verdict, reason = _judge_through_scope(
                    spec, evaluator, scope, caller, callee, hosts[callee.key]
                )
                calls.append(
                    Call(
                        caller.label,
                        callee.label,
                        (caller.key, callee.key) in declared,
                        verdict,
                        reason,
                    )
                )
    return calls


def _judge_through_scope(
    spec: MeshSpec,
    evaluator: Evaluator,
    scope: SidecarScope | None,
    caller: Endpoint,
    callee: Endpoint,
    host: str,
) -> tuple[Verdict, str]:
    """A callee outside the caller's Sidecar egress hosts (``scope``, the Sidecar that
    configures the caller's proxy) has no cluster in the caller's proxy: dropped under
    REGISTRY_ONLY, passed through in plaintext under ALLOW_ANY. ``host``: the callee's."""
    if scope is None or imports(scope, caller.key, callee.key.namespace, host):
        return evaluator.judge(caller, callee)
    where = f"not in Sidecar {scope.namespace}/{scope.name}'s egress hosts"
    if outbound_policy(spec, scope) is OutboundPolicy.REGISTRY_ONLY:
        return Verdict.DENIED, f"{where} (REGISTRY_ONLY)"
    verdict, reason = evaluator.judge(caller, callee, plaintext=True)
    return verdict, f"{where}: {reason}"


def broken_calls(calls: list[Call]) -> list[Call]:
    """Declared calls the policy would deny (fully or in part)."""
    return [c for c in calls if c.declared and c.verdict is not Verdict.ALLOWED]


def undeclared_access(calls: list[Call]) -> list[Call]:
    """Access the policy grants although no app declares that call."""
    return [c for c in calls if not c.declared and c.verdict is not Verdict.DENIED]


def enforced_by(spec: MeshSpec) -> dict[str, str]:
    """Namespace → what enforces its policy, as a reviewer reads it: the verdicts are the
    same on every data plane (validation refuses what one cannot enforce), the place is not."""
    placement = model_of(spec).placement
    found = {}
    for ns in spec.namespaces:
        where = placement.of(ns.name)
        if where is Enforcement.WAYPOINT:
            found[ns.name] = f"waypoint {ns.name}/{placement.waypoint(ns.name)} (ambient)"
        elif where is Enforcement.ZTUNNEL:
            found[ns.name] = "ztunnel (ambient, no waypoint: identities, namespaces, ports)"
        else:
            found[ns.name] = "sidecars"
        own = [
            f"{w}: waypoint {ns.name}/{placement.waypoint(ns.name, w)}"
            for w in placement.with_own_waypoint(ns.name)
        ]
        if own:
            found[ns.name] += "; " + ", ".join(own)
    return found


def to_json(spec: MeshSpec, calls: list[Call], ingress: list[dict[str, str]] | None = None) -> str:
    """``ingress``: the entries of :mod:`meshstack.access.ingress`, already as JSON data."""
    return json.dumps(
        {
            "stack": spec.stack,
            "enforced_by": enforced_by(spec),
            "calls": [asdict(c) | {"verdict": c.verdict.value} for c in calls],
            "ingress": ingress or [],
        },
        indent=2,
        ensure_ascii=False,
    )


def to_mermaid(calls: list[Call]) -> str:
    """Declared calls as a flowchart: solid when allowed, dotted and crossed when denied."""
    lines = ["flowchart LR"]
    ids: dict[str, str] = {}

    def node(label: str) -> str:
        if label not in ids:
            ids[label] = f"n{len(ids)}"
            lines.append(f'    {ids[label]}["{label}"]')
        return ids[label]

    for call in calls:
        if not call.declared:
            continue
        a, b = node(call.caller), node(call.callee)
        if call.verdict is Verdict.ALLOWED:
            lines.append(f"    {a} --> {b}")
        elif call.verdict is Verdict.PARTIAL:
            lines.append(f"    {a} -. some requests .-> {b}")
        else:
            lines.append(f"    {a} -. denied .-x {b}")
    return "\n".join(lines)


def to_markdown(spec: MeshSpec, calls: list[Call]) -> str:
    """The matrix per namespace (rows call columns), then what needs a reviewer's eye."""
    out = [f"# Who can call whom — stack `{spec.stack}`", ""]
    out.append("✓ allowed · ~ some requests · ✗ denied · **bold**: a call the apps declare")
    by_pair = {(c.caller, c.callee): c for c in calls}
    labels = sorted({c.caller for c in calls} | {c.callee for c in calls})
    enforcement = enforced_by(spec)
    for namespace in sorted({label.split("/")[0] for label in labels}):
        callees = [
            label
            for label in labels
            if label.startswith(namespace + "/") and any(c.callee == label for c in calls)
        ]
        callers = [label for label in labels if label.startswith(namespace + "/")]
        if not callees:
            continue
        out += ["", f"## {namespace}", ""]
        if namespace in enforcement:
            out += [f"Enforced by: {enforcement[namespace]}", ""]
        out.append("| caller \\ callee | " + " | ".join(c.split("/")[1] for c in callees) + " |")
        out.append("| --- |" + " :---: |" * len(callees))
        for caller in callers:
            cells = []
            for callee in callees:
                call = by_pair.get((caller, callee))
                if call is None:
                    cells.append("")
                else:
                    mark = SYMBOL[call.verdict]
                    cells.append(f"**{mark}**" if call.declared else mark)
            out.append(f"| {caller.split('/')[1]} | " + " | ".join(cells) + " |")
    broken = broken_calls(calls)
    out += ["", f"## Declared calls the policy denies: {len(broken)}", ""]
    out += [f"- {c.caller} → {c.callee}: {c.verdict.value} ({c.reason})" for c in broken] or [
        "- none"
    ]
    extra = undeclared_access(calls)
    out += ["", f"## Access beyond the declared calls: {len(extra)}", ""]
    out += [f"- {c.caller} → {c.callee}: {c.verdict.value} ({c.reason})" for c in extra[:50]] or [
        "- none"
    ]
    if len(extra) > 50:
        out.append(f"- … and {len(extra) - 50} more")
    out += clusters_markdown(spec, calls)
    out += ["", "```mermaid", to_mermaid(calls), "```", ""]
    return "\n".join(out)


def clusters_markdown(spec: MeshSpec, calls: list[Call]) -> list[str]:
    """For a mesh of several clusters: where each workload runs, and the declared calls
    that leave the caller's cluster. One trust domain, so each verdict above holds
    whichever cluster the caller runs in (what Istio's judge checks across clusters)."""
    mc = spec.multicluster
    if mc is None:
        return []
    out = ["", f"## Clusters: {len(mc.clusters)} (mesh {mc.mesh_id}, {mc.topology.value})", ""]
    for c in mc.clusters:
        running = sorted(w for w, there in placement(spec).items() if c.name in there)
        role = f", served by {mc.control_plane_of(c.name)}'s istiod" if mc.is_remote(c.name) else ""
        out.append(
            f"- {c.name} (network {c.network}, region {c.region or '-'}{role}): "
            + ", ".join(running)
        )
    out += ["", "Every verdict above holds for a caller in any cluster (one trust domain).", ""]
    crossing = crossings(spec, [(c.caller, c.callee) for c in calls if c.declared])
    out += [f"- {c}" for c in crossing] or ["- no declared call leaves its cluster"]
    return out
