"""In-memory sink: keeps every event (tests, RunResult, notebooks)."""

from __future__ import annotations

import threading
from typing import Any


class MemorySink:
    """Keep events in a list; ``epochs()`` and ``batches()`` give them as DataFrames.

    Example:
        >>> from workbench.sinks import MemorySink
        >>> s = MemorySink()
        >>> s.send({"type": "epoch", "epoch": 1, "loss": 0.5, "step": 10})
        >>> s.epochs()["loss"].tolist()
        [0.5]
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("type") == kind]

    def epochs(self) -> Any:
        """Epoch events as a DataFrame (one row per epoch)."""
        import pandas as pd

        rows = [{k: v for k, v in e.items() if k not in ("type", "run_id", "time")}
                for e in self.of_type("epoch")]
        return pd.DataFrame(rows)

    def batches(self) -> Any:
        """Batch events as a DataFrame."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in e.items() if k not in ("type", "run_id")}
                             for e in self.of_type("batch")])
