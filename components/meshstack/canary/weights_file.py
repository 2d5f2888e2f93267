"""Writing a canary's next weight into ``Pulumi.<stack>.yaml`` as ``meshstack:canaryWeights``,
where reviewers see it as a one-line change and ``pulumi up`` applies it like any other.

The file is edited as text, line by line, so its comments, order and other keys stay as
they were: the weight's line is rewritten where it exists, or added to the
``meshstack:canaryWeights`` block, or the block is added under ``config:``. The result is
then read back as the program reads it; if the weight does not come out as written the
file is restored and the edit refused (a flow-style mapping, say, which this editor does
not rewrite).
"""

from __future__ import annotations

import re
from pathlib import Path

from meshstack.spec.traffic import Canary
from meshstack.stack_config import CONFIG_NAMESPACE, StackConfigError, stack_config

KEY = f"{CONFIG_NAMESPACE}:canaryWeights"


class WeightWriteError(Exception):
    """The stack file could not be edited safely; it is left as it was."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _child_indents(block: list[str]) -> list[int]:
    return [_indent(line) for line in block if _is_content(line)]


def _block_end(lines: list[str], header: int) -> int:
    """The index after the last line indented below ``lines[header]``."""
    end = header + 1
    while end < len(lines) and (
        not _is_content(lines[end]) or _indent(lines[end]) > _indent(lines[header])
    ):
        end += 1
    while end > header + 1 and not _is_content(lines[end - 1]):
        end -= 1
    return end


def _header(lines: list[str], key: str, indent: int | None = None) -> int | None:
    pattern = re.compile(rf"^( *){re.escape(key)}:\s*(#.*)?$")
    for i, line in enumerate(lines):
        found = pattern.match(line)
        if found and (indent is None or len(found.group(1)) == indent):
            return i
    return None


def _edited(text: str, names: tuple[str, ...], weight: int) -> str:
    lines = text.splitlines()
    config = _header(lines, "config", indent=0)
    if config is None:
        lines += ["config:", f"  {KEY}:", f"    {names[0]}: {weight}"]
        return "\n".join(lines) + "\n"
    block = _header(lines, KEY)
    if block is None:
        children = _child_indents(lines[config + 1 : _block_end(lines, config)])
        pad = " " * (children[0] if children else 2)
        lines[config + 1 : config + 1] = [f"{pad}{KEY}:", f"{pad}  {names[0]}: {weight}"]
        return "\n".join(lines) + "\n"
    end = _block_end(lines, block)
    entry = re.compile(
        rf"^( +)(['\"]?)({'|'.join(re.escape(n) for n in names)})\2:\s*\S+?(\s+#.*)?$"
    )
    for i in range(block + 1, end):
        found = entry.match(lines[i])
        if found:
            pad, quote, name, comment = found.groups()
            lines[i] = f"{pad}{quote}{name}{quote}: {weight}{comment or ''}"
            return "\n".join(lines) + "\n"
    children = _child_indents(lines[block + 1 : end])
    pad = " " * (children[0] if children else _indent(lines[block]) + 2)
    lines.insert(end, f"{pad}{names[0]}: {weight}")
    return "\n".join(lines) + "\n"


def write_weight(
    project: Path, stack: str, canary: Canary, weight: int, *, bare_name: bool
) -> Path:
    """Set ``canary``'s weight in the stack's file and return the file.

    ``bare_name``: address the canary by its service alone (only one canary has that
    name); otherwise as ``namespace/service``.
    """
    path = project / f"Pulumi.{stack}.yaml"
    original = path.read_text() if path.is_file() else ""
    qualified = f"{canary.namespace}/{canary.service}"
    names = (canary.service, qualified) if bare_name else (qualified, canary.service)
    path.write_text(_edited(original, names, weight))
    try:
        weights = stack_config(stack, project).get("canaryWeights")
    except StackConfigError as error:
        weights, reason = None, str(error)
    else:
        reason = f"{KEY} reads back as {weights!r}"
    found = weights.get(names[0], weights.get(names[1])) if isinstance(weights, dict) else None
    if found != weight:
        if original:
            path.write_text(original)
        else:
            path.unlink()
        raise WeightWriteError(
            f"cannot set {KEY}.{names[0]} = {weight} in {path.name} safely ({reason}); "
            f"left it unchanged: run `pulumi config set --path '{KEY}.{names[0]}' {weight} "
            f"--stack {stack}` instead"
        )
    return path
