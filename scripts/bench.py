"""meshstack's cost as the mesh grows: ``make bench`` (never a timed test).

Tiers, for synthetic meshes of N services (``meshstack.synthetic``):

* L0  the floor: dump the very objects meshstack renders with PyYAML's C dumper;
* L1  build the typed spec and validate it;
* L1b render the spec to Kubernetes objects;
* L2f the Pulumi SDK's floor for the same objects: each registered as one plain
      ``pulumi.CustomResource`` under the same mock engine, nothing else (what L2 cannot
      go below without changing the SDK);
* L2  evaluate the Pulumi program (``MeshStack``) under the mock engine until every
      resource is registered;
* UP  ``pulumi up`` of each shipped stack, with the engine's per-step checkpoints and
      without (the floor): wall time, state size, bytes written (``bench_up.py``);
* L3  ``pulumi preview`` in render mode with the real engine (``bench_engine.py``):
      meshstack's program against a ConfigGroup of the same objects from plain YAML,
      the engine's floor (the objects registered flat) and the same through
      pulumi-kubernetes' generated classes, alternating; needs meshstack's toolchain
      (``scripts/toolchain.sh``; reported as skipped otherwise).

Every measurement runs in a fresh worker process (Pulumi's mock engine is global
state, and peak memory must be per tier); the table reports the median of the runs,
the worker's peak RSS, L2/L0, L2f/L0, L2/L2f (what meshstack adds to the SDK's floor),
and the growth factor t(2N)/t(N) for each tier.
Results go to ``results/bench-<time>.json`` (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("L0", "L1", "L1b", "L2f", "L2")
DEFAULT_SIZES = (10, 100, 250, 500, 1000)


def _rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _l0(services: int) -> tuple[float, int]:
    import yaml
    from meshstack.render import render
    from meshstack.synthetic import synthetic_mesh

    objects = render(synthetic_mesh(services))
    start = time.perf_counter()
    yaml.dump_all(objects, Dumper=yaml.CSafeDumper)
    return time.perf_counter() - start, len(objects)


def _l1(services: int) -> tuple[float, int]:
    from meshstack.synthetic import synthetic_mesh
    from meshstack.validation import validate

    start = time.perf_counter()
    problems = validate(synthetic_mesh(services))
    elapsed = time.perf_counter() - start
    assert problems == [], problems[:3]
    return elapsed, 0


def _l1b(services: int) -> tuple[float, int]:
    from meshstack.render import render
    from meshstack.synthetic import synthetic_mesh

    spec = synthetic_mesh(services)
    start = time.perf_counter()
    objects = render(spec)
    return time.perf_counter() - start, len(objects)


class _EchoEngine:
    """The mock engine every L2 tier runs against: it echoes inputs back as outputs
    (what the Pulumi testing guide's mocks do) and counts registrations."""

    def __init__(self) -> None:
        import pulumi
        from meshstack.runtime import tune_garbage_collector

        tune_garbage_collector()  # as __main__.py does: L2 is the program, settings included
        engine = self

        class EchoMocks(pulumi.runtime.Mocks):
            def new_resource(
                self, args: pulumi.runtime.MockResourceArgs
            ) -> tuple[str, dict[str, Any]]:
                engine.registered += 1
                return f"{args.name}-id", dict(args.inputs)

            def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
                return {}, []

        self.registered = 0
        pulumi.runtime.set_mocks(EchoMocks(), preview=False)

    def timed(self, program: Callable[[], None]) -> float:
        """Seconds until ``program`` ran and every registration it started completed (the
        mock engine's test runner waits for all outstanding registrations)."""
        import pulumi

        start = time.perf_counter()
        pulumi.runtime.test(program)()
        return time.perf_counter() - start


def _l2(services: int) -> tuple[float, int]:
    from meshstack.components import MeshStack, MeshStackArgs
    from meshstack.render import render
    from meshstack.synthetic import synthetic_mesh

    engine = _EchoEngine()
    spec = synthetic_mesh(services)

    def program() -> None:
        # Returns nothing: gathering all URNs into one Output.all would add the SDK's
        # quadratic union of dependency sets, which the real program never pays.
        MeshStack("mesh", MeshStackArgs(spec=spec))

    elapsed = engine.timed(program)
    components = 4  # MeshStack and its namespaces, workloads and policy components
    assert engine.registered == len(render(spec)) + components, engine.registered
    return elapsed, engine.registered


def _l2_floor(services: int) -> tuple[float, int]:
    """The SDK's own cost for the same objects: each registered as one plain
    ``pulumi.CustomResource`` (its type token, a unique name, its whole body as inputs),
    with no components, parents, dependencies, options or provider classes."""
    import pulumi
    from meshstack.k8s import type_token
    from meshstack.render import render
    from meshstack.synthetic import synthetic_mesh

    engine = _EchoEngine()
    objects = render(synthetic_mesh(services))

    def register_flat() -> None:
        for obj in objects:
            meta = obj["metadata"]
            name = f"{obj['kind']}-{meta.get('namespace', '')}-{meta['name']}"
            pulumi.CustomResource(type_token(obj), name, dict(obj))

    elapsed = engine.timed(register_flat)
    assert engine.registered == len(objects), engine.registered
    return elapsed, engine.registered


IN_PROCESS_REPEATS = 5
"""L0, L1 and L1b take milliseconds: a worker repeats them and keeps the median, so one
garbage-collector pause does not decide the figure. L2 (global Pulumi state) runs once."""


def worker(tier: str, services: int) -> None:
    """Run one measurement and print it as JSON (the parent process collects it)."""
    baseline = _rss_mib("VmRSS")
    measure_once = {"L0": _l0, "L1": _l1, "L1b": _l1b, "L2f": _l2_floor, "L2": _l2}[tier]
    repeats = 1 if tier.startswith("L2") else IN_PROCESS_REPEATS
    samples = [measure_once(services) for _ in range(repeats)]
    seconds = statistics.median(s for s, _ in samples)
    objects = samples[0][1]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "objects": objects,
                "peak_mib": round(_rss_mib("VmHWM"), 1),
                "baseline_mib": round(baseline, 1),
            }
        )
    )


