"""``meshstack canary status`` and ``advance`` judged by a real Prometheus.

Six candidates, each a canary at 10 % with the default analysis (steps 1/10/50/100, 5m
checks, ≥ 100 requests, ≥ 99 % success, p99 ≤ 500 ms, 2 failed checks roll back), over
40 minutes of synthetic Istio series backfilled into Debian's Prometheus:

* healthy — 1 request/s, no errors, 40 ms: promote to 50 %;
* erroring — 5 % of its requests 500 for the whole time: roll back;
* slow — every request 800 ms (p99 995 ms by the histogram): roll back;
* idle — no request reaches it: hold (too little traffic);
* fresh — 2 % of the service's requests for a weight of 10 %: hold (step not in effect);
* flaky — 20 % errors in the last 4 minutes only: one failed check, hold.

The numbers printed are the server's answers to meshstack's PromQL; the expectations are
what the series were built to be (a success rate of 95 %, a p99 interpolated in the
(500, 1000] bucket), so a wrong query shows as a wrong number.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from engine import free_port
from meshstack.cli import main
from meshstack.stacks import resolve_stack
from prometheus_server import PrometheusServer, Traffic, prometheus_with

pytestmark = pytest.mark.engine

SERVICES = ("healthy", "erroring", "slow", "idle", "fresh", "flaky")
SECONDS = 40 * 60

STACK = """
from meshstack.spec import (
    App, Canary, CanaryAnalysis, MeshPolicy, MeshSpec, Namespace, ServicePort, Version, Workload,
)

SERVICES = {services!r}


def spec():
    workloads = tuple(
        Workload(
            name=name,
            ports=(ServicePort(number=8080),),
            versions=(Version(name="v1", image=name + ":1"), Version(name="v2", image=name + ":2")),
        )
        for name in SERVICES
    )
    canaries = tuple(
        Canary(service=name, namespace="shop", weight=10, analysis=CanaryAnalysis())
        for name in SERVICES
    )
    return MeshSpec(
        stack="{stack}",
        namespaces=(Namespace(name="shop"),),
        apps=(App(name="shop", namespace="shop", workloads=workloads),),
        policy=MeshPolicy(canaries=canaries),
    )
"""

CONFIG = """\
# canary weights: moved by `meshstack canary advance`, reviewed like code
config:
  meshstack:canaryWeights:
    healthy: 10  # started on Monday
    erroring: 10
  meshstack:production: false
