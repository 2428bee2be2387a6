"""Cooperative stop: another thread (a Stop button) asks, training halts after the batch."""

from __future__ import annotations

import threading

from workbench._tf import keras


class StopFlag(keras.callbacks.Callback):
    """Stop training after the current batch (the current call, when a call runs several
    steps) once :meth:`request` is called (thread-safe).

    Example:
        >>> import workbench as wb
        >>> flag = wb.callbacks.StopFlag()
        >>> flag.request()          # e.g. from a button handler
        >>> flag.requested
        True
    """

    multi_step_aware = True  # right with several steps per call (steps_per_execution)

    def __init__(self, event: threading.Event | None = None) -> None:
        super().__init__()
        self.event = event or threading.Event()

    def request(self) -> None:
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    def on_train_batch_end(self, batch, logs=None):
        if self.event.is_set():
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        if self.event.is_set():
            self.model.stop_training = True
