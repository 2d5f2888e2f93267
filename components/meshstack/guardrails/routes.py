"""Traffic splits add up: the weights of a route's destinations sum to 100.

Istio rejects a split that does not, but only when the VirtualService reaches
the API server; in preview this rule reports it before anything is applied.
One destination may leave its weight out (it then gets everything).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from meshstack.guardrails.model import GuardrailSettings, PlannedResource, as_list

ROUTE_SECTIONS = ("http", "tcp", "tls")


def _destination_label(destination: Any) -> str:
    if not isinstance(destination, Mapping):
        return "?"
    target = destination.get("destination")
    if not isinstance(target, Mapping):
        return "?"
    host, subset = target.get("host", "?"), target.get("subset")
    return f"{host}/{subset}" if subset else str(host)


def _is_percentage(weight: Any) -> bool:
    """0..100 and whole. Weights cross the engine's wire as JSON numbers, so 90.0 is 90."""
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        return False
    return float(weight).is_integer() and 0 <= weight <= 100


def split_problem(route: Sequence[Any]) -> str | None:
    """What is wrong with one route's destination weights, or None."""
    raw = [d.get("weight") if isinstance(d, Mapping) else None for d in route]
    if not all(w is None or _is_percentage(w) for w in raw):
        return f"weights {raw} must be whole numbers from 0 to 100"
    weights = [None if w is None else int(w) for w in raw]
    given = [w for w in weights if w is not None]
    if len(route) == 1:
        return (
            None
            if not given or given[0] in (0, 100)
            else f"a single destination weighted {given[0]}"
        )
    total = sum(w or 0 for w in weights)
    if total != 100:
        split = ", ".join(
            f"{_destination_label(d)}={w if w is not None else 'unset'}"
            for d, w in zip(route, weights, strict=True)
        )
        return f"weights sum to {total}, not 100 ({split})"
    return None


def weights_sum_to_100(resource: PlannedResource, _: GuardrailSettings) -> Iterator[str]:
    if not resource.is_kind("networking.istio.io", "VirtualService"):
        return
    for section in ROUTE_SECTIONS:
        for i, rule in enumerate(as_list(resource.spec.get(section))):
            if not isinstance(rule, Mapping):
                continue
            route = as_list(rule.get("route"))
            problem = split_problem(route) if route else None
            if problem is not None:
                label = rule.get("name")
                where = f"spec.{section}[{label if isinstance(label, str) else i}].route"
                yield f"{resource.display_name}: {where}: {problem}"
