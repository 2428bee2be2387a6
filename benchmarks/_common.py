"""Helpers shared by the benchmark scripts: a human table, then one JSON line last."""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
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


def epoch_timer() -> Any:
    """A Keras callback recording each epoch's wall time in ``.times`` (imports Keras)."""
    from workbench._tf import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.t)

    return EpochTimer()
