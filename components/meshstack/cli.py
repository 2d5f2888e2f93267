"""``meshstack`` command line: validate, render, plan and inspect a stack without Pulumi or a cluster.

``review-comment`` assembles the preview workflow's results into one pull-request comment.

Exit status: 0 when the stack is valid (and rendered), 1 for an unknown stack,
a broken stack file or an invalid spec: one problem per line, never a traceback;
``diff`` adds 2 (changed) and 3 (risky); a usage error is 64 (BSD's EX_USAGE), so a
script reading ``diff``'s outcome never mistakes a typo for "changed".
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from meshstack import __version__, yaml_text
from meshstack.access.egress import to_markdown as egress_markdown
from meshstack.access.egress import who_can_reach_external
from meshstack.access.graph import to_json as graph_json
from meshstack.access.graph import to_markdown, to_mermaid, who_can_call_whom
from meshstack.access.ingress import as_json as ingress_json
from meshstack.access.ingress import to_markdown as ingress_markdown
from meshstack.access.ingress import who_can_enter
from meshstack.canary.prometheus import PrometheusApi, PrometheusError
from meshstack.canary.prometheus import check_url as check_prometheus_url
from meshstack.canary.status import analysed as analysed_canaries
from meshstack.canary.status import reports as canary_reports
from meshstack.canary.status import to_text as canary_text
from meshstack.canary.verdict import CanaryVerdict
from meshstack.canary.weights_file import WeightWriteError, write_weight
from meshstack.crd_layer import holder_problems, layer_config_problems
from meshstack.diff import CANARY_STEP, outcome
from meshstack.diff import diff as mesh_diff
from meshstack.diff import to_markdown as to_diff_markdown
from meshstack.diff.comment import build_comment, load_reviews
from meshstack.guardrails.model import GuardrailSettings
from meshstack.guardrails.planned import guardrail_problems
from meshstack.istio_judge import JudgeUnavailable, build_judge, judge_binary
from meshstack.multicluster import render_clusters
from meshstack.policy_pack import executable as policy_pack_executable
from meshstack.provider_plugin import PLUGIN, ProviderInstallError, install_plugin
from meshstack.render import K8sObject, render, stack_releases
from meshstack.render.slo import prometheus_rules
from meshstack.render.slo import rule_groups as slo_rule_groups
from meshstack.scaffold import ScaffoldError, init_project
from meshstack.spec.mesh import MeshSpec
from meshstack.stack_config import StackConfigError, StackSettings, read_settings, stack_config
from meshstack.stacks import StackLoadError, StackNotFound, resolve_stack
from meshstack.trace import TraceError, trace
from meshstack.validation import Problem

EXIT_USAGE = 64
RENDERED_LIST = ".meshstack-rendered"
"""In a ``render --out`` directory: the files the last render wrote, one name a line."""


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error, which is ``diff``'s "changed": use 64 instead."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class RenderTargetError(Exception):
    """``render --out`` names something meshstack cannot, or must not, write into."""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="meshstack", description=__doc__)
    parser.add_argument(
        "--project",
        type=Path,
        default=Path.cwd(),
        help="project directory holding stacks/ and Pulumi.<stack>.yaml (default: .)",
    )
    parser.add_argument("--version", action="version", version=f"meshstack {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    init_cmd = commands.add_parser(
        "init", help="start a project for your own app: Pulumi.yaml, a dev stack, CI"
    )
    init_cmd.add_argument("directory", type=Path, help="where to write it (new or empty)")
    init_cmd.add_argument(
        "--name", help="project and app name (default: the directory's name)", default=None
    )
    commands.add_parser(
        "policy-pack",
        help="print the policy pack to give `pulumi preview --policy-pack`",
    )
    validate = commands.add_parser("validate", help="check a stack's spec and config")
    validate.add_argument("stack")
    render_cmd = commands.add_parser("render", help="write a stack's Kubernetes objects as YAML")
    render_cmd.add_argument("stack")
    render_cmd.add_argument(
        "--out", type=_directory, required=True, help="directory for the YAML files"
    )
    charts = commands.add_parser(
        "charts", help="print the Helm releases (Istio and add-ons) a stack installs"
    )
    charts.add_argument("stack")
    slo_cmd = commands.add_parser(
        "slo",
        help="a stack's SLOs as a Prometheus rule file (recording rules and alerts), or as "
        "its PrometheusRule objects when the Prometheus Operator evaluates them",
    )
    slo_cmd.add_argument("stack")
    canary_cmd = commands.add_parser(
        "canary",
        help="judge analysed canaries against Prometheus (status) and write the next weight (advance)",
    )
    canary_verbs = canary_cmd.add_subparsers(dest="verb", required=True)
    for verb, text in (
        ("status", "each analysed canary's numbers and verdict; exit 3 when one should roll back"),
        ("advance", "write each verdict's weight into Pulumi.<stack>.yaml (canaryWeights)"),
    ):
        sub = canary_verbs.add_parser(verb, help=text)
        sub.add_argument("stack")
        sub.add_argument(
            "--prometheus", required=True, metavar="URL", help="e.g. http://127.0.0.1:9090"
        )
        sub.add_argument(
            "--at",
            type=_moment,
            default=None,
            metavar="TIME",
            help="judge as of this time (RFC 3339 or Unix seconds; default: now)",
        )
        if verb == "advance":
            sub.add_argument(
                "--start",
                action="store_true",
                help="also start idle canaries (weight 0) at their first step",
            )
    graph = commands.add_parser(
        "graph", help="who can call whom: the effective authorization between workloads"
    )
    graph.add_argument("stack")
    graph.add_argument("--format", choices=("markdown", "mermaid", "json"), default="markdown")
    diff_cmd = commands.add_parser(
        "diff",
        help="what a change does to the mesh; exit 0 unchanged, 2 changed, 3 risky, 1 error",
    )
    diff_cmd.add_argument("stack")
    base = diff_cmd.add_mutually_exclusive_group()
    base.add_argument(
        "--base",
        metavar="REF",
        default="HEAD",
        help="compare with the stack at this git ref (default: HEAD, the last commit)",
    )
    base.add_argument("--base-stack", metavar="OTHER", help="compare with another stack")
    diff_cmd.add_argument(
        "--canary-step",
        type=_percentage_points,
        default=CANARY_STEP,
        help=f"flag a canary moving more than this many points at once (default {CANARY_STEP})",
    )
    trace_cmd = commands.add_parser(
        "trace",
        help="follow one request through Istio's own generated configuration (needs the judge)",
    )
    trace_cmd.add_argument("stack")
    trace_cmd.add_argument("url", help="http://HOST[:PORT]/PATH (https:// at an ingress gateway)")
    trace_cmd.add_argument(
        "--from",
        dest="source",
        required=True,
        help="the caller: workload.namespace, namespace/workload, or ingress[:GATEWAY]",
    )
    trace_cmd.add_argument(
        "-H", "--header", action="append", default=[], help="a request header, NAME:VALUE"
    )
    trace_cmd.add_argument("-X", "--method", default="GET")
    commands.add_parser(
        "provider-install",
        help="make meshstack:index:MeshStack available to Pulumi YAML (a Pulumi plugin)",
    )
    commands.add_parser(
        "build-judge",
        help="build Istio's control-plane judge that `trace` asks (needs Go; ~5 min cold)",
    )
    review = commands.add_parser(
        "review-comment",
        help="one pull-request comment from the preview workflow's per-stack results",
    )
    review.add_argument("results", type=Path, help="folder with one sub-folder per stack")
    review.add_argument("--title", default="mesh changes", help="heading of the comment")
    return parser


def _directory(text: str) -> Path:
    """``--out``: a non-empty path (an empty one would silently mean the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("name a directory, e.g. --out build/manifests")
    return Path(text)


def _percentage_points(text: str) -> int:
    """``--canary-step``: whole percentage points, 0 to 100."""
    if not text.isdigit() or int(text) > 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of points from 0 to 100")
    return int(text)


def _moment(text: str) -> float:
    """``--at``: Unix seconds, or an RFC 3339 time with its zone (``2026-12-02T10:00:00Z``)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: give Unix seconds or RFC 3339 with a zone, "
            "e.g. 2026-12-02T10:00:00Z"
        )
    return moment.timestamp()


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, check=False)


def _stack_at_ref(stack: str, ref: str, project: Path) -> tuple[MeshSpec, list[Problem]]:
    """The stack as committed at ``ref``: the project's tree at that commit (its stacks/,
    the modules they import, Pulumi.<stack>.yaml), read with ``git archive`` into a scratch
    directory (the work tree is left alone). The project may sit below the repository's
    root."""
    found = _git(project, "rev-parse", "--show-toplevel", "--show-prefix")
    if found.returncode != 0:
        raise StackLoadError(
            f"cannot read stack {stack!r} at {ref!r}: {found.stderr.decode().strip()} "
            "(diff compares with a git revision; --base-stack compares two stacks instead)"
        )
    top, prefix = [*found.stdout.decode().splitlines(), ""][:2]
    archive = _git(Path(top), "archive", "--format=tar", f"{ref}:{prefix}")
    if archive.returncode != 0:
        raise StackLoadError(
            f"cannot read stack {stack!r} at {ref!r}: {archive.stderr.decode().strip()}"
        )
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse unsafe members
                tar.extractall(scratch, filter="data")
            else:
                tar.extractall(scratch)  # our own repository's archive
        return resolve_stack(stack, Path(scratch))


def _crd_layer_validation(stack: str, project: Path) -> int | None:
    """``validate`` of a CRD layer stack (``meshstack:crdsOf``): its config (settings only)
    and the spec it holds the CRDs of, with that stack's config, as ``pulumi up`` of it
    reads them; ``None`` for a mesh stack."""
    try:
        config = stack_config(stack, project)
    except StackConfigError:
        return None  # resolve_stack reports it with the rest
    settings, problems = read_settings(config)
    if not settings.crds_of:
        return None
    if problems:
        return _report(stack, problems)
    try:
        spec, problems = resolve_stack(settings.crds_of, project)
    except (StackNotFound, StackLoadError) as error:
        print(f"meshstack: {error}", file=sys.stderr)
        return 1
    # The layer's own config is checked first: the spec's problems are its stack's.
    cluster_keys = spec.multicluster.kubeconfig_keys if spec.multicluster else ()
    mixed = layer_config_problems(config, settings.crds_of, cluster_keys)
    if mixed:
        return _report(stack, mixed)
    if problems:
        return _report(settings.crds_of, problems)
    holding = holder_problems(spec, stack)
    if holding:
        return _report(stack, holding)
    print(f"stack {stack!r} (the CRD layer of {settings.crds_of!r}) is valid")
    return 0


def _settings(stack: str, project: Path) -> StackSettings:
    """The stack's settings; the caller has already resolved the stack, so its config
    reads (problems in it were reported then)."""
    return read_settings(stack_config(stack, project))[0]


def chart_plan(spec: MeshSpec) -> list[dict[str, Any]]:
    """The releases of the install and the add-ons, as plain data in install order."""
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
        for r in stack_releases(spec)
    ]


def object_file_name(position: int, obj: K8sObject) -> str:
    meta = obj["metadata"]
    parts = [f"{position:03d}", obj["kind"].lower()]
    if "namespace" in meta:
        parts.append(meta["namespace"])
    parts.append(meta["name"])
    return "-".join(parts) + ".yaml"


def write_objects(objects: Sequence[K8sObject], out: Path) -> list[Path]:
    """One file per object, numbered in apply order, into ``out``.

    The names written are listed in ``out/.meshstack-rendered``; the next render removes
    those of them it does not write again (stale objects) and never touches any other
    file. A file in the way that meshstack did not write, or an ``out`` that is a file or
    cannot be created, is a :class:`RenderTargetError` before anything is written.
    """
    if out.exists() and not out.is_dir():
        raise RenderTargetError(f"cannot write to {out}: it is a file, not a directory")
    named = [(object_file_name(i, obj), obj) for i, obj in enumerate(objects, start=1)]
    listing = out / RENDERED_LIST
    try:
        out.mkdir(parents=True, exist_ok=True)
        ours = set(listing.read_text().split()) if listing.is_file() else set()
        theirs = [n for n, _ in named if (out / n).exists() and n not in ours]
        if theirs:
            raise RenderTargetError(
                f"cannot write to {out}: it holds {theirs[0]}"
                + (f" and {len(theirs) - 1} more" if len(theirs) > 1 else "")
                + ", which meshstack did not write; render into another directory or move them"
            )
        written = []
        for name, obj in named:
            (out / name).write_text(yaml_text.dump(obj))
            written.append(out / name)
        listing.write_text("".join(f"{name}\n" for name, _ in named))
        for stale in sorted(ours - {name for name, _ in named}):
            (out / stale).unlink(missing_ok=True)
    except OSError as error:
        raise RenderTargetError(f"cannot write to {out}: {error.strerror or error}") from None
    return written


def _report(stack: str, problems: list[Problem]) -> int:
    print(f"stack {stack!r}: {len(problems)} problem(s)", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    try:
        status = _run(_parser().parse_args(argv))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        # The reader (`| head`) left early: stop writing, say so once, and fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("meshstack: output closed before the end (broken pipe)", file=sys.stderr)
        return 1
    return status


def _run(args: argparse.Namespace) -> int:
    if args.command == "build-judge":
        if shutil.which("go") is None:
            print(
                "meshstack build-judge: Go is needed to build Istio's judge (none on PATH)",
                file=sys.stderr,
            )
            return 1
        status = build_judge()
        if status == 0:
            print(f"meshstack-judge ready: {judge_binary()}")
        return status
    if args.command == "provider-install":
        try:
            plugin = install_plugin()
        except ProviderInstallError as error:
            print(f"meshstack provider-install: {error}", file=sys.stderr)
            return 1
        print(
            f"installed Pulumi plugin resource {PLUGIN} v{plugin.version} from {plugin.source}; "
            "a Pulumi YAML program may now use meshstack:index:MeshStack"
        )
        return 0
    if args.command == "init":
        try:
            written = init_project(args.directory, args.name)
        except ScaffoldError as error:
            print(f"meshstack init: {error}", file=sys.stderr)
            return 1
        print(f"wrote {len(written)} files to {args.directory}; next: meshstack validate dev")
        return 0
    if args.command == "policy-pack":
        pack = policy_pack_executable()
        if pack is None:
            print(
                "meshstack policy-pack: the meshstack-policy-pack executable is not installed "
                "beside this Python nor on PATH (reinstall meshstack)",
                file=sys.stderr,
            )
            return 1
        print(pack)
        return 0
    if args.command == "review-comment":
        if not args.results.is_dir():
            print(f"meshstack: no directory {args.results}", file=sys.stderr)
            return 1
        print(build_comment(load_reviews(args.results), title=args.title), end="")
        return 0
    if args.command == "validate":
        held = _crd_layer_validation(args.stack, args.project)
        if held is not None:
            return held
    try:
        spec, problems = resolve_stack(args.stack, args.project)
    except (StackNotFound, StackLoadError) as error:
        print(f"meshstack: {error}", file=sys.stderr)
        return 1
    if problems:
        return _report(args.stack, problems)
    if args.command == "validate":
        # Production stacks also face the policy pack's guardrails, before any preview.
        settings = _settings(args.stack, args.project)
        violations = guardrail_problems(
            spec,
            args.stack,
            GuardrailSettings(production=settings.production),
            skip_await=settings.skip_await,
        )
        if violations:
            return _report(args.stack, violations)
        print(f"stack {args.stack!r} is valid")
        return 0
    if args.command == "diff":
        return _diff(args)
    if args.command == "graph":
        calls = who_can_call_whom(spec)
        entries = who_can_enter(spec)
        if args.format == "json":
            external = who_can_reach_external(spec)
            print(graph_json(spec, [*calls, *external], ingress_json(entries)))
        elif args.format == "mermaid":
            print(to_mermaid(calls))
        else:
            print(to_markdown(spec, calls), end="")
            print(ingress_markdown(entries), end="")
            print(egress_markdown(who_can_reach_external(spec)), end="")
        return 0
    if args.command == "trace":
        try:
            print(trace(spec, args.source, args.url, args.header, args.method.upper()), end="")
        except (TraceError, JudgeUnavailable) as error:
            print(f"meshstack trace: {error}", file=sys.stderr)
            return 1
        return 0
    if args.command == "canary":
        return _canary(args, spec)
    if args.command == "charts":
        print(yaml_text.dump(chart_plan(spec)), end="")
        return 0
    if args.command == "slo":
        if not spec.policy.slos:
            print(f"stack {args.stack!r} declares no SLOs (policy.slos)", file=sys.stderr)
            return 0
        rules = prometheus_rules(spec.policy)  # what the Operator loads, when it evaluates them
        text = (
            yaml_text.dump_all(rules)
            if rules
            else yaml_text.dump(slo_rule_groups(spec.policy.slos))
        )
        print(text, end="")
        return 0
    # A mesh of several clusters: each cluster's objects in a directory of its own.
    targets = (
        {args.out / name: objects for name, objects in render_clusters(spec).items()}
        if spec.multicluster is not None
        else {args.out: render(spec)}
    )
    for out, objects in targets.items():
        try:
            written = write_objects(objects, out)
        except RenderTargetError as error:
            print(f"meshstack: {error}", file=sys.stderr)
            return 1
        print(f"stack {args.stack!r}: wrote {len(written)} objects to {out}")
    return 0


def _canary(args: argparse.Namespace, spec: MeshSpec) -> int:
    """``canary status`` / ``canary advance``; exit 1 when Prometheus cannot answer,
    3 (like ``diff``'s "risky") when a canary should roll back."""
    if not analysed_canaries(spec):
        print(
            f"stack {args.stack!r} has no canary with an analysis (policy.canaries[].analysis)",
            file=sys.stderr,
        )
        return 1
    try:
        prometheus = PrometheusApi(check_prometheus_url(args.prometheus))
        found = canary_reports(spec, prometheus, args.at)
    except PrometheusError as error:
        print(f"meshstack canary: {error}", file=sys.stderr)
        return 1
    print(canary_text(found), end="")
    if args.verb == "advance":
        names = [c.service for c in spec.policy.canaries]
        for report in found:
            decision, canary = report.decision, report.canary
            weight = decision.next_weight
            if weight is None and args.start and decision.verdict is CanaryVerdict.IDLE:
                weight = canary.analysis.steps[0] if canary.analysis else None
            if weight is None:
                print(f"{report.name}: stays at {canary.weight}% ({decision.verdict.value})")
                continue
            try:
                path = write_weight(
                    args.project,
                    args.stack,
                    canary,
                    weight,
                    bare_name=names.count(canary.service) == 1,
                )
            except WeightWriteError as error:
                print(f"meshstack canary advance: {error}", file=sys.stderr)
                return 1
            print(f"{report.name}: {canary.weight}% → {weight}% written to {path.name}")
        print("review the change (meshstack diff), commit it, and `pulumi up` applies it")
    rolled_back = any(r.decision.verdict is CanaryVerdict.ROLLBACK for r in found)
    return 3 if rolled_back else 0


def _diff(args: argparse.Namespace) -> int:
    head, problems = resolve_stack(args.stack, args.project)
    if problems:
        return _report(args.stack, problems)
    try:
        if args.base_stack:
            base, problems = resolve_stack(args.base_stack, args.project)
            title = f"{args.base_stack} → {args.stack}"
        else:
            base, problems = _stack_at_ref(args.stack, args.base, args.project)
            title = f"{args.stack}: {args.base} → working tree"
    except (StackNotFound, StackLoadError) as error:
        print(f"meshstack: {error}", file=sys.stderr)
        return 1
    if problems:
        return _report(f"{args.stack} (base)", problems)
    production = _settings(args.stack, args.project).production
    changes = mesh_diff(base, head, canary_step=args.canary_step, production=production)
    print(to_diff_markdown(title, changes), end="")
    return int(outcome(changes))


if __name__ == "__main__":
    sys.exit(main())
