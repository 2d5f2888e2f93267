"""Find and load a stack's spec: ``stacks/<name>.py`` defines ``spec() -> MeshSpec``.

A stack named ``prod-eu`` (Pulumi allows ``-`` and ``.``) is read from ``stacks/prod_eu.py``.
Every way a stack file or its ``Pulumi.<stack>.yaml`` can be broken becomes a
:class:`StackLoadError` that names the file (and line) and what would be valid.

The CLI and ``__main__.py`` both come through here, then apply the stack's
config overrides, so what ``meshstack validate`` checks is what ``pulumi up``
deploys.
"""

from __future__ import annotations

import importlib.util
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from meshstack.chart_files import source_file_problems
from meshstack.overrides import CONFIG_NAMESPACE, apply_overrides
from meshstack.spec import build_mistakes
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import Problem, validate


class StackNotFound(LookupError):
    pass


class StackLoadError(RuntimeError):
    """A stack file or its ``Pulumi.<stack>.yaml`` that cannot be read into a spec."""


_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
STACK_NAME_RULE = "letters, digits, '-', '_' and '.' (as Pulumi allows)"


def module_name(stack: str) -> str:
    """The file stem a stack is read from: Pulumi allows ``prod-eu``, Python modules do not,
    so ``-`` and ``.`` become ``_`` (``prod-eu`` → ``stacks/prod_eu.py``)."""
    return stack.replace("-", "_").replace(".", "_")


def available_stacks(stacks_dir: Path) -> list[str]:
    return sorted(p.stem for p in stacks_dir.glob("*.py") if not p.stem.startswith("_"))


def _shown(path: Path) -> str:
    """``path`` as a person would type it: relative to the working directory when below it,
    else in full."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _failure_line(error: BaseException, path: Path) -> str:
    """``stacks/x.py:LINE: Kind: message`` for an exception a stack file raised."""
    line = next(
        (
            frame.lineno
            for frame in reversed(traceback.extract_tb(error.__traceback__))
            if Path(frame.filename).resolve() == path.resolve()
        ),
        None,
    )
    where = f"{_shown(path)}:{line}" if line else _shown(path)
    return f"{where}: {type(error).__name__}: {error}"


def load_spec(name: str, stacks_dir: Path) -> MeshSpec:
    if not _STACK_NAME.match(name):
        raise StackNotFound(
            f"{name!r} is not a stack name: use {STACK_NAME_RULE}; '-' and '.' become '_' "
            "in the file name (prod-eu is read from stacks/prod_eu.py); "
            f"stack files: {', '.join(available_stacks(stacks_dir)) or 'none'}"
        )
    path = stacks_dir / f"{module_name(name)}.py"
    if not stacks_dir.is_dir():
        raise StackNotFound(f"no stacks/ folder in {stacks_dir.parent.resolve()} (see --project)")
    if not path.is_file():
        raise StackNotFound(
            f"no stack {name!r} (looked for {_shown(path)}); "
            f"available: {', '.join(available_stacks(stacks_dir)) or 'none'}"
        )
    module_spec = importlib.util.spec_from_file_location(
        f"meshstack_stack_{module_name(name)}", path
    )
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    failure: BaseException | None = None
    built: object = None
    with build_mistakes.collecting(path, _shown(path)) as mistakes:
        try:
            module_spec.loader.exec_module(module)
            built = module.spec()
        except Exception as error:  # a broken stack file must not surface as a traceback
            failure = error
    if mistakes:
        raise StackLoadError(build_mistakes.report(name, mistakes, failure))
    if failure is not None:
        raise StackLoadError(
            f"stack {name!r} failed to build its spec: {_failure_line(failure, path)}"
        )
    if not isinstance(built, MeshSpec):
        raise StackLoadError(
            f"stack {name!r}: spec() in {_shown(path)} returned {type(built).__name__}, not MeshSpec"
        )
    if built.stack != name:
        raise StackLoadError(
            f"{_shown(path)} declares MeshSpec.stack = {built.stack!r}; "
            f"it is read for stack {name!r}, so MeshSpec.stack should be {name!r}"
        )
    return built


def stack_config(name: str, project_dir: Path) -> dict[str, Any]:
    """The ``meshstack:*`` values of ``Pulumi.<name>.yaml``, keys without the prefix."""
    path = project_dir / f"Pulumi.{name}.yaml"
    if not path.is_file():
        return {}
    shown = _shown(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        raise StackLoadError(f"{where}: not valid YAML: {error.problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise StackLoadError(f"{shown}: cannot be read: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise StackLoadError(
            f"{shown}: expected a mapping at the top, found a {_kind(document)} "
            "(a stack file looks like 'config:' followed by indented 'meshstack:key: value' lines)"
        )
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        raise StackLoadError(
            f"{shown}: 'config' must be a mapping of keys to values, found a {_kind(config)}"
        )
    prefix = f"{CONFIG_NAMESPACE}:"
    return {k[len(prefix) :]: v for k, v in config.items() if str(k).startswith(prefix)}


def _kind(value: object) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def resolve_stack(
    name: str, project_dir: Path, config: Mapping[str, Any] | None = None
) -> tuple[MeshSpec, list[Problem]]:
    """The stack's spec with its config applied, and every problem in either."""
    spec = load_spec(name, project_dir / "stacks")
    values = stack_config(name, project_dir) if config is None else config
    spec, problems = apply_overrides(spec, values)
    if problems:
        return spec, problems
    problems = validate(spec)
    if not problems:
        problems = source_file_problems(spec, project_dir)
    return spec, problems
