"""Check that a local chart source really holds the charts an install needs.

This reads the file system, so it lives outside the pure validator; the install
component and ``meshstack validate`` run it before anything is registered.
"""

from __future__ import annotations

from pathlib import Path

from meshstack.render.install import istio_releases
from meshstack.spec.install import IstioInstall, LocalCharts
from meshstack.validation.problems import Problem


def local_chart_problems(install: IstioInstall, base_dir: Path | None = None) -> list[Problem]:
    """One problem per chart the install uses that is missing from its local directory.

    Relative paths are taken from ``base_dir`` (the Pulumi project directory)."""
    source = install.chart_source
    if not isinstance(source, LocalCharts):
        return []
    root = Path(source.path)
    if not root.is_absolute() and base_dir is not None:
        root = base_dir / root
    if not root.is_dir():
        return [Problem("install.chart_source.path", f"{str(root)!r} is not a directory")]
    problems = []
    for release in istio_releases(install):
        chart_dir = Path(release.chart.chart)
        if not chart_dir.is_absolute() and base_dir is not None:
            chart_dir = base_dir / chart_dir
        if not (chart_dir / "Chart.yaml").is_file():
            problems.append(
                Problem(
                    "install.chart_source.path",
                    f"no chart for release {release.name!r} at {str(chart_dir)!r} "
                    f"(layout {source.layout.value!r})",
                )
            )
    return problems
