"""The UP tier of ``make bench``: what a ``pulumi up`` of each shipped stack costs.

For each stack, in render mode on the file backend, alternating so that a slower minute
on the machine hits both alike:

* ``up``    — ``pulumi up`` as users run it: the engine saves the whole state after every
  step (what lets an interrupted up be recovered);
* ``floor`` — the same ``up`` with ``PULUMI_SKIP_CHECKPOINTS=true``: what the engine and
  the program cost without re-saving the state.

A stack whose CRDs live in a CRD layer stack (dev: ``dev-crds``) has that stack's own
first ``up`` timed apart (``crd_layer_*``): it runs once per Istio release, not per change.
:func:`measure_synthetic_up` does the same for meshstack's program over synthetic meshes.

Each project is fresh (first ``up``), then ``up`` again (the no-op), on the file backend or
on S3 (``--backend s3``: moto's server on 127.0.0.1), with the state written as JSON or
compressed (``--state-compression zstd``: the DIY backends' ``PULUMI_DIY_BACKEND_ZSTD``). It reports wall
seconds of the whole command, the state's size, the bytes the CLI process wrote
(``wchar`` of ``/proc/<pid>/io``, polled while it runs: the checkpoints, plus what it
sends its plugins) and the ratio up / floor.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "scripts")]


def _timed_up(stack: Any, *args: str) -> tuple[float, int]:
    """Wall seconds and bytes written of one ``pulumi up`` of ``stack``."""
    return _timed_up_in(stack.project, stack.env, "--stack", stack.name, *args)


def _timed_up_in(project: Path, env: dict[str, str], *args: str) -> tuple[float, int]:
    """Wall seconds and bytes written of one ``pulumi up`` in ``project``."""
    binary = shutil.which("pulumi", path=env["PATH"]) or "pulumi"
    start = time.perf_counter()
    process = subprocess.Popen(
        [binary, "up", "--yes", "--skip-preview", "--non-interactive", *args],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    written = 0
    io = Path(f"/proc/{process.pid}/io")
    while process.poll() is None:
        try:
            for line in io.read_text().splitlines():
                if line.startswith("wchar:"):
                    written = int(line.split()[1])
        except OSError:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"pulumi up failed:\n{process.stderr.read() if process.stderr else ''}")
    return seconds, written


def _once(
    name: str, skip_checkpoints: bool, backend_env: dict[str, str], s3: Any | None
) -> dict[str, float]:
    """One fresh project: the CRD layer stack's first ``up`` when the stack has one (timed
    on its own: it runs once per release, not per change), then the stack's first and
    no-op ``up``."""
    from engine_stack import new_crd_layer, new_stack

    extra = {"PULUMI_SKIP_CHECKPOINTS": "true"} if skip_checkpoints else {}
    extra.update(backend_env)
    with tempfile.TemporaryDirectory(prefix="meshstack-up-") as scratch:
        if s3 is not None:
            from s3_server import CREDENTIALS

            # A stack of its own per run: one bucket, a fresh project name each time.
            extra.update(CREDENTIALS)
            stack = new_stack(
                Path(scratch),
                name,
                backend_url=s3.backend_url,
                extra_env=extra,
                with_crd_layer=False,
            )
        else:
            stack = new_stack(Path(scratch), name, extra_env=extra, with_crd_layer=False)
        _configure_clusters(stack, Path(scratch))
        found: dict[str, float] = {}
        layer = new_crd_layer(stack)
        if layer is not None:
            layer_s, layer_bytes = _timed_up(layer)
            found["crd_layer_s"] = layer_s
            found["crd_layer_written_mb"] = layer_bytes / 1e6
            found["crd_layer_state_mb"] = _state_size(Path(scratch), layer.name, s3) / 1e6
        first, first_bytes = _timed_up(stack)
        noop, _ = _timed_up(stack)
        size = _state_size(Path(scratch), name, s3)
        if s3 is not None:
            stack.pulumi("stack", "rm", "--yes", "--force")
            if layer is not None:
                layer.pulumi("stack", "rm", "--yes", "--force")
        found.update(first_s=first, noop_s=noop, written_mb=first_bytes / 1e6, state_mb=size / 1e6)
        return found


def _configure_clusters(stack: Any, scratch: Path) -> None:
    """A multi-cluster stack's CA files in its config (rendering reaches no cluster, so
    no kubeconfig): what its program refuses to run without."""
    from cluster_config import plugin_ca, set_cluster_config
    from meshstack.stacks import resolve_stack

    spec, _ = resolve_stack(stack.name, stack.project)
    if spec.multicluster is None:
        return
    names = tuple(c.name for c in spec.multicluster.clusters)
    set_cluster_config(stack, spec, plugin_ca(scratch / "ca", names))


def _state_size(scratch: Path, name: str, s3: Any | None) -> int:
    """The stack's state file (``<name>.json``, or ``.json.gz`` / ``.json.zst`` when the
    backend compresses it), not its backups."""

    def is_state(key: str) -> bool:
        base = key.rsplit("/", 1)[-1]
        return base.startswith(f"{name}.json") and not base.endswith((".bak", ".attrs"))

    if s3 is not None:
        [key] = [k for k in s3.keys(".pulumi/stacks/") if is_state(k)]
        return int(s3.size(key))
    [state] = [f for f in (scratch / "state").rglob(f"{name}.json*") if is_state(f.name)]
    return state.stat().st_size


COMPRESSIONS = ("none", "gzip", "zstd")
"""How the DIY backends can write the state: as JSON, or compressed."""


def compression_env(compression: str) -> dict[str, str]:
    """The CLI's setting for ``compression`` (``PULUMI_DIY_BACKEND_GZIP`` / ``_ZSTD``)."""
    return {} if compression == "none" else {f"PULUMI_DIY_BACKEND_{compression.upper()}": "true"}


