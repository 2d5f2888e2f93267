"""Run a Pulumi program under the SDK's mock engine and print what it registered, as JSON.

Usage: ``python record_program.py PROGRAM STACK``

This is the engine's half of ``pulumi preview`` as far as a policy pack can
tell: the program runs in a fresh process exactly as the CLI would start it
(project ``meshstack``, the given stack, preview mode, the stack's
``Pulumi.<stack>.yaml`` config beside the program in ``PULUMI_CONFIG``), and
every RegisterResource request is written out with its type, name, URN,
parent, dependencies, protect flag, provider reference and input properties in wire form (secrets
stay wrapped), ready to be sent to an analyzer.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import yaml


def _config_env(project_dir: Path, stack: str) -> str:
    """The stack file's config as the CLI passes it: every value a string, objects as JSON."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) if path.is_file() else None
    config = (document or {}).get("config") or {}
    return json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})


def main(program: Path, stack: str) -> None:
    os.environ["PULUMI_CONFIG"] = _config_env(program.parent, stack)

    import pulumi
    from google.protobuf import json_format
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    class EchoMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
            return {}, []

    registered: list[dict[str, Any]] = []

    class RecordingMonitor(MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            registered.append(
                {
                    "type": request.type,
                    "name": request.name,
                    "urn": response.urn,
                    "parent": request.parent,
                    "dependencies": list(request.dependencies),
                    "protect": bool(request.protect),
                    "provider": request.provider,
                    "properties": json_format.MessageToDict(request.object),
                }
            )
            return response

    mocks = EchoMocks()
    pulumi.runtime.set_mocks(
        mocks, project="meshstack", stack=stack, preview=True, monitor=RecordingMonitor(mocks)
    )
    sys.path.insert(0, str(program.parent))
    # What pulumi.runtime.test does: run the program, then wait for every registration.
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__")))
    json.dump(registered, sys.stdout)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), sys.argv[2])
