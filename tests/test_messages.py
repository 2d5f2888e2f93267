"""Every validation message is a sentence that says what is wrong and what would be right.

The messages are gathered from the invalid-spec tables of the validation tests (each
case is a realistic mistake), so a rule added with its test is audited here too. The
checks are about the reader: a fix or the valid candidates in every message, and none of
the Python that built it (byte strings, empty lists, object reprs)."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator

import pytest
from meshstack.spec.mesh import MeshSpec
from meshstack.validation import Problem, validate

TABLES = (
    "test_validation",
    "test_validation_strict",
    "test_install_validation",
    "test_egress_origination",
    "test_ambient",
    "test_gateway_api",
    "test_slo_spec",
)

GUIDANCE = re.compile(
    r"\b(set|use|write|add|remove|move|give|name|enable|rename|merge|choose|raise|lower|"
    r"expected|valid|declare|point|pull|split|make|export|should|must|needs?|only|either|"
    r"instead|run|e\.g\.|such as|did you mean)\b"
    r"|\b(\w+s|deployed|defined|known): ",
    re.IGNORECASE,
)
"""A remedy (a verb telling what to do, what is expected) or the candidates (``ports: ...``)."""

PYTHON_LEAKS = {
    "a byte string": re.compile(r"(^|[\s:(])b'"),
    "an empty list": re.compile(r"\[\]"),
    "an object repr": re.compile(r"<[\w.]+ object|\bServiceKey\("),
    "a None": re.compile(r"\bNone\b(?! form)"),
}


def _cases() -> Iterator[tuple[str, Callable[[], MeshSpec]]]:
    for module_name in TABLES:
        module = importlib.import_module(module_name)
        for name, table in vars(module).items():
            if not (name.isupper() and isinstance(table, dict)):
                continue
            for case, entry in table.items():
                if isinstance(entry, tuple) and entry and _builds_a_spec(entry[0]):
                    yield f"{module_name}:{case}", entry[0]


def _builds_a_spec(candidate: object) -> bool:
    """A table entry whose first item builds the invalid spec by itself (other tables
    hold edits of a spec given to them, which these cases do not need)."""
    if not callable(candidate):
        return False
    parameters = inspect.signature(candidate).parameters.values()
    return all(p.default is not inspect.Parameter.empty for p in parameters)


def _messages() -> dict[str, Problem]:
    found: dict[str, Problem] = {}
    for _, build in _cases():
        for problem in validate(build()):
            found.setdefault(problem.message, problem)
    return found


MESSAGES = _messages()


def test_the_tables_give_the_audit_enough_to_read() -> None:
    assert len(MESSAGES) >= 90


@pytest.mark.parametrize("message", sorted(MESSAGES), ids=lambda m: MESSAGES[m].path)
def test_a_validation_message_says_what_would_be_right(message: str) -> None:
    assert GUIDANCE.search(message), f"{MESSAGES[message]}: no fix and no candidates"
    leaks = [what for what, pattern in PYTHON_LEAKS.items() if pattern.search(message)]
    assert leaks == [], f"{MESSAGES[message]}: shows {', '.join(leaks)}"
