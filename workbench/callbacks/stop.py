"""Cooperative stop: another thread (a Stop button) asks, training halts after the batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from workbench._tf import keras
from workbench.callbacks.step_log import steps_in_call


class StopFlag(keras.callbacks.Callback):
    """Stop training after the current batch (the current call, when a call runs several
    steps) once :meth:`request` is called (thread-safe), and record how fast it stopped.

    ``requested_at`` and ``halted_at`` are ``time.monotonic()`` readings; ``batches_after``
    counts the batches that began after the request (at most one call's steps). ``on_end``,
    if given, is called with the flag when training ends, stopped or not (a panel shows
    "stopped at step N, 0.12 s after Stop" from it). ``wb.run(stop=...)`` takes a flag or a
    plain ``threading.Event``.

    Example:
        >>> import workbench as wb
        >>> flag = wb.callbacks.StopFlag()
        >>> flag.request()          # e.g. from a button handler
        >>> flag.requested, flag.requested_at is not None
        (True, True)
    """

    multi_step_aware = True  # right with several steps per call (steps_per_execution)

    def __init__(self, event: threading.Event | None = None, *,
                 on_end: Callable[[StopFlag], None] | None = None) -> None:
        super().__init__()
        self.event = event or threading.Event()
        self.on_end = on_end
        self.requested_at: float | None = None
        self.halted_at: float | None = None
        self.batches_after = 0
        self.stopped_at_step: int | None = None

    def request(self) -> None:
        """Ask training to stop after the running call (thread-safe)."""
        self.requested_at = time.monotonic()
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    @property
    def latency(self) -> float | None:
        """Seconds from the request to the end of training (None unless both happened)."""
        if self.requested_at is None or self.halted_at is None:
            return None
        return max(0.0, self.halted_at - self.requested_at)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self.event.is_set():  # a call that starts after the request (0 or 1 of them)
            calls = int(getattr(self.model, "steps_per_execution", 1) or 1)
            self.batches_after += steps_in_call(self, batch, batch + calls - 1)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self.event.is_set():
            self.model.stop_training = True

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self.event.is_set():
            self.model.stop_training = True

    def on_train_end(self, logs: Any = None) -> None:
        self.halted_at = time.monotonic()
        if self.event.is_set():
            self.stopped_at_step = int(keras.ops.convert_to_numpy(
                self.model.optimizer.iterations))
        if self.on_end is not None:
            self.on_end(self)
