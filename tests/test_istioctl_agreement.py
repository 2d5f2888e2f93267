"""Istio's analyzer on the specs our validation calls wrong, and on the one it calls right.

Every example in ``test_validation.INVALID`` is rendered and handed to ``istioctl analyze``.
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

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from builders import shop
from istioctl import JUSTIFIED, analyze
from meshstack.render import render
from test_validation import INVALID

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

NOT_RENDERABLE = {
    "egress through an undeclared egress gateway": "render() is defined for valid specs only; "
    "a missing egress gateway has no workload selector to render",
}


def _codes(directory: Path, case: str) -> set[str]:
    build = INVALID[case][0]
    (directory / "objects.yaml").write_text(yaml.safe_dump_all(render(build())))
    return {m["code"] for m in analyze(directory) if m["code"] not in JUSTIFIED}


def test_istioctl_finds_nothing_wrong_in_the_spec_we_accept(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(render(shop())))
    assert [m["code"] for m in analyze(tmp_path) if m["code"] not in JUSTIFIED] == []


def test_istioctl_flags_exactly_the_wrong_examples_we_expect(tmp_path: Path) -> None:
    cases = sorted(set(INVALID) - set(NOT_RENDERABLE))
    for number, _ in enumerate(cases):
        (tmp_path / str(number)).mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = dict(
            zip(
                cases,
                pool.map(
                    lambda n_case: _codes(tmp_path / str(n_case[0]), n_case[1]), enumerate(cases)
                ),
                strict=True,
            )
        )
    flagged = {case: codes for case, codes in found.items() if codes}
    assert flagged == ISTIOCTL_FLAGS
    assert set(ISTIOCTL_FLAGS) <= set(INVALID), "every example Istio flags, we reject too"
