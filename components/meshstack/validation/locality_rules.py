"""Rules for locality load balancing: what Istio refuses, and what it keeps but never does.

Istio's DestinationRule validation refuses ``distribute`` beside ``failover``, shares that
do not sum to 100, a wildcard anywhere but at the end, two localities that overlap, a
failover within one region or below region level, and ``failover`` beside a topology label
in ``failover_priority``. Failover without outlier detection is only a warning there — the
setting is kept and nothing ever fails over, because nothing marks an endpoint unhealthy —
so here it is refused, with the fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from meshstack.spec.locality import LocalityLoadBalancing
from meshstack.spec.traffic import DestinationPolicy
from meshstack.validation.problems import Problem

TOPOLOGY_LABELS = (
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
)
"""The labels a locality is made of: with ``failover`` they may not be priorities too."""


def locality_problems(dp: DestinationPolicy, path: str) -> Iterator[Problem]:
    locality = dp.locality
    if locality is None:
        return
    where = f"{path}.locality"
    if locality.distribute and locality.failover:
        yield Problem(
            where,
            "choose distribute (fixed shares per locality) or failover (the next region when "
            "one fails), not both: Istio refuses the DestinationRule",
        )
    if (locality.failover or locality.failover_priority) and dp.outlier_detection is None:
        yield Problem(
            f"{path}.outlier_detection",
            "locality failover takes effect only when outlier detection ejects unhealthy "
            "endpoints (Istio keeps the setting and never fails over): set "
            "outlier_detection=OutlierDetection()",
        )
    if locality.failover:
        for label in locality.failover_priority:
            if label in TOPOLOGY_LABELS:
                yield Problem(
                    f"{where}.failover_priority",
                    f"{label!r} is a locality label, which failover already orders by: remove "
                    "it, or remove failover and order by failover_priority alone",
                )
    yield from _failover_problems(locality, where)
    yield from _distribution_problems(locality, where)


def _failover_problems(locality: LocalityLoadBalancing, where: str) -> Iterator[Problem]:
    for i, failover in enumerate(locality.failover):
        at = f"{where}.failover[{i}]"
        if failover.from_region == failover.to_region:
            yield Problem(
                at, f"fails over from {failover.from_region!r} to itself: name another region"
            )
        for field, region in (
            ("from_region", failover.from_region),
            ("to_region", failover.to_region),
        ):
            if "/" in region or "*" in region:
                yield Problem(
                    f"{at}.{field}",
                    f"{region!r}: failover is between regions, so a bare region name (no zone, "
                    "no '*'); for zones use distribute or failover_priority",
                )


def _distribution_problems(locality: LocalityLoadBalancing, where: str) -> Iterator[Problem]:
    sources = []
    for i, distribution in enumerate(locality.distribute):
        at = f"{where}.distribute[{i}]"
        sources.append((f"{at}.from_locality", distribution.from_locality))
        out_of_range = [loc for loc, share in distribution.to.items() if not 1 <= share <= 100]
        if out_of_range:
            yield Problem(f"{at}.to", f"shares must be 1 to 100 percent; not {out_of_range}")
        elif not distribution.to:
            yield Problem(
                f"{at}.to", "give the localities the requests go to, e.g. {'us-east': 100}"
            )
        elif (total := sum(distribution.to.values())) != 100:
            yield Problem(f"{at}.to", f"shares sum to {total}; they must sum to 100")
        yield from _overlaps([(f"{at}.to[{loc}]", loc) for loc in distribution.to])
    yield from _overlaps(sources)


def _parts(locality: str) -> tuple[str, ...] | None:
    """``region/zone/subzone`` as its named parts, a final ``*`` dropped (it covers all
    below); ``None`` when the form is wrong."""
    parts = tuple(locality.split("/"))
    if parts[-1] == "*":
        parts = parts[:-1]
    if len(parts) > 3 or any(not p or "*" in p for p in parts):
        return None
    return parts


def _overlaps(localities: Sequence[tuple[str, str]]) -> Iterator[Problem]:
    """A malformed locality, or one that covers (or repeats) an earlier one: Envoy could not
    tell which share applies."""
    seen: list[tuple[tuple[str, ...], str]] = []
    for at, locality in localities:
        parts = _parts(locality)
        if parts is None:
            yield Problem(
                at,
                f"{locality!r} is not a locality: region, region/zone or region/zone/subzone, "
                "non-empty parts, '*' only as the last part",
            )
            continue
        for earlier, name in seen:
            shorter = min(len(earlier), len(parts))
            if earlier[:shorter] == parts[:shorter]:
                yield Problem(
                    at, f"{locality!r} overlaps {name!r}: each locality may be named once"
                )
                break
        seen.append((parts, locality))
