"""A real Prometheus (Debian's ``prometheus``) on 127.0.0.1 holding synthetic Istio series,
for judging ``meshstack canary`` against the server's own query engine.

The series are written as OpenMetrics and backfilled with ``promtool tsdb
create-blocks-from openmetrics`` into the server's data directory before it starts, so the
server answers queries over a past hour exactly as if it had scraped proxies then; its
configuration scrapes nothing, so nothing else lands in it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine import free_port
from meshstack.istio_metrics import DURATION, REQUESTS
from meshstack.spec.slo import ISTIO_LATENCY_BUCKETS_MS

SCRAPE_SECONDS = 15


@dataclass(frozen=True)
class Traffic:
    """One version of one service: requests per second, the share answering 500, and the
    duration every request takes (so it lands in one histogram bucket)."""

    service: str
    version: str
    per_second: float
    error_share: float = 0.0
    duration_ms: float = 40.0
    errors_from: float = 0.0
    """When the errors begin (seconds after the series' start)."""
    namespace: str = "shop"
    labels: dict[str, str] = field(default_factory=dict)


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian's prometheus package; .ci/run installs it)")
    return found


def _labels(traffic: Traffic, **extra: str) -> str:
    names = {
        "reporter": "destination",
        "destination_service_name": traffic.service,
        "destination_service_namespace": traffic.namespace,
        "destination_version": traffic.version,
        **traffic.labels,
        **extra,
    }
    return "{" + ",".join(f'{k}="{v}"' for k, v in names.items()) + "}"


def openmetrics(traffics: Iterable[Traffic], first: float, seconds: int) -> str:
    """Counters and histograms of ``traffics``, one sample every scrape from ``first``."""
    chosen = list(traffics)
    moments = [first + s for s in range(0, seconds + 1, SCRAPE_SECONDS)]

    def served(t: Traffic, at: float) -> float:
        """Requests of ``t`` up to ``at`` (its counter's value)."""
        return t.per_second * (at - first)

    def failed(t: Traffic, at: float) -> float:
        return t.per_second * t.error_share * max(0.0, at - first - t.errors_from)

    lines = [f"# TYPE {REQUESTS.removesuffix('_total')} counter"]
    for t in chosen:
        ok = f"{REQUESTS}{_labels(t, response_code='200')}"
        lines += [f"{ok} {served(t, at) - failed(t, at):.3f} {at:.3f}" for at in moments]
        if t.error_share > 0:
            bad = f"{REQUESTS}{_labels(t, response_code='500')}"
            lines += [f"{bad} {failed(t, at):.3f} {at:.3f}" for at in moments]
    lines.append(f"# TYPE {DURATION} histogram")
    for t in chosen:
        for at in moments:
            count = served(t, at)
            for bound in (*ISTIO_LATENCY_BUCKETS_MS, float("inf")):
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                within = count if t.duration_ms <= bound else 0.0
                lines.append(f"{DURATION}_bucket{_labels(t, le=le)} {within:.3f} {at:.3f}")
            lines.append(f"{DURATION}_count{_labels(t)} {count:.3f} {at:.3f}")
            lines.append(f"{DURATION}_sum{_labels(t)} {count * t.duration_ms:.3f} {at:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PrometheusServer:
    url: str

    def query(self, promql: str, at: float) -> list[dict[str, object]]:
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql, "time": str(at)}
        )
        with urllib.request.urlopen(address, timeout=10) as response:
            answer = json.load(response)
        result: list[dict[str, object]] = answer["data"]["result"]
        return result


@contextmanager
def prometheus_with(
    traffics: Iterable[Traffic], first: float, seconds: int, workdir: Path
) -> Iterator[PrometheusServer]:
    """A server holding ``traffics`` from ``first`` for ``seconds``; stopped on leaving."""
    workdir.mkdir(parents=True, exist_ok=True)
    data, tsdb = workdir / "series.om", workdir / "tsdb"
    data.write_text(openmetrics(traffics, first, seconds))
    subprocess.run(
        [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(data), str(tsdb)],
        check=True,
        capture_output=True,
    )
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    server = subprocess.Popen(
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(
                    "Prometheus did not start: " + (workdir / "prometheus.log").read_text()[-2000:]
                )
            time.sleep(0.3)
        yield PrometheusServer(url)
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
