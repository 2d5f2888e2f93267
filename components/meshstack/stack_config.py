"""A stack's config, read as Pulumi reads it, and the program's own settings in it.

Pulumi hands a program every config value as text: ``true`` arrives as ``"true"``, ``10``
as ``"10"``, an object as JSON. It reads ``Pulumi.<stack>.yaml`` as YAML 1.2 (``yes`` is
the string ``yes``, not a boolean), refuses a key written twice, and files a key without a
``namespace:`` prefix under the project's name. ``meshstack validate`` reads the file here by
those same rules, so what it accepts is what ``pulumi up`` deploys.

The settings (``production``, ``renderDir``, ``skipAwait``, ``grafanaAdminPassword``,
``crdsOf``) are not
overrides of the spec (``overrides.py``): they say how a stack is deployed. ``production`` is
the one place that says whether a stack is production; the program (namespace protection),
the policy pack (from the stack config the engine gives it), ``meshstack validate`` and
``meshstack diff`` all read it through :func:`read_settings`, so they cannot disagree.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshstack.validation.problems import Problem

CONFIG_NAMESPACE = "meshstack"
PRODUCTION = "production"
RENDER_DIR = "renderDir"
SKIP_AWAIT = "skipAwait"
GRAFANA_PASSWORD = "grafanaAdminPassword"
CRDS_OF = "crdsOf"
SETTING_KEYS = (PRODUCTION, RENDER_DIR, SKIP_AWAIT, GRAFANA_PASSWORD, CRDS_OF)
"""Config keys the program reads itself, not overrides of the spec."""


class StackConfigError(RuntimeError):
    """A ``Pulumi.<stack>.yaml`` that Pulumi itself would refuse, or that puts meshstack's
    keys where meshstack never reads them."""


def config_value(raw: str | None) -> object:
    """A config value as Pulumi hands it to a program (text) read back as written: a
    structured value (``--path`` or YAML objects arrive as JSON) or a plain string."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def pulumi_text(value: object) -> str:
    """``value`` as written in a stack file, in the text form Pulumi passes to programs."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


class _PulumiYamlLoader(yaml.SafeLoader):
    """YAML as Pulumi's Go reader takes it: YAML 1.2 booleans only (``true``/``false``), and
    a mapping key written twice is an error rather than the last one winning."""


_PulumiYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PulumiYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _unique_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is written twice (first at line {seen[key]}); "
                "Pulumi refuses the file: keep one",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return dict(loader.construct_pairs(node))


_PulumiYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys)


def shown_path(path: Path) -> str:
    """``path`` as a person would type it: relative to the working directory when below
    it, else in full."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _kind(value: object) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _read_yaml(path: Path) -> object:
    shown = shown_path(path)
    try:
        return yaml.load(path.read_text(), Loader=_PulumiYamlLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        raise StackConfigError(f"{where}: not valid YAML: {error.problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise StackConfigError(f"{shown}: cannot be read: {error}") from None


def project_name(project_dir: Path) -> str | None:
    """The ``name:`` of the project's ``Pulumi.yaml`` (the namespace of unprefixed keys)."""
    path = project_dir / "Pulumi.yaml"
    if not path.is_file():
        return None
    document = _read_yaml(path)
    name = document.get("name") if isinstance(document, Mapping) else None
    return name if isinstance(name, str) else None


def _looks_like_ours(namespace: str) -> bool:
    """``Meshstack``, ``mesh-stack``, ``meshstak``: a namespace that is not ours but was
    meant to be (the caller has already taken ``meshstack`` itself)."""
    squashed = namespace.lower().replace("-", "").replace("_", "")
    return (
        squashed == CONFIG_NAMESPACE
        or difflib.SequenceMatcher(None, squashed, CONFIG_NAMESPACE).ratio() >= 0.8
    )


def stack_config(name: str, project_dir: Path) -> dict[str, object]:
    """The ``meshstack:*`` values of ``Pulumi.<name>.yaml`` (keys without the prefix), each as
    the program receives it: Pulumi's text, read back by :func:`config_value`."""
    path = project_dir / f"Pulumi.{name}.yaml"
    if not path.is_file():
        return {}
    shown = shown_path(path)
    document = _read_yaml(path)
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise StackConfigError(
            f"{shown}: expected a mapping at the top, found a {_kind(document)} "
            "(a stack file looks like 'config:' followed by indented 'meshstack:key: value' lines)"
        )
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        raise StackConfigError(
            f"{shown}: 'config' must be a mapping of keys to values, found a {_kind(config)}"
        )
    from meshstack.overrides import KNOWN_KEYS

    project = project_name(project_dir)
    mistakes: list[str] = []
    ours: dict[str, object] = {}
    for raw_key, value in config.items():
        key = str(raw_key)
        namespace, colon, bare = key.partition(":")
        if not colon:
            namespace, bare = project or "", key
        if namespace == CONFIG_NAMESPACE:
            ours[bare] = config_value(pulumi_text(value))
        elif not colon and bare in KNOWN_KEYS:
            mistakes.append(
                f"{shown}: config key {key!r} has no namespace, so Pulumi files it under the "
                f"project's ({project!r}) and meshstack never reads it; write "
                f"'{CONFIG_NAMESPACE}:{bare}'"
            )
        elif colon and _looks_like_ours(namespace):
            mistakes.append(
                f"{shown}: config key {key!r} is in namespace {namespace!r}, which meshstack "
                f"does not read; did you mean '{CONFIG_NAMESPACE}:{bare}'?"
            )
    if mistakes:
        raise StackConfigError("\n".join(mistakes))
    return ours


@dataclass(frozen=True)
class StackSettings:
    """How one stack is deployed: production or not, rendered or applied, awaited or not."""

    production: bool = False
    render_dir: str = ""
    skip_await: bool = False
    crds_of: str = ""
    """This stack holds the CRD layer of that stack's spec (``IstioInstall.crd_stack``)
    instead of a mesh."""


def _flag(config: Mapping[str, object], key: str, problems: list[Problem]) -> bool:
    value = config.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    problems.append(
        Problem(
            f"{CONFIG_NAMESPACE}:{key}",
            f"{value!r} is not a boolean: Pulumi passes config as text, and only "
            "'true' or 'false' read as one",
        )
    )
    return False


def read_settings(config: Mapping[str, object]) -> tuple[StackSettings, list[Problem]]:
    """The settings in ``config`` (keys without the ``meshstack:`` prefix, values as
    :func:`config_value` reads Pulumi's text), and every problem in them."""
    problems: list[Problem] = []
    production = _flag(config, PRODUCTION, problems)
    skip_await = _flag(config, SKIP_AWAIT, problems)
    render_dir = config.get(RENDER_DIR)
    if render_dir is None:
        render_dir = ""
    elif not isinstance(render_dir, str):
        problems.append(
            Problem(
                f"{CONFIG_NAMESPACE}:{RENDER_DIR}",
                f"{render_dir!r} is not a directory: give the path manifests are written "
                "to (e.g. build/manifests/dev), or leave the key out to apply to a cluster",
            )
        )
        render_dir = ""
    password = config.get(GRAFANA_PASSWORD)
    if password is not None and not isinstance(password, str | dict):
        problems.append(
            Problem(
                f"{CONFIG_NAMESPACE}:{GRAFANA_PASSWORD}",
                "should be a text secret: pulumi config set --secret "
                f"{CONFIG_NAMESPACE}:{GRAFANA_PASSWORD} <password>",
            )
        )
    crds_of = config.get(CRDS_OF)
    if crds_of is None:
        crds_of = ""
    elif not isinstance(crds_of, str) or not crds_of.strip():
        problems.append(
            Problem(
                f"{CONFIG_NAMESPACE}:{CRDS_OF}",
                f"{crds_of!r} is not a stack name: give the stack whose CRD layer this stack "
                "holds (e.g. dev, whose spec says IstioInstall(crd_stack=<this stack>))",
            )
        )
        crds_of = ""
    settings = StackSettings(
        production=production, render_dir=render_dir, skip_await=skip_await, crds_of=crds_of
    )
    return settings, problems


def production_from_stack_config(config: Mapping[str, str]) -> bool:
    """Whether a stack is production, from its whole config as the engine passes it to a
    policy pack (``namespace:key`` → Pulumi's text)."""
    raw = config.get(f"{CONFIG_NAMESPACE}:{PRODUCTION}")
    settings, _ = read_settings({PRODUCTION: config_value(raw)})
    return settings.production
