"""Istio's own control plane judges meshstack's claims about traffic.

Every verdict of ``meshstack graph`` is compared with the one istiod's generated Envoy
configuration gives (``meshstack-judge``: Istio's fake discovery server and simulation,
the callee's RBAC filters evaluated by Envoy's semantics), for the shipped stacks and a
synthetic mesh; the seeds' scenarios are asked of Istio directly; and deliberate renderer
mutations must each make an Istio-judged check fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import shop
from engine_stack import require_toolchain
from istio_agreement import graph_disagreements
from meshstack.istio_judge import ask, gateway_stand_ins, route_query
from meshstack.render import K8sObject, render
from meshstack.spec import (
    MeshSpec,
    MtlsMode,
    PeerAuthentication,
)
from meshstack.synthetic import synthetic_mesh

pytestmark = pytest.mark.cluster


@pytest.fixture(autouse=True)
def _judge() -> None:
    require_toolchain("judge")


def objects_of(spec: MeshSpec) -> list[K8sObject]:
    objects = render(spec)
    return objects + gateway_stand_ins(spec, objects)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_graph_verdicts_are_istios(stack: str, stack_specs: dict[str, MeshSpec]) -> None:
    spec = stack_specs[stack]
    wrong, judged = graph_disagreements(spec, objects_of(spec))
    assert judged > 0
    assert wrong == []


def test_graph_verdicts_are_istios_on_a_synthetic_mesh() -> None:
    spec = synthetic_mesh(50)
    wrong, judged = graph_disagreements(spec, objects_of(spec))
    assert judged >= 50 * 49
    assert wrong == []


def test_mesh_wide_mtls_is_judged_the_same_however_it_is_spelled() -> None:
    """``namespace=None`` and ``namespace="istio-system"`` render the same object."""
    for namespace in (None, "istio-system"):
        spec = shop(
            peer_authentications=(PeerAuthentication(namespace=namespace, mode=MtlsMode.DISABLE),)
        )
        wrong, _ = graph_disagreements(spec, objects_of(spec))
        assert wrong == [], namespace


def _route(spec: MeshSpec, **query: Any) -> dict[str, Any]:
    (answer,) = ask(objects_of(spec), spec, [route_query(**query)])
    return answer


def _weights(answer: dict[str, Any]) -> dict[str, float]:
    backends = answer["backends"]
    total = sum(b["weight"] for b in backends)
    return {b["subset"]: round(100 * b["weight"] / total, 3) for b in backends}
