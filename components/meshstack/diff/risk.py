"""Which diff lines weaken the mesh, and how badly: the rules behind ``⚠`` and their order.

A rule sees one line — its typed key (kind, scope, part, field: never its text), the value
before and after as the JSON text the line shows (``None`` when absent) — and the head spec. Rules are
listed from most to least severe; the first that fires names the risk, and its rank orders
the risky lines so that a mesh-wide mTLS downgrade leads the review, not the 200th line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meshstack.access.authorization import Verdict
from meshstack.canary.verdict import next_step
from meshstack.diff.keys import Kind, SubjectKey
from meshstack.spec.mesh import MeshSpec
from meshstack.spec.security import MtlsMode

CANARY_STEP = 25
"""By default a canary moving more traffic than this many points in one change is flagged."""

_MTLS_STRENGTH = {MtlsMode.STRICT.value: 2, MtlsMode.PERMISSIVE.value: 1, MtlsMode.DISABLE.value: 0}
_VERDICT_REACH = {Verdict.DENIED.value: 0, Verdict.PARTIAL.value: 1, Verdict.ALLOWED.value: 2}


@dataclass(frozen=True)
class Line:
    key: SubjectKey
    before: str | None
    after: str | None
    head: MeshSpec
    canary_step: int
    production: bool = False
    """Whether the head is a production stack (its ``meshstack:production`` setting)."""

    def value(self, which: str) -> Any:
        text = self.before if which == "before" else self.after
        return None if text is None else json.loads(text)

    def whole(self) -> bool:
        """The line is a whole object (added or removed), not one of its fields."""
        return not self.key.field


def _crd_owner(line: Line) -> str | None:
    """``install.crd_stack`` set, changed or dropped: the CRDs change the stack that owns
    them. Run as is, the mesh stack's next ``up`` deletes the CRDs it no longer registers
    — and with them every Istio resource in the cluster."""
    key = line.key
    if key.kind is Kind.INSTALL and key.field == "crd_stack" and line.before != line.after:
        return (
            "the CRDs change stacks: move them with 'pulumi state move' before any up, "
            "or the next up deletes them and every Istio resource with them"
        )
    return None


_CLUSTER_RISKS = {
    "network": "pods change network: the other clusters reach them through another "
    "east-west gateway, and requests in flight fail until every istiod has re-read it",
    "ca_cert": "the cluster's intermediate CA changes: identities it issues must still chain "
    "to the root the other clusters trust, or cross-cluster mTLS fails",
    "ca_key": "the cluster's intermediate CA changes: identities it issues must still chain "
    "to the root the other clusters trust, or cross-cluster mTLS fails",
    "trust_domain": "the cluster's workloads get identities in another trust domain: "
    "policies elsewhere admit them only once every istiod knows it as an alias",
    "kubeconfig": "the cluster is reached another way: its provider changes, and Pulumi may "
    "replace every object in it",
    "context": "the cluster is reached another way: its provider changes, and Pulumi may "
    "replace every object in it",
    "control_plane": "which istiod serves the cluster changes (it becomes a remote, another "
    "primary's, or runs its own): its sidecars reconnect, and its Istio configuration is "
    "its control plane's from then on",
    "discovery_address": "the primary's remotes reach its istiod at another address: their "
    "injection and configuration stop until it answers there",
}
_MESH_RISKS = {
    "mesh_id": "the mesh ID changes: istiod in every cluster restarts into another mesh",
    "plugin_ca.root_cert": "the root of trust changes: every identity must be reissued, and "
    "clusters trusting the old root refuse the new ones until all have moved",
    "plugin_ca": "the root of trust changes: every identity must be reissued, and clusters "
    "trusting the old root refuse the new ones until all have moved",
}


def _topology(line: Line) -> str | None:
    """A change to how the clusters are joined: a cluster added or removed (its remote
    secrets with it), its network, how it is reached, its CA, which istiod serves it; the
    mesh's ID or root of trust."""
    key = line.key
    if key.kind is Kind.CLUSTER:
        if line.whole():
            joined = "joins" if line.before is None else "leaves"
            return f"cluster {key.scope} {joined} the mesh: remote secrets are " + (
                "made for it in every other cluster" if joined == "joins" else "dropped"
            )
        return _CLUSTER_RISKS.get(key.field)
    if key.kind is Kind.MULTI_CLUSTER:
        if line.whole():
            return "the mesh " + (
                "spans several clusters now" if line.before is None else "is one cluster again"
            )
        return _MESH_RISKS.get(key.field) or _MESH_RISKS.get(key.field.split(".")[0])
    return None


