"""Scratch git repositories for tests of commands that read history (``diff --base``)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> None:
    """Run git in ``repo`` with a fixed test identity; fail loudly on error."""
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@meshstack.test", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )
