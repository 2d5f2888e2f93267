"""How the pull-request review commands scale: ``make bench-review`` (a benchmark, not a test).

``meshstack graph`` judges every ordered pair of workloads and ``meshstack diff``
does so for both sides, so both are quadratic in the number of services by
nature; this measures that they stay so (t(2N)/t(N) close to 4) on the same
synthetic meshes as ``make bench``, median of a few runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

from meshstack.access.graph import who_can_call_whom
from meshstack.diff import diff
from meshstack.synthetic import synthetic_mesh


def _median_seconds(action: object, runs: int) -> float:
    assert callable(action)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,250,500,1000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    print("| N | pairs | graph | diff (both sides) |")
    print("| ---: | ---: | ---: | ---: |")
    previous: tuple[int, float, float] | None = None
    growth = []
    for n in sizes:
        spec = synthetic_mesh(n)
        pairs = len(who_can_call_whom(spec))
        graph_s = _median_seconds(lambda spec=spec: who_can_call_whom(spec), args.runs)
        diff_s = _median_seconds(lambda spec=spec: diff(spec, spec), args.runs)
        print(f"| {n} | {pairs} | {graph_s:.2f} s | {diff_s:.2f} s |")
        if previous is not None and n == 2 * previous[0]:
            growth.append(
                f"N={n}: graph {graph_s / previous[1]:.1f}, diff {diff_s / previous[2]:.1f}"
            )
        previous = (n, graph_s, diff_s)
    if growth:
        print("growth t(2N)/t(N) (4 is quadratic): " + "; ".join(growth))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
