"""The README's code blocks are tests (pytest-codeblocks: ``pytest README.md --codeblocks``).

They run as a reader would run them, in order, from one working folder that looks like a fresh
clone: the project's folders are linked into it, and what the blocks write (``runs/``,
``sweeps/``, ``out/``, ``reports/``, ``m.wbz``) stays there. A block that needs an earlier one's
names says so with ``<!--pytest-codeblocks:cont-->``; one whose output the README shows is
compared with it (``<!--pytest-codeblocks:expected-output-->``). Every block is in the slow tier.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
_LINKED = ("Makefile", "pyproject.toml", "README.md", "examples", "notebooks", "scripts",
           "tests", "benchmarks", "workbench", ".venv")


def _readme_item(item: pytest.Item) -> bool:
    return item.path.name == "README.md"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _readme_item(item):
            item.add_marker(pytest.mark.slow)


_FOLDER: list[Path] = []


def _folder() -> Path:
    """The one working folder of the session's README blocks, made on first use."""
    if not _FOLDER:
        folder = Path(tempfile.mkdtemp(prefix="readme-blocks-"))
        for name in _LINKED:
            if (ROOT / name).exists():
                (folder / name).symlink_to(ROOT / name)
        _FOLDER.append(folder)
    return _FOLDER[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    if not _readme_item(item):
        return (yield)
    before = Path.cwd()
    os.chdir(_folder())
    try:
        return (yield)
    finally:
        os.chdir(before)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for folder in _FOLDER:
        shutil.rmtree(folder, ignore_errors=True)
