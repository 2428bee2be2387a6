"""Stop a run whose loss became NaN or infinite, and remember that it diverged."""

from __future__ import annotations

import math

from workbench._tf import keras
from workbench.callbacks.step_log import steps_in_call


class DivergenceGuard(keras.callbacks.Callback):
    """Set ``model.stop_training`` at the first non-finite training loss.

    After ``fit``, ``guard.diverged`` tells whether it fired and ``guard.step`` where (with
    several steps per call, the last step of the call it saw the non-finite mean in).

    Example:
        >>> import workbench as wb
        >>> guard = wb.callbacks.DivergenceGuard()
        >>> guard.diverged
        False
    """

    multi_step_aware = True  # right with several steps per call (steps_per_execution)

    def __init__(self) -> None:
        super().__init__()
        self.diverged = False
        self.step: int | None = None
        self._step = 0
        self._begin = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = batch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self._step += steps_in_call(self, self._begin, batch)
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = True
            self.step = self._step
            self.model.stop_training = True
