"""Where metric events go. A sink is anything with ``send(event: dict) -> None``.

Events are plain dicts with a ``type`` of ``run_start``, ``batch``, ``epoch`` or ``run_end``;
their keys are typed in :mod:`workbench.events`. A sink may also have ``close()``.

Example:
    >>> import workbench as wb
    >>> sink = wb.sinks.MemorySink()
    >>> sink.send({"type": "epoch", "epoch": 1, "loss": 0.5})
    >>> len(sink.events)
    1
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from workbench.events import Event
from workbench.sinks.console import ConsoleSink
from workbench.sinks.jsonl import JSONLSink, follow, read_events
from workbench.sinks.memory import MemorySink


@runtime_checkable
class Sink(Protocol):
    """The one-method protocol every sink implements."""

    def send(self, event: Event) -> None: ...


__all__ = ["ConsoleSink", "JSONLSink", "MemorySink", "Sink", "follow", "read_events"]
