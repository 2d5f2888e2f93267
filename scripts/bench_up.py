"""The UP tier of ``make bench``: what a ``pulumi up`` of each shipped stack costs.

For each stack, in render mode on the file backend, alternating so that a slower minute
on the machine hits both alike:

* ``up``    — ``pulumi up`` as users run it: the engine saves the whole state after every
  step (what lets an interrupted up be recovered);
* ``floor`` — the same ``up`` with ``PULUMI_SKIP_CHECKPOINTS=true``: what the engine and
  the program cost without re-saving the state.

Each project is fresh (first ``up``), then ``up`` again (the no-op). It reports wall
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
    binary = shutil.which("pulumi", path=stack.env["PATH"]) or "pulumi"
    start = time.perf_counter()
    process = subprocess.Popen(
        [binary, "up", "--yes", "--skip-preview", "--non-interactive", *args],
        cwd=stack.project,
        env=stack.env,
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


def _once(name: str, skip_checkpoints: bool) -> dict[str, float]:
    from engine_stack import new_stack

    extra = {"PULUMI_SKIP_CHECKPOINTS": "true"} if skip_checkpoints else {}
    with tempfile.TemporaryDirectory(prefix="meshstack-up-") as scratch:
        stack = new_stack(Path(scratch), name, extra_env=extra)
        first, first_bytes = _timed_up(stack)
        noop, _ = _timed_up(stack)
        [state] = list((Path(scratch) / "state").rglob(f"{name}.json"))
        return {
            "first_s": first,
            "noop_s": noop,
            "written_mb": first_bytes / 1e6,
            "state_mb": state.stat().st_size / 1e6,
        }


def measure_up(stacks: list[str], runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in stacks:
        samples: dict[str, list[dict[str, float]]] = {"up": [], "floor": []}
        for _ in range(runs):
            samples["up"].append(_once(name, skip_checkpoints=False))
            samples["floor"].append(_once(name, skip_checkpoints=True))
        row = {
            kind: {key: round(statistics.median(s[key] for s in values), 2) for key in values[0]}
            for kind, values in samples.items()
        }
        row["first_up_over_floor"] = round(row["up"]["first_s"] / row["floor"]["first_s"], 2)
        results[name] = row
    return results


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stacks", default="dev,staging,prod")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(measure_up(args.stacks.split(","), args.runs), indent=2))


if __name__ == "__main__":
    main()
