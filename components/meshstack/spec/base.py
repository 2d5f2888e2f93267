"""The base every spec model shares, and the field checks that validation runs.

Models are frozen and reject unknown fields: a misspelt field in an
AuthorizationPolicy rule must never silently become ``rules: [{}]`` (which
matches everything). Constructors only check types; value rules (ranges,
formats) are attached to field types as :class:`FieldCheck` markers and are
run by :func:`meshstack.validation.validate`, so that *every* problem is
reported at once, each with its full field path from the stack's root.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from meshstack.spec import build_mistakes


class Spec(BaseModel):
    """Immutable model with unknown fields forbidden.

    While a stack file runs (:func:`meshstack.spec.build_mistakes.collecting`), a
    constructor given wrong arguments records the mistake and becomes a stand-in built
    from the arguments that were right, so the file runs on and every mistake is
    reported at once; otherwise it raises pydantic's ``ValidationError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path_key: ClassVar[str] = "name"
    """The field that names an item of this model in a field path (``canaries[reviews]``);
    items without it are named by position."""
    moved_fields: ClassVar[Mapping[str, str]] = {}
    """Fields an earlier meshstack had here, each with where its setting lives now: a
    spec written for it is told how to say the same, not only that the field is unknown."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            if not build_mistakes.record(type(self), error):
                raise
            stand_in = type(self).model_construct(**build_mistakes.stand_in_values(data, error))
            for slot in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__"):
                object.__setattr__(self, slot, getattr(stand_in, slot))
            object.__setattr__(self, "__pydantic_private__", None)
        build_mistakes.remember_site(self)


@dataclass(frozen=True)
class FieldCheck:
    """A value rule attached to a field type with ``Annotated``.

    ``expected`` completes the sentence "... should be <expected>", so the
    error names what would be valid.
    """

    expected: str
    accepts: Callable[[Any], bool]


def field_check(annotated: Any) -> FieldCheck:
    """The rule an ``Annotated`` field type carries, for code that checks a value outside
    a model (stack config overriding a field) against the field's own rule."""
    found = [m for m in getattr(annotated, "__metadata__", ()) if isinstance(m, FieldCheck)]
    if not found:
        raise TypeError(f"{annotated!r} carries no FieldCheck")
    return found[0]


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms|us|ns))+$")
_DURATION_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def is_dns_label(value: str) -> bool:
    return bool(_DNS_LABEL.match(value))


def is_duration(value: str) -> bool:
    return bool(_DURATION.match(value)) and duration_seconds(value) >= 0.001


def duration_seconds(value: str) -> float:
    """Seconds in a duration such as ``1m30s``; assumes :func:`is_duration` shape."""
    total = 0.0
    for number, _, unit in re.findall(r"(\d+(\.\d+)?)(h|ms|m|s|us|ns)", value):
        total += float(number) * _DURATION_UNIT_SECONDS[unit]
    return total


DnsLabel = Annotated[
    str,
    FieldCheck(
        "a DNS-1123 label: lowercase letters, digits and '-', starting and ending "
        "with a letter or digit, at most 63 characters",
        lambda v: is_dns_label(v),
    ),
]
Duration = Annotated[
    str,
    FieldCheck(
        "a duration of at least 1ms such as '250ms', '5s', '1m30s' or '1h'",
        lambda v: is_duration(v),
    ),
]
Percent = Annotated[float, FieldCheck("a percentage between 0 and 100", lambda v: 0 <= v <= 100)]
Weight = Annotated[int, FieldCheck("an integer weight between 0 and 100", lambda v: 0 <= v <= 100)]
PortNumber = Annotated[
    int, FieldCheck("a port number between 1 and 65535", lambda v: 1 <= v <= 65535)
]
PositiveInt = Annotated[int, FieldCheck("an integer of at least 1", lambda v: v >= 1)]
NonNegativeInt = Annotated[int, FieldCheck("an integer of at least 0", lambda v: v >= 0)]
HttpStatus = Annotated[
    int, FieldCheck("an HTTP status code between 200 and 599", lambda v: 200 <= v <= 599)
]
NonEmptyStr = Annotated[str, FieldCheck("a non-empty string", lambda v: bool(v.strip()))]