def measure(tier: str, services: int, runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", tier, str(services)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
        samples.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "median_s": statistics.median(s["seconds"] for s in samples),
        "runs_s": [round(s["seconds"], 5) for s in samples],
        "objects": samples[0]["objects"],
        "peak_mib": max(s["peak_mib"] for s in samples),
        "baseline_mib": samples[0]["baseline_mib"],
    }


def growth(results: dict[int, dict[str, Any]], tier: str) -> dict[str, float]:
    """t(2N)/t(N) for each measured pair N, 2N (250→500, 500→1000)."""
    factors = {}
    for n, row in results.items():
        if 2 * n in results:
            factors[f"{n}->{2 * n}"] = round(
                results[2 * n][tier]["median_s"] / row[tier]["median_s"], 2
            )
    return factors


def _ratios(row: dict[str, Any]) -> dict[str, float]:
    def over(a: str, b: str) -> float:
        return round(row[a]["median_s"] / row[b]["median_s"], 2)

    return {"L2/L0": over("L2", "L0"), "L2f/L0": over("L2f", "L0"), "L2/L2f": over("L2", "L2f")}


def run_l3(sizes: list[int], runs: int) -> dict[str, Any]:
    """L3 for every size when meshstack's toolchain is built; otherwise why not."""
    from bench_engine import PROJECTS, engine_missing, measure_l3

    why_not = engine_missing()
    if why_not is not None:
        print(f"L3: skipped: {why_not}")
        return {"skipped": why_not}
    print("L3: pulumi preview (real engine, render mode), seconds, median of the runs")
    print(f"{'N':>5} " + " ".join(f"{p:>11}" for p in PROJECTS) + "  ms/cg  ms/floor  typed")
    results: dict[str, Any] = {}
    for n in sizes:
        row = measure_l3(n, runs)
        results[str(n)] = row
        medians = row["preview_s"]
        print(
            f"{n:>5} "
            + " ".join(f"{medians[p]:11.2f}" if p in medians else f"{'-':>11}" for p in PROJECTS)
            + f"  {row['meshstack_over_configgroup']:5.2f}  {row['meshstack_over_floor']:8.2f}"
            + f"  {row['typed_classes_share_of_meshstack']:5.1%}"
        )
    return results


UP_VARIANTS = (
    ("file", "none"),
    ("file", "zstd"),
    ("s3", "none"),
    ("s3", "zstd"),
)
"""Backend and state compression of each UP row: every stack on the file backend as it is
written by default, and the first stack (dev) on all four."""


