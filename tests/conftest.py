"""Shared test helpers.

Tiers (markers registered in pyproject.toml): unmarked tests are the fast tier (no training);
``keras`` trains tiny real models; ``slow`` longer runs; ``system`` needs a Debian package that
`make` installs; ``notebook`` and ``browser`` execute notebooks / drive JupyterLab.
`make test-fast` runs the fast tier in seconds; `make test` runs everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_system(available: bool, what: str) -> None:
    """Skip (with the reason) when a system part is missing; in CI, fail instead."""
    if available:
        return
    msg = f"{what} is not installed (`make test` installs it when run as root)"
    if IN_CI:
        pytest.fail(f"CI=true and {msg}")
    pytest.skip(msg)


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m workbench ARGS`` in a subprocess and capture its output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture
def store(tmp_path):
    from workbench.runs import RunStore

    return RunStore(tmp_path / "runs")
