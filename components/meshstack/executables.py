"""Where the package's own executables are: the console scripts installing meshstack puts
beside the interpreter that runs it (a virtualenv's ``bin``), else the first on PATH.

Beside the interpreter first: a team's CLI run from one virtualenv must hand Pulumi that
virtualenv's policy pack and provider, not another install's that happens to be on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def installed(name: str) -> Path | None:
    """The console script ``name`` of this install, or ``None`` when it has none."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None
