"""YAML as meshstack writes it: block style, keys in the order given, no anchors or aliases.

PyYAML writes an object that appears twice (the same labels dict on a Deployment and its
pod template, say) once with an ``&id001`` anchor and then as ``*id001``. That is valid
YAML, but people reading a manifest and tools that treat each document on its own should
see every value written out, so one dumper for everything the CLI writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class _PlainDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(document: Any) -> str:
    return yaml.dump(document, Dumper=_PlainDumper, sort_keys=False)


def dump_all(documents: Iterable[Any]) -> str:
    return yaml.dump_all(documents, Dumper=_PlainDumper, sort_keys=False)