def measure_up(
    stacks: list[str], runs: int, compression: str = "none", backend: str = "file"
) -> dict[str, Any]:
    """``backend``: ``file`` or ``s3`` (moto's server on 127.0.0.1, started here);
    ``compression``: how the state is written, in both variants (one of COMPRESSIONS)."""
    backend_env = compression_env(compression)
    if backend == "s3":
        from s3_server import s3_server

        with s3_server() as s3:
            return _measure(stacks, runs, backend_env, s3)
    return _measure(stacks, runs, backend_env, None)


def _measure(
    stacks: list[str], runs: int, backend_env: dict[str, str], s3: Any | None
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in stacks:
        samples: dict[str, list[dict[str, float]]] = {"up": [], "floor": []}
        for _ in range(runs):
            samples["up"].append(_once(name, False, backend_env, s3))
            samples["floor"].append(_once(name, True, backend_env, s3))
        results[name] = _summary(samples)
    return results


def measure_synthetic_up(sizes: list[int], runs: int) -> dict[str, Any]:
    """``up`` of meshstack's program over synthetic meshes of N services (the L3 project,
    ``bench_engine.write_projects``), on the file backend, with checkpoints and without."""
    from bench_engine import STACK, bench_env, write_projects
    from engine import run

    results: dict[str, Any] = {}
    for services in sizes:
        samples: dict[str, list[dict[str, float]]] = {"up": [], "floor": []}
        for _ in range(runs):
            for kind in samples:
                with tempfile.TemporaryDirectory(prefix="meshstack-up-synthetic-") as scratch:
                    workdir = Path(scratch)
                    project = write_projects(workdir, services)["meshstack"]
                    env = bench_env(workdir)
                    if kind == "floor":
                        env["PULUMI_SKIP_CHECKPOINTS"] = "true"
                    run(["pulumi", "stack", "init", STACK, "--non-interactive"], project, env)
                    first, written = _timed_up_in(project, env, "--stack", STACK)
                    noop, _ = _timed_up_in(project, env, "--stack", STACK)
                    [state] = [
                        f
                        for f in (workdir / "state").rglob(f"{STACK}.json*")
                        if not f.name.endswith((".bak", ".attrs"))
                    ]
                    samples[kind].append(
                        {
                            "first_s": first,
                            "noop_s": noop,
                            "written_mb": written / 1e6,
                            "state_mb": state.stat().st_size / 1e6,
                        }
                    )
        results[str(services)] = _summary(samples)
    return results


def _summary(samples: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """The median of every figure of each kind (up, floor), and first up / floor."""
    row: dict[str, Any] = {
        kind: {key: round(statistics.median(s[key] for s in values), 2) for key in values[0]}
        for kind, values in samples.items()
    }
    row["first_up_over_floor"] = round(row["up"]["first_s"] / row["floor"]["first_s"], 2)
    return row


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stacks", default="dev,staging,prod")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--backend", choices=("file", "s3"), default="file")
    parser.add_argument(
        "--state-compression",
        choices=COMPRESSIONS,
        default="none",
        help="how the file backend writes the state (PULUMI_DIY_BACKEND_GZIP / _ZSTD)",
    )
    args = parser.parse_args()
    found = measure_up(args.stacks.split(","), args.runs, args.state_compression, args.backend)
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
