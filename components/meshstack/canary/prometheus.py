"""A minimal client of Prometheus's HTTP query API (``/api/v1/query``), with errors a
person can act on: unreachable, not Prometheus, or a query Prometheus refused.

The standard library's ``urllib`` is enough for one GET per query and keeps the CLI free
of an HTTP dependency.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class PrometheusError(Exception):
    """Prometheus could not answer: the message says why and what to check."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


def check_url(url: str) -> str:
    """``url`` without a trailing slash, or a :class:`PrometheusError` naming the form."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PrometheusError(
            f"{url!r} is not a Prometheus address: give http://HOST:PORT "
            "(e.g. http://127.0.0.1:9090 after kubectl -n istio-system port-forward svc/prometheus 9090)"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class PrometheusApi:
    url: str
    timeout_seconds: float = 10.0

    def query(self, promql: str, at: float) -> list[Sample]:
        """The instant vector ``promql`` evaluates to at ``at`` (Unix seconds). NaN
        samples (0/0, a quantile of no requests) are dropped: they carry no number."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql, "time": f"{at:.3f}"}
        )
        try:
            with urllib.request.urlopen(address, timeout=self.timeout_seconds) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            answer = _json(body)
            if answer is None or "error" not in answer:
                raise PrometheusError(
                    f"{self.url} answered HTTP {error.code} {error.reason}, not Prometheus's "
                    "query API: is this the Prometheus server's address?"
                ) from None
            raise PrometheusError(
                f"Prometheus refused the query ({answer.get('errorType', 'error')}: "
                f"{answer['error']}): {promql}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PrometheusError(
                f"cannot reach Prometheus at {self.url}: {reason} (is it running, and is "
                "this its address?)"
            ) from None
        return _samples(self.url, body)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return answer if isinstance(answer, dict) else None


def _samples(url: str, body: bytes) -> list[Sample]:
    answer = _json(body)
    data = answer.get("data") if answer else None
    if (
        answer is None
        or answer.get("status") != "success"
        or not isinstance(data, dict)
        or data.get("resultType") != "vector"
        or not isinstance(data.get("result"), list)
    ):
        shown = body[:80].decode("utf-8", "replace")
        raise PrometheusError(
            f"{url} answered something that is not Prometheus's query API (it began "
            f"{shown!r}): is this the Prometheus server's address?"
        )
    samples = []
    for item in data["result"]:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            value = float(item["value"][1])
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise PrometheusError(
                f"{url} answered a sample that is not Prometheus's form: {str(item)[:80]}"
            ) from None
        if not math.isnan(value):
            samples.append(Sample(labels, value))
    return samples
