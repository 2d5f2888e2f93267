"""``meshstack`` command line: validate, render, plan and inspect a stack without Pulumi or a cluster.

Exit status: 0 when the stack is valid (and rendered), 1 for an unknown stack,
a broken stack file or an invalid spec: one problem per line, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from meshstack.graph import to_json as graph_json
from meshstack.graph import to_markdown, to_mermaid, who_can_call_whom
from meshstack.render import K8sObject, render
from meshstack.render.addons import addon_releases
from meshstack.render.install import istio_releases
from meshstack.spec.mesh import MeshSpec
from meshstack.stacks import StackLoadError, StackNotFound, resolve_stack
from meshstack.validation import Problem


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meshstack", description=__doc__)
    parser.add_argument(
        "--project",
        type=Path,
        default=Path.cwd(),
        help="project directory holding stacks/ and Pulumi.<stack>.yaml (default: .)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a stack's spec and config")
    validate.add_argument("stack")
    render_cmd = commands.add_parser("render", help="write a stack's Kubernetes objects as YAML")
    render_cmd.add_argument("stack")
    render_cmd.add_argument("--out", type=Path, required=True, help="directory for the YAML files")
    charts = commands.add_parser(
        "charts", help="print the Helm releases (Istio and add-ons) a stack installs"
    )
    charts.add_argument("stack")
    graph = commands.add_parser(
        "graph", help="who can call whom: the effective authorization between workloads"
    )
    graph.add_argument("stack")
    graph.add_argument("--format", choices=("markdown", "mermaid", "json"), default="markdown")
    return parser


def chart_plan(spec: MeshSpec) -> list[dict[str, Any]]:
    """The releases of the install and the add-ons, as plain data in install order."""
    releases = istio_releases(spec.install) if spec.install else []
    istio_namespace = spec.install.namespace if spec.install else spec.root_namespace
    releases += addon_releases(spec.addons, istio_namespace)
    return [
        {
            "release": r.name,
            "chart": r.chart.chart,
            "version": r.chart.version,
            "repository": r.chart.repository,
            "namespace": r.namespace,
            "after": list(r.after),
            "protect": r.protect,
            "values": r.values,
        }
        for r in releases
    ]


def object_file_name(position: int, obj: K8sObject) -> str:
    meta = obj["metadata"]
    parts = [f"{position:03d}", obj["kind"].lower()]
    if "namespace" in meta:
        parts.append(meta["namespace"])
    parts.append(meta["name"])
    return "-".join(parts) + ".yaml"


def write_objects(objects: Sequence[K8sObject], out: Path) -> list[Path]:
    """One file per object, numbered in apply order; stale files from earlier runs are removed."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9][0-9]-*.yaml"):
        old.unlink()
    written = []
    for position, obj in enumerate(objects, start=1):
        path = out / object_file_name(position, obj)
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        written.append(path)
    return written


def _report(stack: str, problems: list[Problem]) -> int:
    print(f"stack {stack!r}: {len(problems)} problem(s)", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec, problems = resolve_stack(args.stack, args.project)
    except (StackNotFound, StackLoadError) as error:
        print(f"meshstack: {error}", file=sys.stderr)
        return 1
    if problems:
        return _report(args.stack, problems)
    if args.command == "validate":
        print(f"stack {args.stack!r} is valid")
        return 0
    if args.command == "graph":
        calls = who_can_call_whom(spec)
        if args.format == "json":
            print(graph_json(spec, calls))
        elif args.format == "mermaid":
            print(to_mermaid(calls))
        else:
            print(to_markdown(spec, calls), end="")
        return 0
    if args.command == "charts":
        print(yaml.safe_dump(chart_plan(spec), sort_keys=False), end="")
        return 0
    objects = render(spec)
    written = write_objects(objects, args.out)
    print(f"stack {args.stack!r}: wrote {len(written)} objects to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