def run_up(
    stacks: list[str],
    runs: int,
    variants: tuple[tuple[str, str], ...] = UP_VARIANTS,
    sizes: tuple[int, ...] = (),
) -> dict[str, Any]:
    """UP for the shipped stacks (and synthetic meshes of ``sizes`` services) when
    meshstack's toolchain is built; otherwise why not."""
    from bench_engine import engine_missing
    from bench_up import measure_synthetic_up, measure_up

    why_not = engine_missing()
    if why_not is not None:
        print(f"UP: skipped: {why_not}")
        return {"skipped": why_not}
    print("UP: pulumi up (real engine, render mode), median of the runs")
    print(
        f"{'stack':>8} {'backend':>7} {'state':>5} {'up s':>6} {'floor s':>7} {'up/floor':>8} "
        f"{'no-op s':>7} {'state MB':>8} {'MB written':>10}"
    )
    results: dict[str, Any] = {}
    for backend, compression in variants if stacks else ():
        chosen = stacks if (backend, compression) == UP_VARIANTS[0] else stacks[:1]
        found = measure_up(chosen, runs, compression, backend)
        results[f"{backend}-{compression}"] = found
        for name, row in found.items():
            _print_up_row(name, backend, compression, row)
            if "crd_layer_s" in row["up"]:
                up = row["up"]
                print(
                    f"{'':>8} its CRD layer stack's first up: {up['crd_layer_s']:.1f} s, "
                    f"state {up['crd_layer_state_mb']:.2f} MB, "
                    f"{up['crd_layer_written_mb']:.0f} MB written"
                )
    if sizes:
        synthetic = measure_synthetic_up(list(sizes), runs)
        results["synthetic"] = synthetic
        for n, row in synthetic.items():
            _print_up_row(f"N={n}", "file", "none", row)
    return results


def _print_up_row(name: str, backend: str, compression: str, row: dict[str, Any]) -> None:
    up, floor = row["up"], row["floor"]
    print(
        f"{name:>8} {backend:>7} {compression:>5} {up['first_s']:6.1f} "
        f"{floor['first_s']:7.1f} {row['first_up_over_floor']:8.2f} {up['noop_s']:7.1f} "
        f"{up['state_mb']:8.2f} {up['written_mb']:10.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--runs", type=int, default=5, help="runs per tier and size (median)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--l3-sizes", default="100,500,1000", help="sizes for L3 (real engine); '' = --sizes"
    )
    parser.add_argument(
        "--up-stacks",
        default="dev,staging,prod,multi,multi_remote",
        help="stacks for UP (real engine); '' = none",
    )
    parser.add_argument("--up-runs", type=int, default=2, help="runs per stack for UP")
    parser.add_argument(
        "--up-sizes", default="100,500", help="synthetic mesh sizes for UP; '' = none"
    )
    parser.add_argument(
        "--up-variants",
        default=",".join(f"{b}-{c}" for b, c in UP_VARIANTS),
        help="UP's backend-compression rows (file-none is every stack, the rest the first)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("TIER", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, Any]] = {}
    header = f"{'N':>5} {'objects':>7} " + " ".join(f"{t + ' s':>9}" for t in TIERS)
    print(header + f" {'L2 MiB':>7} {'L2/L0':>6} {'L2f/L0':>6} {'L2/L2f':>6}")
    for n in sizes:
        row = {tier: measure(tier, n, args.runs) for tier in TIERS}
        results[n] = row
        ratios = " ".join(f"{r:6.1f}" for r in _ratios(row).values())
        times = " ".join(f"{row[t]['median_s']:9.4f}" for t in TIERS)
        print(f"{n:>5} {row['L1b']['objects']:>7} {times} {row['L2']['peak_mib']:7.1f} {ratios}")
    growth_by_tier = {tier: growth(results, tier) for tier in TIERS}
    print("growth t(2N)/t(N):", json.dumps(growth_by_tier))
    l3 = run_l3([int(s) for s in args.l3_sizes.split(",")] if args.l3_sizes else sizes, args.runs)
    variants = tuple(
        (backend, compression)
        for variant in args.up_variants.split(",")
        for backend, _, compression in [variant.partition("-")]
    )
    up_sizes = tuple(int(n) for n in args.up_sizes.split(",") if n)
    up = (
        run_up([s for s in args.up_stacks.split(",") if s], args.up_runs, variants, up_sizes)
        if args.up_stacks or up_sizes
        else {}
    )
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "runs": args.runs,
        "results": {str(n): row for n, row in results.items()},
        "growth": growth_by_tier,
        "ratios": {str(n): _ratios(row) for n, row in results.items()},
        "L3": l3,
        "UP": up,
    }
    out = args.out or ROOT / "results" / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
