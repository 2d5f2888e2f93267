"""Find and load a stack's spec: ``stacks/<name>.py`` defines ``spec() -> MeshSpec``.

The CLI and ``__main__.py`` both come through here, then apply the stack's
config overrides, so what ``meshstack validate`` checks is what ``pulumi up``
deploys.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from meshstack.chart_files import source_file_problems
from meshstack.overrides import CONFIG_NAMESPACE, apply_overrides
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import Problem, validate


class StackNotFound(LookupError):
    pass


class StackLoadError(RuntimeError):
    """A stack module that fails to build its spec (a type error in the models, say)."""


def available_stacks(stacks_dir: Path) -> list[str]:
    return sorted(p.stem for p in stacks_dir.glob("*.py") if not p.stem.startswith("_"))


def load_spec(name: str, stacks_dir: Path) -> MeshSpec:
    path = stacks_dir / f"{name}.py"
    if not name.isidentifier() or not path.is_file():
        raise StackNotFound(
            f"no stack {name!r} in {stacks_dir}; available: {', '.join(available_stacks(stacks_dir)) or 'none'}"
        )
    module_spec = importlib.util.spec_from_file_location(f"meshstack_stack_{name}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
        built = module.spec()
    except Exception as error:  # a broken stack file must not surface as a traceback
        raise StackLoadError(
            f"stack {name!r} ({path}) failed to build its spec: {error}"
        ) from error
    if not isinstance(built, MeshSpec):
        raise StackLoadError(
            f"stack {name!r}: spec() returned {type(built).__name__}, not MeshSpec"
        )
    return built


def stack_config(name: str, project_dir: Path) -> dict[str, Any]:
    """The ``meshstack:*`` values of ``Pulumi.<name>.yaml``, keys without the prefix."""
    path = project_dir / f"Pulumi.{name}.yaml"
    if not path.is_file():
        return {}
    document = yaml.safe_load(path.read_text()) or {}
    config: Mapping[str, Any] = document.get("config") or {}
    prefix = f"{CONFIG_NAMESPACE}:"
    return {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}


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