def _mtls(line: Line) -> str | None:
    if line.key.kind is not Kind.MTLS or not line.before:
        return None
    weaker = line.after is None or _MTLS_STRENGTH.get(line.after, 0) < _MTLS_STRENGTH.get(
        line.before, 0
    )
    return "mTLS weakened" if weaker else None


def _https(line: Line) -> str | None:
    """A gateway server that stops being HTTPS, or loses its redirect to HTTPS."""
    key = line.key
    if key.kind is not Kind.GATEWAY or not key.part.startswith("server :"):
        return None
    server = key.part.removeprefix("server :")
    before, after = line.value("before"), line.value("after")
    if line.whole():
        was = before.get("protocol") if isinstance(before, dict) else None
        now = after.get("protocol") if isinstance(after, dict) else None
    elif key.field == "protocol":
        was, now = before, after
    elif key.field == "https_redirect" and before is True and after is not True:
        return "HTTPS redirect removed: plain-HTTP requests are served instead of redirected"
    else:
        return None
    if was == "HTTPS" and now != "HTTPS":
        return f"HTTPS removed from port {server}: its hosts are served in plain text or not at all"
    return None


def _ingress_move(line: Line) -> str | None:
    """A gateway changing API: Istio's Gateway runs on the installed gateway deployment,
    a Gateway API one on a proxy istiod deploys for it, with its own Service."""
    if line.key.kind is Kind.GATEWAY and not line.key.part and line.key.field == "api":
        return (
            "ingress moves to a new proxy with its own Service, address and identity: point "
            "DNS at it first; policies and JWT rules on the old gateway's pods stop applying"
        )
    return None


def _outbound(line: Line) -> str | None:
    opens = (line.key.kind, line.key.field) in (
        (Kind.SIDECAR, "outbound_policy"),
        (Kind.MESH_CONFIG, "outbound_traffic_policy"),
    )
    if opens and line.value("before") == "REGISTRY_ONLY" and line.value("after") != "REGISTRY_ONLY":
        return "outbound traffic to any host allowed (was REGISTRY_ONLY)"
    return None


def _tokens(line: Line) -> str | None:
    if line.key.kind is not Kind.JWT:
        return None
    if line.whole() and line.after is None:
        return "JWT rule removed: its tokens are no longer checked"
    if line.key.field == "require_token" and line.value("after") is False:
        return "token no longer required"
    return None


def _trust(line: Line) -> str | None:
    """Whom the mesh trusts: the issuers and keys of end-user tokens, the trust domain
    its identities live in and the other domains it accepts as its own."""
    key = line.key
    changed = line.before is not None and line.after is not None
    if key.kind is Kind.JWT and changed:
        if key.field == "issuer":
            return "tokens are trusted from another issuer"
        if key.field == "jwks_uri":
            return "tokens are checked against another key set"
    if key.kind is Kind.MESH and key.field == "trust_domain":
        return "the trust domain changes: every workload's identity changes with it"
    if key.kind is Kind.MESH and key.field == "trust_domain_aliases" and line.after is not None:
        return "identities of another trust domain are accepted as this mesh's"
    return None


def _isolation(line: Line) -> str | None:
    if line.key.kind is Kind.DEFAULT_DENY and line.after is None:
        return "default-deny removed"
    if (
        line.key.kind is Kind.NAMESPACE
        and line.key.field == "injection"
        and line.value("after") == "disabled"
    ):
        return "sidecars removed: the namespace's workloads leave the mesh (no mTLS, no policy)"
    return None


def _egress_scope(line: Line) -> str | None:
    if line.key.kind is Kind.SIDECAR and line.key.field == "egress_hosts":
        added = sorted(set(line.value("after") or ()) - set(line.value("before") or ()))
        if added:
            return f"egress scope widened: {', '.join(added)}"
    return None


def _egress_control(line: Line) -> str | None:
    """An external service that stops going through the egress gateway, or whose gateway
    lets more callers through."""
    if line.key.kind is not Kind.EGRESS:
        return None
    if line.key.field == "via_egress_gateway" and line.value("before") and not line.value("after"):
        return "egress no longer through the egress gateway: unaudited, every caller"
    if line.key.field == "allowed_callers":
        before, after = set(line.value("before") or ()), set(line.value("after") or ())
        if before and not after:
            return "egress open to every caller: the gateway's caller restriction is gone"
        if before and after - before:
            return f"egress opened to {', '.join(sorted(after - before))}"
    return None


