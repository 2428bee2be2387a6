"""`TrialPruning`: report each epoch's accuracy to an Optuna trial; stop when it says prune."""

from __future__ import annotations

from typing import Any

from workbench._tf import keras


class TrialPruning(keras.callbacks.Callback):
    """Report the validation (or training) accuracy at each epoch end to ``trial``, and stop
    training when Optuna's pruner says the trial is worse than its peers at that epoch
    (the shape of optuna-integration's ``KerasPruningCallback``). ``pruned`` is the epoch
    count at which it stopped (None: it ran to the end); ``outcome`` then says ``"pruned"``,
    which ``wb.run`` records as the run's status.

    Example:
        >>> import optuna
        >>> from workbench.callbacks.trial_pruning import TrialPruning
        >>> study = optuna.create_study(direction="maximize")
        >>> cb = TrialPruning(study.ask())
        >>> cb.pruned is None
        True
    """

    def __init__(self, trial: Any) -> None:
        super().__init__()
        self.trial = trial
        self.pruned: int | None = None
        self.outcome: str | None = None

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = logs or {}
        value = logs.get("val_accuracy", logs.get("accuracy"))
        if value is None:
            return
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned = epoch + 1
            self.outcome = "pruned"
            self.model.stop_training = True
