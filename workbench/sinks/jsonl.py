"""JSON-lines sink in the run folder, and ``follow`` to watch a run from another process."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EVENTS_FILE = "events.jsonl"


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


class JSONLSink:
    """Append each event as one JSON line (flushed at once, so followers see it live).

    Non-finite numbers are written as ``null``. Each line is written with a single ``write``
    call on a file opened for appending, so concurrent readers never see half a line except
    at the very end, which :func:`read_events` skips.

    Example:
        >>> import tempfile, os
        >>> from workbench.sinks import JSONLSink, read_events
        >>> p = os.path.join(tempfile.mkdtemp(), "events.jsonl")
        >>> s = JSONLSink(p); s.send({"type": "epoch", "loss": float("nan")}); s.close()
        >>> read_events(p)
        [{'type': 'epoch', 'loss': None}]
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def send(self, event: dict[str, Any]) -> None:
        if self._f.closed:
            return
        self._f.write(json.dumps(_clean(event), separators=(",", ":")) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """Read the complete events of a JSONL file (a partial last line is skipped)."""
    out = []
    p = Path(path)
    if p.is_dir():
        p = p / EVENTS_FILE
    if not p.is_file():
        return out
    with open(p, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a garbage line (another machine, a damaged disk): skipped
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                out.append(event)
    return out


def follow(run_dir: str | Path, timeout: float | None = None,
           poll: float = 0.2) -> Iterator[dict[str, Any]]:
    """Yield a run's events as they are written, until its ``run_end`` event (or timeout).

    Works across processes: point it at the folder of a run started by the CLI or papermill.

    Example:
        >>> import workbench as wb, tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> s = wb.sinks.JSONLSink(os.path.join(d, "events.jsonl"))
        >>> s.send({"type": "epoch", "epoch": 1})
        >>> s.send({"type": "run_end", "status": "completed"})
        >>> [e["type"] for e in wb.follow(d, timeout=5)]
        ['epoch', 'run_end']
    """
    p = Path(run_dir)
    if p.is_dir():
        p = p / EVENTS_FILE
    deadline = None if timeout is None else time.monotonic() + timeout
    pos = 0
    buf = ""
    while True:
        if p.is_file():
            with open(p, encoding="utf-8") as f:
                f.seek(pos)
                chunk = f.read()
                pos = f.tell()
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                yield event
                if event.get("type") == "run_end":
                    return
        if deadline is not None and time.monotonic() > deadline:
            return
        time.sleep(poll)
