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
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from meshstack.chart_files import source_file_problems
from meshstack.overrides import apply_overrides
from meshstack.spec import build_mistakes
from meshstack.spec.mesh import MeshSpec
from meshstack.spec_sites import Sites, located
from meshstack.stack_config import StackConfigError, read_settings, shown_path, stack_config
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
    where = f"{shown_path(path)}:{line}" if line else shown_path(path)
    return f"{where}: {type(error).__name__}: {error}"


@contextmanager
def _project_imports(stacks_dir: Path) -> Iterator[None]:
    """While a stack file runs, its project's modules are importable as the file expects:
    ``from stacks._common import x``, ``from ._common import x`` (the file is loaded as
    ``stacks.<name>``), ``from _common import x`` and any package beside ``stacks/``.

    Afterwards the project's modules leave ``sys.modules`` again, so that a stack loaded
    from another revision of the project (``diff --base``) imports its own siblings, not
    this one's.
    """
    project_dir = stacks_dir.parent.resolve()
    added = [str(project_dir), str(stacks_dir.resolve())]
    before = set(sys.modules)
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)
        for module_name_ in set(sys.modules) - before:
            module = sys.modules[module_name_]
            where = getattr(module, "__file__", None) or next(
                iter(getattr(module, "__path__", None) or ()), None
            )
            if where is None:
                continue
            path = Path(where).resolve()
            # meshstack itself may sit inside the project (an editable install, this repo).
            if path.is_relative_to(project_dir) and not path.is_relative_to(build_mistakes.PACKAGE):
                del sys.modules[module_name_]


def load_spec(name: str, stacks_dir: Path) -> MeshSpec:
    """Run ``stacks/<name>.py`` and return its spec (every building mistake raised)."""
    return load_spec_and_sites(name, stacks_dir)[0]


def load_spec_and_sites(name: str, stacks_dir: Path) -> tuple[MeshSpec, Sites]:
    """The stack's spec and where each of its objects was built."""
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
            f"no stack {name!r} (looked for {shown_path(path)}); "
            f"available: {', '.join(available_stacks(stacks_dir)) or 'none'}"
        )
    module_spec = importlib.util.spec_from_file_location(f"stacks.{module_name(name)}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    failure: BaseException | None = None
    built: object = None
    with (
        _project_imports(stacks_dir),
        build_mistakes.collecting(path, shown_path(path)) as collector,
    ):
        try:
            module_spec.loader.exec_module(module)
            built = module.spec()
        except Exception as error:  # a broken stack file must not surface as a traceback
            failure = error
    mistakes = collector.mistakes
    if mistakes:
        raise StackLoadError(build_mistakes.report(name, mistakes, failure))
    if failure is not None:
        raise StackLoadError(
            f"stack {name!r} failed to build its spec: {_failure_line(failure, path)}"
        )
    if not isinstance(built, MeshSpec):
        raise StackLoadError(
            f"stack {name!r}: spec() in {shown_path(path)} returned {type(built).__name__}, not MeshSpec"
        )
    if built.stack != name:
        raise StackLoadError(
            f"{shown_path(path)} declares MeshSpec.stack = {built.stack!r}; "
            f"it is read for stack {name!r}, so MeshSpec.stack should be {name!r}"
        )
    return built, collector.sites


def configured(
    spec: MeshSpec, values: Mapping[str, Any], project_dir: Path
) -> tuple[MeshSpec, list[Problem]]:
    """``spec`` with a stack's config ``values`` applied, and every problem: in the config
    first, then the spec's, then the files it reads."""
    spec, problems = apply_overrides(spec, values)
    problems += read_settings(values)[1]
    if problems:
        return spec, problems
    return spec, validate(spec) or source_file_problems(spec, project_dir)


def resolve_stack(
    name: str, project_dir: Path, config: Mapping[str, Any] | None = None
) -> tuple[MeshSpec, list[Problem]]:
    """The stack's spec with its config applied, and every problem in either."""
    built, sites = load_spec_and_sites(name, project_dir / "stacks")
    spec = built
    if config is None:
        try:
            values: Mapping[str, Any] = stack_config(name, project_dir)
        except StackConfigError as error:
            raise StackLoadError(str(error)) from None
    else:
        values = config
    spec, problems = configured(spec, values, project_dir)
    # The overridden spec has the built one's shape: its paths lead to the same objects.
    config_file = f"Pulumi.{name}.yaml" if config is None else ""
    return spec, located(problems, built, sites, values, config_file)
