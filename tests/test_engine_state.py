"""State on an S3 backend (moto's S3 server on 127.0.0.1): secrets stay encrypted, one
``up`` at a time per stack, and an ``up`` killed mid-way can be recovered."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_stack import GRAFANA_TEST_PASSWORD, EngineStack, new_stack
from s3_server import CREDENTIALS, S3Server, s3_server

pytestmark = pytest.mark.engine

STACK_TYPE = "pulumi:pulumi:Stack"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port, with an empty state bucket."""
    with s3_server() as server:
        yield server


def s3_stack(tmp_path: Path, s3: S3Server, name: str) -> EngineStack:
    return new_stack(tmp_path, name, backend_url=s3.backend_url, extra_env=CREDENTIALS)


def test_state_on_s3_holds_no_plaintext_secret(tmp_path: Path, s3: S3Server) -> None:
    stack = s3_stack(tmp_path, s3, "dev")
    stack.up()

    state_keys = [k for k in s3.keys(".pulumi/stacks/") if k.endswith(".json")]
    assert state_keys, s3.keys()
    for key in state_keys:
        assert GRAFANA_TEST_PASSWORD not in s3.read(key), key
    outputs = stack.pulumi("stack", "output", "--json").stdout
    assert GRAFANA_TEST_PASSWORD not in outputs
    assert '"grafana_admin_password": "[secret]"' in outputs
    assert GRAFANA_TEST_PASSWORD not in (tmp_path / "project" / "Pulumi.dev.yaml").read_text()
    shown = stack.pulumi("stack", "output", "grafana_admin_password", "--show-secrets").stdout
    assert shown.strip() == GRAFANA_TEST_PASSWORD


def _start_up(stack: EngineStack) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.name],
        cwd=stack.project,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for(condition, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_two_concurrent_ups_never_both_proceed(tmp_path: Path, s3: S3Server) -> None:
    stack = s3_stack(tmp_path, s3, "staging")
    first = _start_up(stack)
    _wait_for(lambda: s3.keys(".pulumi/locks/"), "the first up's lock")

    second = stack.pulumi("up", "--yes", "--skip-preview", check=False)
    first_output, _ = first.communicate(timeout=900)

    assert second.returncode != 0
    assert "locked" in (second.stdout + second.stderr)
    assert first.returncode == 0, first_output
    assert s3.keys(".pulumi/locks/") == []


def test_an_up_killed_midway_is_recovered_by_cancel_and_up(tmp_path: Path, s3: S3Server) -> None:
    stack = s3_stack(tmp_path, s3, "prod")
    assert stack.render_dir is not None
    running = _start_up(stack)
    _wait_for(lambda: len(list(stack.render_dir.rglob("*.yaml"))) > 20, "the up to be mid-way")
    os.killpg(running.pid, signal.SIGKILL)
    running.wait(timeout=30)

    blocked = stack.pulumi("up", "--yes", "--skip-preview", check=False)
    assert blocked.returncode != 0 and "locked" in (blocked.stdout + blocked.stderr)
    stack.pulumi("cancel", "--yes")  # removes the dead process's lock
    pending = stack.export()["deployment"].get("pending_operations") or []
    assert pending, "a killed up leaves its in-flight creates pending"
    # Render mode cannot read objects back, so refresh only the stack resource: that is
    # enough to clear the pending creates the killed up left behind.
    (stack_urn,) = [
        r["urn"] for r in stack.export()["deployment"]["resources"] if r["type"] == STACK_TYPE
    ]
    stack.pulumi(
        "refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--target", stack_urn
    )
    assert not stack.export()["deployment"].get("pending_operations")
    stack.up()
    stack.up("--expect-no-changes")
