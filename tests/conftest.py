"""Shared fixtures. Pulumi mocks are process-global, so they are set exactly once, here."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from google.protobuf import json_format
from meshstack.spec import MeshSpec
from meshstack.stacks import load_spec
from pulumi.runtime.mocks import MockMonitor

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "scripts"))  # engine.py: the toolchain, shared with scripts


@dataclass(frozen=True)
class Registration:
    """What the engine was told about a resource besides its inputs."""

    urn: str
    parent: str
    dependencies: tuple[str, ...]
    protect: bool
    secret_inputs: frozenset[str]
    """Top-level input properties that reached the engine wrapped as secrets."""
    plain_inputs: str
    """Every input the engine saw outside a secret, as JSON text."""
    aliases: tuple[str, ...]
    """Earlier identities the engine should look for (alias specs and alias URNs)."""
    type: str
    plugin_version: str


SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
MOCK_PASSWORD = "mock-generated-password-0123456789abcdef"


def _strip_secrets(value: Any) -> Any:
    """``value`` with every secret-wrapped subtree replaced by a marker."""
    if isinstance(value, dict):
        if SECRET_SIG in value.values():
            return "<secret>"
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs back as outputs and remember every resource the engine was asked for."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.registrations: dict[str, Registration] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = MOCK_PASSWORD[: int(args.inputs["length"])]
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, also recording parent, dependencies and protect per resource."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        raw = json_format.MessageToDict(request.object)
        stripped = _strip_secrets(raw)
        self.recording.registrations[request.name] = Registration(
            urn=response.urn,
            parent=request.parent,
            dependencies=tuple(request.dependencies),
            protect=bool(request.protect),
            secret_inputs=frozenset(k for k, v in stripped.items() if v == "<secret>"),
            plain_inputs=json.dumps(stripped, sort_keys=True),
            aliases=(
                *(json_format.MessageToJson(a, indent=None) for a in request.aliases),
                *request.aliasURNs,
            ),
            type=request.type,
            plugin_version=request.version,
        )
        return response


MOCKS = RecordingMocks()
pulumi.runtime.set_mocks(MOCKS, preview=False, monitor=RecordingMonitor(MOCKS))


@pytest.fixture
def engine() -> RecordingMocks:
    """The mock engine, emptied for this test."""
    MOCKS.resources.clear()
    MOCKS.registrations.clear()
    return MOCKS


@pytest.fixture(scope="session")
def stack_specs() -> dict[str, MeshSpec]:
    return {name: load_spec(name, PROJECT / "stacks") for name in ("dev", "staging", "prod")}
