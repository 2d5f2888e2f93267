"""Where a local source lives on *this* machine: ``${NAME}`` in a path is read from the
environment when the path is used, never written into committed config.

A chart mirror sits at a different place on a laptop, a CI runner and a bastion host, so
``meshstack:istioCharts.path`` may say ``${ISTIO_CHARTS}/{version}`` and each machine sets
``ISTIO_CHARTS``. The committed stack config stays the same everywhere, and the semantic
diff never sees a machine's path (it reports a source's kind and address, not its path).
"""

from __future__ import annotations

import os
import re

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class LocationUnset(LookupError):
    """A path names an environment variable that this machine does not set."""


def unset_variables(path: str) -> list[str]:
    """The ``${NAME}`` references in ``path`` whose variable is unset or empty."""
    return [name for name in _REFERENCE.findall(path) if not os.environ.get(name)]


def expand(path: str) -> str:
    """``path`` with each ``${NAME}`` replaced by the variable's value."""
    missing = unset_variables(path)
    if missing:
        raise LocationUnset(
            f"{path!r} names {', '.join('$' + name for name in missing)}, which this machine "
            "does not set: export it to the directory it stands for"
        )
    return _REFERENCE.sub(lambda match: os.environ[match.group(1)], path)