"""


def _traffic() -> list[Traffic]:
    stable = [Traffic(name, "v1", 9.0) for name in SERVICES if name != "fresh"]
    return [
        *stable,
        Traffic("fresh", "v1", 49.0),
        Traffic("healthy", "v2", 1.0),
        Traffic("erroring", "v2", 1.0, error_share=0.05),
        Traffic("slow", "v2", 1.0, duration_ms=800),
        Traffic("fresh", "v2", 1.0),
        Traffic("flaky", "v2", 1.0, error_share=0.2, errors_from=SECONDS - 240),
    ]


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrometheusServer, float]]:
    first = float(int(time.time()) // 60 * 60 - SECONDS - 120)
    workdir = tmp_path_factory.mktemp("prometheus")
    with prometheus_with(_traffic(), first, SECONDS, workdir) as server:
        yield server, first + SECONDS


def _project(tmp_path: Path, stack: str, services: tuple[str, ...], config: str = "") -> Path:
    (tmp_path / "stacks").mkdir(parents=True)
    (tmp_path / "stacks" / f"{stack}.py").write_text(STACK.format(services=services, stack=stack))
    if config:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(config)
    return tmp_path


def _verdicts(out: str) -> dict[str, str]:
    found, current = {}, ""
    for line in out.splitlines():
        if line.startswith("shop/"):
            current = line.split(":", 1)[0].removeprefix("shop/")
        elif line.strip().startswith("verdict:"):
            found[current] = line.strip().removeprefix("verdict: ")
    return found


def _candidate_row(out: str, service: str) -> list[str]:
    block = out.split(f"shop/{service}:", 1)[1]
    row = next(line for line in block.splitlines() if "(candidate)" in line)
    return row.split()


def test_status_promotes_holds_and_rolls_back_from_the_servers_numbers(
    prometheus: tuple[PrometheusServer, float],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, end = prometheus
    project = _project(tmp_path, "canaries", SERVICES, CONFIG)
    argv = ["--project", str(project), "canary", "status", "canaries"]
    status = main([*argv, "--prometheus", server.url, "--at", str(end)])
    out, err = capsys.readouterr()
    assert status == 3, err  # a canary should roll back
    verdicts = _verdicts(out)
    assert verdicts["healthy"].startswith("promote → 50%: success 100.00%"), out
    assert verdicts["erroring"].startswith("roll back → 0%: 2 failed checks in a row"), out
    assert "success 95.00% < 99%" in verdicts["erroring"]
    assert (
        verdicts["slow"].startswith("roll back → 0%") and "p99 995 ms > 500 ms" in verdicts["slow"]
    )
    assert verdicts["idle"].startswith("hold: too little traffic: 0 candidate requests"), out
    assert verdicts["fresh"].startswith("hold: the step is not in effect yet"), out
    assert "took 2.0% of requests" in verdicts["fresh"]
    assert verdicts["flaky"].startswith("hold: failed 1 check(s) in a row, rollback at 2"), out
    # the candidate's numbers as the server computed them: 300 requests in 5 minutes
    assert _candidate_row(out, "healthy")[2:] == ["300", "100.00%", "50", "ms"]
    assert _candidate_row(out, "erroring")[2:4] == ["300", "95.00%"]


def test_advance_writes_each_verdicts_weight_into_the_stack_file(
    prometheus: tuple[PrometheusServer, float],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, end = prometheus
    project = _project(tmp_path, "canaries", SERVICES, CONFIG)
    base = ["--project", str(project), "canary"]
    at = ["--prometheus", server.url, "--at", str(end)]
    assert main([*base, "advance", "canaries", *at]) == 3
    out = capsys.readouterr().out
    assert "shop/healthy: 10% → 50% written to Pulumi.canaries.yaml" in out
    assert "shop/idle: stays at 10% (hold)" in out
    text = (project / "Pulumi.canaries.yaml").read_text()
    # edited in place: comments and other keys kept, the missing entries added
    assert "    healthy: 50  # started on Monday\n" in text
    assert text.startswith("# canary weights: moved by")
    assert yaml.safe_load(text)["config"]["meshstack:canaryWeights"] == {
        "healthy": 50,
        "erroring": 0,
        "slow": 0,
    }
    spec, problems = resolve_stack("canaries", project)
    assert not problems
    weights = {c.service: c.weight for c in spec.policy.canaries}
    assert weights == {**dict.fromkeys(SERVICES, 10), "healthy": 50, "erroring": 0, "slow": 0}
    # the same data after the change: the candidate still gets 10 %, so the new step is
    # not in effect until `pulumi up`; the rolled-back canaries are idle
    assert main([*base, "status", "canaries", *at]) == 0
    verdicts = _verdicts(capsys.readouterr().out)
    assert verdicts["healthy"].startswith("hold: the step is not in effect yet")
    assert verdicts["erroring"].startswith("idle: weight 0")
    # --start starts an idle canary at its first step
    assert main([*base, "advance", "canaries", *at, "--start"]) == 0
    assert "shop/erroring: 0% → 1% written" in capsys.readouterr().out


def test_a_service_prometheus_never_saw_is_an_error_not_an_idle_candidate(
    prometheus: tuple[PrometheusServer, float],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, end = prometheus
    project = _project(tmp_path, "ghost", ("ghost",))
    argv = ["--project", str(project), "canary", "status", "ghost"]
    assert main([*argv, "--prometheus", server.url, "--at", str(end)]) == 1
    err = capsys.readouterr().err
    assert "knows no istio_requests_total series for shop/ghost" in err
    assert "Traceback" not in err


class _NotPrometheus(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>Grafana login</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_unreachable_garbage_and_bad_addresses_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "canaries", SERVICES)
    argv = ["--project", str(project), "canary", "status", "canaries", "--prometheus"]
    closed = free_port()
    assert main([*argv, f"http://127.0.0.1:{closed}"]) == 1
    assert f"cannot reach Prometheus at http://127.0.0.1:{closed}" in capsys.readouterr().err

    other = http.server.HTTPServer(("127.0.0.1", 0), _NotPrometheus)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        assert main([*argv, f"http://127.0.0.1:{other.server_port}"]) == 1
        err = capsys.readouterr().err
        assert "answered something that is not Prometheus's query API" in err
        assert "Grafana login" in err
    finally:
        other.shutdown()
        other.server_close()

    assert main([*argv, "127.0.0.1:9090"]) == 1
    assert "is not a Prometheus address: give http://HOST:PORT" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main([*argv, "http://127.0.0.1:1", "--at", "yesterday"])
    assert usage.value.code == 64
    assert "'yesterday' is not a time" in capsys.readouterr().err
