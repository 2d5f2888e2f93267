"""``meshstack trace``: one request followed through Istio's own generated configuration.

The answers come from the judge (Istio's control plane), so these tests check what the
command prints of them — the route that matched, where the request goes, the callee's
policy — and that every wrong input is one clear line, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_stack import require_toolchain
from meshstack.cli import main

pytestmark = pytest.mark.cluster

PROJECT = Path(__file__).resolve().parent.parent


def _trace(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["--project", str(PROJECT), "trace", "dev", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_jason_goes_to_reviews_v2(capsys: pytest.CaptureFixture[str]) -> None:
    require_toolchain("judge")
    status, out, _ = _trace(
        capsys,
        "--from",
        "productpage.bookinfo",
        "http://reviews:9080/reviews/0",
        "-H",
        "end-user:jason",
    )
    assert status == 0
    assert "route         jason-on-v2" in out
    assert "100 % outbound|9080|v2|reviews.bookinfo.svc.cluster.local" in out
    assert "policy at bookinfo/reviews: allowed" in out


def test_through_a_gateway_api_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    """dev's bookinfo enters through a Gateway API gateway: the proxy istiod deploys for it."""
    require_toolchain("judge")
    status, out, _ = _trace(
        capsys,
        "--from",
        "ingress:bookinfo-gateway",
        "http://bookinfo.dev.meshstack.test/productpage",
    )
    assert status == 0
    assert "bookinfo/bookinfo-gateway-istio (Gateway API gateway bookinfo-gateway)" in out
    assert "route         productpage" in out
    assert "outbound|9080||productpage.bookinfo.svc.cluster.local" in out


def test_a_sidecar_caller_bypasses_the_callees_waypoint(capsys: pytest.CaptureFixture[str]) -> None:
    """cartservice (ambient, its own waypoint) as Istio decides it for a sidecar caller."""
    require_toolchain("judge")
    status, out, _ = _trace(
        capsys, "--from", "productpage.bookinfo", "http://cartservice.hipster-shop:7070/"
    )
    assert status == 0
    assert "bypasses waypoint hipster-shop/cart-waypoint" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--from", "productpag", "http://reviews:9080/"),
            "no such workload; candidates: productpage.bookinfo",
        ),
        (
            ("--from", "ingress:nope", "http://x/"),
            "no gateway 'nope' (declared: istio-ingressgateway, bookinfo-gateway)",
        ),
        (("--from", "productpage.bookinfo", "ht!tp://"), "write http://HOST[:PORT]/PATH"),
    ],
)
def test_wrong_input_is_one_line_naming_what_would_be_valid(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    status, out, err = _trace(capsys, *args)
    assert status == 1 and out == ""
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_judge_names_the_command_that_builds_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MESHSTACK_JUDGE", str(tmp_path / "meshstack-judge"))
    status, _, err = _trace(capsys, "--from", "productpage.bookinfo", "http://reviews:9080/")
    assert status == 1
    assert "is not built" in err and "`meshstack build-judge`" in err and "Traceback" not in err