def _observability(line: Line) -> str | None:
    key = line.key
    if key.kind is Kind.TELEMETRY and line.whole() and line.after is None:
        return "telemetry removed: access logging and tracing settings gone"
    logging_off = (key.kind, key.field) == (Kind.TELEMETRY, "access_logging") and (
        line.value("after") is False
    )
    logging_off = logging_off or (
        (key.kind, key.field) == (Kind.MESH_CONFIG, "access_log_file")
        and line.value("after") in (None, "")
    )
    if logging_off:
        return "access logging turned off"
    if key.kind is Kind.TELEMETRY and key.field == "tracing_sampling":
        before, after = line.value("before") or 0, line.value("after") or 0
        if before > 0 and after == 0:
            return "tracing turned off"
    return None


def _slo(line: Line) -> str | None:
    """An SLO or one of its alerts gone, or an objective that asks less: fewer failures
    reach anyone."""
    key = line.key
    if key.kind is Kind.SLO_RULES and line.before is not None and key.field == "kind":
        return "SLO rules move to another Prometheus: it must load them, or no SLO alerts"
    if key.kind is not Kind.SLO:
        return None
    if line.whole() and line.after is None:
        return "SLO removed: its alerts go with it"
    if key.field in ("alerting.page", "alerting.ticket") and line.value("after") is False:
        return f"{key.field.removeprefix('alerting.')} alert removed"
    before, after = line.value("before"), line.value("after")
    changed = before is not None and after is not None
    if changed and key.field == "latency_threshold_ms" and after > before:
        return f"SLO loosened: latency threshold {before:g} ms → {after:g} ms"
    if changed and key.field == "objective" and after < before:
        return f"SLO loosened: objective {before} % → {after} %"
    if key.field == "excluded_codes" and set(after or ()) - set(before or ()):
        return "SLO loosened: more response codes left out of the count"
    if key.field == "excluded_routes" and set(after or ()) - set(before or ()):
        return "SLO loosened: more routes left out of the count"
    if key.field == "group_by" and changed and "route_name" in set(before) ^ set(after or ()):
        return (
            "SLO counted elsewhere: kept per route it is measured at the callers, not the service"
        )
    return None


def _has_fault(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("fault"))


def _fault_in_prod(line: Line) -> str | None:
    if line.key.kind not in (Kind.ROUTE, Kind.CANARY) or line.key.part or not line.production:
        return None
    if line.key.field == "fault":
        new_fault = line.before is None and line.after is not None
    else:
        new_fault = line.whole() and _has_fault(line.value("after"))
        new_fault = new_fault and not _has_fault(line.value("before"))
    return "fault injection reaches production" if new_fault else None


def _canary_jump(line: Line) -> str | None:
    """A canary with an analysis may move only to its plan's next step (or back to 0, a
    rollback); one without moves at most ``canary_step`` points at once."""
    key = line.key
    if key.kind is Kind.CANARY and key.part == "split" and line.before and line.after:
        before, after = _candidate_percent(line.before), _candidate_percent(line.after)
        analysis = next(
            (
                c.analysis
                for c in line.head.policy.canaries
                if f"{c.namespace}/{c.service}" == key.scope
            ),
            None,
        )
        if analysis is not None:
            planned = next_step(analysis, before)
            if after > before and after != planned:
                return (
                    f"canary skips its analysis's steps: {before}% → {after}% "
                    f"(the next step is {planned}%)"
                )
            return None
        jump = abs(after - before)
        if jump > line.canary_step:
            return f"canary moves {jump} points at once (step {line.canary_step})"
    return None


def _access(line: Line) -> str | None:
    if line.key.kind is Kind.ACCESS:
        before = _VERDICT_REACH[line.before or Verdict.DENIED.value]
        if _VERDICT_REACH[line.after or Verdict.DENIED.value] > before:
            return "access widened"
    return None


def _candidate_percent(split: str) -> int:
    """``'v1 90% / v3 10%'`` → 10."""
    return int(split.rsplit(" ", 1)[1].rstrip("%"))


RULES: tuple[Callable[[Line], str | None], ...] = (
    _crd_owner,
    _topology,
    _mtls,
    _https,
    _ingress_move,
    _outbound,
    _tokens,
    _trust,
    _isolation,
    _egress_scope,
    _egress_control,
    _observability,
    _slo,
    _fault_in_prod,
    _canary_jump,
    _access,
)
"""Most severe first: a line's rank is the index of the rule that flags it."""


def judge(line: Line) -> tuple[str, int] | None:
    """The risk of ``line`` and its rank (0 = most severe), or None when it is harmless."""
    for rank, rule in enumerate(RULES):
        risk = rule(line)
        if risk:
            return risk, rank
    return None
