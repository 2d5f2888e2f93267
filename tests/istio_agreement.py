"""meshstack's readers of Istio against Istio's own control plane.

``graph`` says who may call whom (between workloads, from the gateways, to external
hosts) and the diff says how that changes; :mod:`meshstack.istio_judge` asks istiod's
generated Envoy configuration the same questions. Where they differ, ours is the claim
to fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshstack.access.authorization import Verdict
from meshstack.access.egress import who_can_reach_external
from meshstack.access.graph import who_can_call_whom
from meshstack.access.ingress import who_can_enter
from meshstack.diff import diff
from meshstack.istio_judge import istio_egress_verdicts, istio_entry_verdicts, istio_verdicts
from meshstack.render import K8sObject
from meshstack.spec.mesh import MeshSpec


def graph_disagreements(spec: MeshSpec, objects: Sequence[K8sObject]) -> tuple[list[str], int]:
    """Every pair whose ``graph`` verdict is not Istio's, and how many pairs Istio judged
    (ambient callees and callers on virtual machines are not decided by sidecar config)."""
    ours = {(c.caller, c.callee): c for c in who_can_call_whom(spec)}
    theirs = istio_verdicts(spec, objects)
    assert set(ours) == set(theirs)
    wrong = []
    judged = 0
    for pair, call in sorted(ours.items()):
        istio = theirs[pair]
        if istio.verdict is None:
            continue
        judged += 1
        if istio.verdict is not call.verdict:
            wrong.append(
                f"{pair[0]} → {pair[1]}: graph says {call.verdict.value} ({call.reason}); "
                f"Istio says {istio.verdict.value} ({istio.decided})"
            )
    return wrong, judged


def entry_disagreements(spec: MeshSpec, objects: Sequence[K8sObject]) -> tuple[list[str], int]:
    """Every entry of ``graph``'s Ingress section whose verdict is not Istio's, and how
    many entries Istio judged."""
    ours = who_can_enter(spec)
    theirs = istio_entry_verdicts(spec, objects)
    wrong = [
        f"{e.gateway} as {e.identity} → {e.callee} ({e.route}): graph says "
        f"{e.verdict.value} ({e.reason}); Istio says {i.verdict.value} ({i.decided})"
        for e, i in zip(ours, theirs, strict=True)
        if i.verdict is not None and i.verdict is not e.verdict
    ]
    return wrong, sum(1 for i in theirs if i.verdict is not None)


def egress_disagreements(spec: MeshSpec, objects: Sequence[K8sObject]) -> tuple[list[str], int]:
    """Every pair of ``graph``'s Egress section whose verdict is not Istio's, and how many
    pairs Istio judged."""
    theirs = istio_egress_verdicts(spec, objects)
    wrong = [
        f"{c.caller} → {c.callee}: graph says {c.verdict.value} ({c.reason}); "
        f"Istio says {theirs[(c.caller, c.callee)].verdict}"
        for c in who_can_reach_external(spec)
        if (c.caller, c.callee) in theirs and theirs[(c.caller, c.callee)].verdict is not c.verdict
    ]
    return wrong, len(theirs)


def _istio_permissions(
    spec: MeshSpec, objects: Sequence[K8sObject]
) -> tuple[dict[str, str], set[str]]:
    """Istio's permissions as the diff writes them (``caller → callee``: the verdict, a
    denied pair absent), and the pairs Istio does not decide."""
    granted: dict[str, str] = {}
    undecided: set[str] = set()
    verdicts = {**istio_verdicts(spec, objects), **istio_egress_verdicts(spec, objects)}
    for (caller, callee), verdict in verdicts.items():
        key = f"{caller} → {callee}"
        if verdict.verdict is None:
            undecided.add(key)
        elif verdict.verdict is not Verdict.DENIED:
            granted[key] = verdict.verdict.value
    return granted, undecided


def permission_line_disagreements(
    base: MeshSpec,
    head: MeshSpec,
    base_objects: Sequence[K8sObject],
    head_objects: Sequence[K8sObject],
) -> tuple[list[str], int]:
    """Where the diff's permission lines (``caller → callee: before → after``) are not the
    change in Istio's verdicts between the two sides, and how many lines Istio confirms.
    Pairs Istio decides on neither side (ambient callees) are left out."""
    before, undecided_before = _istio_permissions(base, base_objects)
    after, undecided_after = _istio_permissions(head, head_objects)
    undecided = undecided_before | undecided_after
    istio = {
        key: (before.get(key), after.get(key))
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key) and key not in undecided
    }
    ours = {
        c.key: (c.before, c.after)
        for c in diff(base, head)
        if c.is_permission and c.key not in undecided
    }
    wrong = [
        f"{key}: the diff says {ours.get(key, 'nothing')}; Istio's verdicts say "
        f"{istio.get(key, 'no change')}"
        for key in sorted(ours.keys() | istio.keys())
        if ours.get(key) != istio.get(key)
    ]
    return wrong, len(istio)
