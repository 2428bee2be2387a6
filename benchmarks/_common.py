"""Helpers shared by the benchmark scripts: a human table, then one JSON line last."""

from __future__ import annotations

import json
import platform
import statistics
import sys
from typing import Any


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    if not rows:
        return
    cols = list(rows[0])
    width = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(width[c]) for c in cols))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def finish(figures: dict[str, Any]) -> None:
    figures = {"machine": f"{platform.machine()} {platform.python_version()}", **figures}
    sys.stdout.flush()
    print(json.dumps(figures))


median = statistics.median
