"""Istio's analyzer on the specs our validation calls wrong, and on the one it calls right.

Every example in ``test_validation.INVALID`` and ``test_validation_strict.STRICT`` is
rendered and handed to ``istioctl analyze``.
Two things must hold:

* the valid base spec is clean: the analyzer flags nothing we accept (where it does, our
  validation has a hole);
* the analyzer flags exactly the examples listed below, with those codes. Each listed one is
  an example we reject too, so the two judges agree; an example the analyzer starts (or stops)
  flagging after an Istio upgrade shows up here as a difference to look at.

The other examples are mistakes Istio itself accepts but that break traffic or weaken policy
(weights Istio silently normalises, a route to a service that does not exist, ...): rejecting
them is deliberately stricter than Istio.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from builders import shop
from istioctl import analyze, justified
from meshstack.render import render
from meshstack.spec import MeshSpec, TlsOrigination
from test_egress_origination import EXAMPLES as EGRESS_EXAMPLES
from test_egress_origination import egress_mesh
from test_locality import DISTRIBUTE, FAILOVER, api_policy
from test_locality import EXAMPLES as LOCALITY_EXAMPLES
from test_validation import INVALID
from test_validation_strict import STRICT

pytestmark = pytest.mark.cluster

ISTIOCTL_FLAGS: dict[str, set[str]] = {
    "HTTP status outside 200-599": {"IST0106"},
    "fault percentage above 100": {"IST0106"},
    "mirror percentage below 0": {"IST0106"},
    "sidecar egress host without namespace": {"IST0106"},
    "unknown retry condition": {"IST0106"},
    "wildcard hosts on HTTPS without TLS": {"IST0106"},
    "subset used but not defined": {"IST0101"},
    "two VirtualServices for one host": {"IST0109"},
}
"""Example → the codes of Istio's analyzer for it (IST0106 schema validation, IST0101
reference not found, IST0109 conflicting VirtualService hosts)."""

STRICT_ISTIOCTL_FLAGS: dict[str, set[str]] = {
    "wildcard external host resolved by DNS": {"IST0106"},
    "VirtualService without routes": {"IST0106"},
    "external host that is not a DNS name": {"IST0106"},
    "header regex with a back-reference": {"IST0106"},
    "regex Envoy cannot compile": {"IST0106"},
    "regex with a look-ahead, which RE2 lacks": {"IST0106"},
    "route after a catch-all": {"IST0130"},
    "route after the same match": {"IST0130", "IST0131"},
}
"""The same for the stricter table (IST0130 unreachable route, IST0131 ineffective match).
Its Kubernetes value formats (quantities, labels, images) are the API server's to judge,
not the analyzer's; duplicate names are invisible to it (one object overwrites the other)."""

EGRESS_ISTIOCTL_FLAGS: dict[str, set[str]] = {
    "TLS port equal to the caller's port": {"IST0106", "IST0177"},
}
"""Egress through a gateway: one port number with two protocols (IST0177 conflicting
ServiceEntry protocols). The analyzer has no rule for the others (which callers exist, which
ports the gateway's Service has, what TLS the caller speaks)."""

LOCALITY_ISTIOCTL_FLAGS: dict[str, set[str]] = {
    "failover beside a topology priority": {"IST0106"},
    "locality distribute and failover together": {"IST0106"},
    "locality failover to a zone": {"IST0106"},
    "locality failover within one region": {"IST0106"},
    "locality failover without outlier detection": {"IST0133"},
    "locality named twice": {"IST0106"},
    "locality shares not summing to 100": {"IST0106"},
    "locality wildcard in the middle": {"IST0106"},
}
"""Locality load balancing: every example is one Istio's own DestinationRule validation
refuses (IST0106), except failover without outlier detection, which it accepts with a
schema warning (IST0133) — and then never fails over (``test_istio_judge``)."""

TABLES = {
    "validation": (INVALID, ISTIOCTL_FLAGS),
    "locality": (LOCALITY_EXAMPLES, LOCALITY_ISTIOCTL_FLAGS),
    "strict": (STRICT, STRICT_ISTIOCTL_FLAGS),
    "egress": (EGRESS_EXAMPLES, EGRESS_ISTIOCTL_FLAGS),
}

NOT_RENDERABLE = {
    "egress through an undeclared egress gateway": "render() is defined for valid specs only; "
    "a missing egress gateway has no workload selector to render",
    "no host at all": "an egress route through the gateway is rendered for its host: with none "
    "there is nothing to route",
}


def _codes(directory: Path, build: Callable[[], MeshSpec]) -> set[str]:
    (directory / "objects.yaml").write_text(yaml.safe_dump_all(render(build())))
    return {m["code"] for m in analyze(directory) if not justified(m)}


@pytest.mark.parametrize(
    "build",
    [
        shop,
        egress_mesh,
        lambda: egress_mesh(tls_origination=TlsOrigination(ca_secret="pay-ca")),
        lambda: api_policy(FAILOVER),
        lambda: api_policy(DISTRIBUTE),
    ],
    ids=[
        "shop",
        "egress with TLS origination",
        "egress with its own CA",
        "locality failover",
        "locality distribution",
    ],
)
def test_istioctl_finds_nothing_wrong_in_the_spec_we_accept(
    tmp_path: Path, build: Callable[[], MeshSpec]
) -> None:
    assert _codes(tmp_path, build) == set()


@pytest.mark.parametrize("table", sorted(TABLES))
def test_istioctl_flags_exactly_the_wrong_examples_we_expect(tmp_path: Path, table: str) -> None:
    examples, expected = TABLES[table]
    cases = sorted(set(examples) - set(NOT_RENDERABLE))
    for number, _ in enumerate(cases):
        (tmp_path / str(number)).mkdir()

    def judge(numbered: tuple[int, str]) -> set[str]:
        return _codes(tmp_path / str(numbered[0]), examples[numbered[1]][0])

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = dict(zip(cases, pool.map(judge, enumerate(cases)), strict=True))
    flagged = {case: codes for case, codes in found.items() if codes}
    assert flagged == expected
