"""The engine's side of ``pulumi preview --policy-pack``, for tests without the CLI.

Until the Pulumi CLI can be built here (issue 4), this drives the real pieces
the CLI would: the policy pack runs as its own process and serves the
``pulumirpc.Analyzer`` gRPC service on 127.0.0.1 (the pulumi-policy SDK's
server, untouched); a program runs under the SDK's mock engine in another
process (``record_program.py``); every registered resource is then sent to the
pack with ``Analyze`` and the whole set with ``AnalyzeStack``, the two calls
the engine makes during a preview.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from conftest import PROJECT
from google.protobuf import empty_pb2, struct_pb2
from meshstack.stack_config import pulumi_text
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

RECORDER = Path(__file__).resolve().parent / "record_program.py"
MANDATORY = analyzer_pb2.EnforcementLevel.Value("MANDATORY")


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    urn: str
    mandatory: bool


def record_program(program: Path, stack: str) -> list[dict[str, Any]]:
    """Every resource ``program`` registers as stack ``stack``, in wire form."""
    done = subprocess.run(
        [sys.executable, str(RECORDER), str(program), stack],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{program} ({stack}) failed:\n{done.stderr}")
    registered: list[dict[str, Any]] = json.loads(done.stdout)
    return registered


def _struct(properties: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(properties)
    return message


def _described(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The fields ``Analyze`` and ``AnalyzeStack`` both carry for a resource."""
    return {
        "type": resource["type"],
        "properties": _struct(resource["properties"]),
        "urn": resource["urn"],
        "name": resource["name"],
        "options": analyzer_pb2.AnalyzerResourceOptions(
            protect=resource["protect"], parent=resource["parent"]
        ),
    }


class PolicyPackClient:
    """A connection to a running policy pack, speaking as the engine does."""

    def __init__(self, stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
        self.stub = stub

    def policy_names(self) -> list[str]:
        info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        return [p.name for p in info.policies]

    def configure_stack(self, stack: str, config: Mapping[str, str]) -> None:
        """What the engine sends before any analysis: the stack and its whole config,
        every value as Pulumi's text (``NewPolicyAnalyzer`` in pulumi's analyzer_plugin.go)."""
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack, project="meshstack", dry_run=True, config=dict(config)
            )
        )

    def configure(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        """``--policy-pack-config``: per-policy properties, enforcement left as declared."""
        self.stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={
                    name: analyzer_pb2.PolicyConfig(
                        enforcementLevel=MANDATORY, properties=_struct(properties)
                    )
                    for name, properties in config.items()
                }
            )
        )

    def preview(self, resources: Sequence[Mapping[str, Any]]) -> list[Violation]:
        """What a preview reports: ``Analyze`` per resource, then ``AnalyzeStack``."""
        responses = [
            self.stub.Analyze(analyzer_pb2.AnalyzeRequest(**_described(r))) for r in resources
        ]
        responses.append(
            self.stub.AnalyzeStack(
                analyzer_pb2.AnalyzeStackRequest(
                    resources=[
                        analyzer_pb2.AnalyzerResource(
                            **_described(r), parent=r["parent"], dependencies=r["dependencies"]
                        )
                        for r in resources
                    ]
                )
            )
        )
        return [
            Violation(d.policyName, d.message, d.urn, d.enforcementLevel == MANDATORY)
            for response in responses
            for d in response.diagnostics
        ]


def stack_config_text(stack: str) -> dict[str, str]:
    """``Pulumi.<stack>.yaml``'s config as the engine passes it: every value as text."""
    path = PROJECT / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) if path.is_file() else None
    return {k: pulumi_text(v) for k, v in ((document or {}).get("config") or {}).items()}


@contextmanager
def running_policy_pack() -> Iterator[PolicyPackClient]:
    """Start the pack as the CLI starts an executable policy pack: the package's
    ``meshstack-policy-pack ENGINE`` (here ``python -m meshstack.policy_pack``), which
    prints the port it serves on. (The engine address is not used by the pack.)"""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "meshstack.policy_pack", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            process.kill()
            _, stderr = process.communicate(timeout=10)
            raise RuntimeError(f"policy pack did not start: {line!r}\n{stderr}")
        with grpc.insecure_channel(f"127.0.0.1:{line}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield PolicyPackClient(analyzer_pb2_grpc.AnalyzerStub(channel))
    finally:
        process.kill()
        process.communicate(timeout=10)
