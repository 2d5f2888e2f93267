"""meshstack's readers of Istio against Istio's own control plane.

``graph`` says who may call whom; :func:`meshstack.istio_judge.istio_verdicts` asks
istiod's generated Envoy configuration the same question. Where they differ, ours is the
claim to fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshstack.access.graph import who_can_call_whom
from meshstack.istio_judge import istio_verdicts
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
