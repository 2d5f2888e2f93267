"""The spec models are immutable and reject what they do not know."""

from __future__ import annotations

import pytest
from meshstack.spec import AuthorizationRule, MtlsMode, PeerAuthentication, RequestSource, Version
from pydantic import ValidationError


def test_a_misspelt_authorization_field_is_rejected_instead_of_matching_everything() -> None:
    with pytest.raises(ValidationError, match="sources_accounts"):
        RequestSource(sources_accounts=("shop/web",))  # type: ignore[call-arg]


def test_an_unknown_rule_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="form"):
        AuthorizationRule(form=())  # type: ignore[call-arg]


def test_models_are_frozen() -> None:
    version = Version(image="web:1")
    with pytest.raises(ValidationError):
        version.image = "web:2"  # type: ignore[misc]


def test_mtls_defaults_to_strict() -> None:
    assert PeerAuthentication().mode is MtlsMode.STRICT


def test_modes_are_enums_not_free_text() -> None:
    with pytest.raises(ValidationError, match="STRICT"):
        PeerAuthentication(mode="strict")  # type: ignore[arg-type]
