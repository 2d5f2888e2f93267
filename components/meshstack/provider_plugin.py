"""The component provider (:mod:`meshstack.component_provider`) as an installed Pulumi plugin.

The CLI finds a provider plugin either on PATH, under the name
``pulumi-resource-<name>`` — and then warns "using ... from $PATH" on every run, as it
does for any plugin it did not install — or in its plugin cache. So the package's
executable has another name (``meshstack-provider``), and ``meshstack provider-install``
copies it into the cache with ``pulumi plugin install resource meshstack <version> --file``,
once per meshstack version: no warning, and the plugin's version is the package's.

The copy is the console script, which names this virtualenv's Python: after moving or
upgrading the virtualenv, install it again (``--reinstall`` is implied).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from meshstack import __version__
from meshstack.executables import installed

EXECUTABLE = "meshstack-provider"
PLUGIN = "meshstack"


class ProviderInstallError(Exception):
    """What stopped the install, in one line for the person running it."""


@dataclass(frozen=True)
class InstalledPlugin:
    version: str
    source: Path


def install_plugin(pulumi: str | None = None) -> InstalledPlugin:
    """Install this package's provider into the Pulumi CLI's plugin cache (``PULUMI_HOME``)."""
    source = installed(EXECUTABLE)
    if source is None:
        raise ProviderInstallError(
            f"the {EXECUTABLE} executable is not installed beside this Python nor on PATH "
            "(reinstall meshstack)"
        )
    cli = pulumi or shutil.which("pulumi")
    if cli is None:
        raise ProviderInstallError("the Pulumi CLI is not on PATH: install it, then run this again")
    command = [
        cli, "plugin", "install", "resource", PLUGIN, __version__,
        "--file", str(source), "--reinstall",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise ProviderInstallError(
            f"pulumi plugin install failed: {reason[-1] if reason else done.returncode}"
        )
    return InstalledPlugin(__version__, source)
