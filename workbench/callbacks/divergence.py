"""Stop a run whose loss became NaN or infinite, and remember that it diverged."""

from __future__ import annotations

import math

from workbench._tf import keras


class DivergenceGuard(keras.callbacks.Callback):
    """Set ``model.stop_training`` at the first non-finite training loss.

    After ``fit``, ``guard.diverged`` tells whether it fired and ``guard.step`` where.

    Example:
        >>> import workbench as wb
        >>> guard = wb.callbacks.DivergenceGuard()
        >>> guard.diverged
        False
    """

    def __init__(self) -> None:
        super().__init__()
        self.diverged = False
        self.step: int | None = None
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self._step += 1
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = True
            self.step = self._step
            self.model.stop_training = True
