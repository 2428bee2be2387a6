"""Learning-rate schedules as pure functions of the training step.

Each schedule's formula is written once, over an array module ``xp``: with ``numpy`` it gives
the preview instantly (no TensorFlow), and inside training :class:`WorkbenchSchedule` evaluates
the very same formula with ``keras.ops`` as a serializable Keras ``LearningRateSchedule``.

Time units: ``step`` counts optimizer updates from 0; ``total`` is the number of updates of the
whole run; ``spe`` is steps per epoch. ``inverse_sqrt`` is the seed's adaptive rate
``alpha_t = alpha_0 * d / (sqrt(t) + d)`` with ``t`` in epochs and ``d = 1`` (scaled by ``d``
so that it starts at ``alpha_0``). ``plateau`` is constant here; ReduceLROnPlateau lowers it
during training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np


def _f(xp: Any, x: Any) -> Any:
    return xp.cast(x, "float32") if hasattr(xp, "cast") else np.asarray(x, dtype="float64")


#: A schedule's formula: ``(xp, step, frac, lr, total, spe) -> rate``, where ``frac`` is the
#: fraction of training done (``step / total``, at most 1). ``xp`` is numpy or ``keras.ops``.
Formula = Callable[[Any, Any, Any, float, int, int], Any]


@dataclass(frozen=True)
class ScheduleInfo:
    """One learning-rate schedule: its name, what it does, and its formula.

    Example:
        >>> from workbench.training.schedules import LR_SCHEDULES
        >>> LR_SCHEDULES["step"].description
        '/10 at 50% and again at 75% of training'
    """

    name: str
    description: str
    formula: Formula = field(repr=False, compare=False)


def _cosine_restarts(xp: Any, s: Any, frac: Any, lr: float, total: int, spe: int) -> Any:
    period = max(math.ceil(total / 3), 1)
    phase = (s - period * xp.floor(s / period)) / period
    return lr * 0.5 * (1.0 + xp.cos(math.pi * phase))


def _warmup_cosine(xp: Any, s: Any, frac: Any, lr: float, total: int, spe: int) -> Any:
    w = max(round(0.1 * total), 1)
    ramp = lr * (s + 1.0) / w
    cos = lr * 0.5 * (1.0 + xp.cos(math.pi * xp.minimum((s - w) / max(total - w, 1), 1.0)))
    return xp.where(s < w, ramp, cos)


def _one_cycle(xp: Any, s: Any, frac: Any, lr: float, total: int, spe: int) -> Any:
    up = max(int(0.3 * total), 1)
    start, end = lr / 25.0, lr / 25.0 / 1e4
    p_up = xp.minimum(s / up, 1.0)
    p_down = xp.minimum(xp.maximum(s - up, 0.0) / max(total - up, 1), 1.0)
    rising = start + (lr - start) * 0.5 * (1.0 - xp.cos(math.pi * p_up))
    falling = end + (lr - end) * 0.5 * (1.0 + xp.cos(math.pi * p_down))
    return xp.where(s < up, rising, falling)


def _entries(*infos: ScheduleInfo) -> dict[str, ScheduleInfo]:
    return {i.name: i for i in infos}


#: Every schedule the config accepts. Adding one is one entry here, plus its test.
LR_SCHEDULES: dict[str, ScheduleInfo] = _entries(
    ScheduleInfo("constant", "the same rate throughout",
                 lambda xp, s, frac, lr, total, spe: lr + 0.0 * s),
    ScheduleInfo("step", "/10 at 50% and again at 75% of training",
                 lambda xp, s, frac, lr, total, spe:
                 lr * xp.where(frac < 0.5, 1.0, xp.where(frac < 0.75, 0.1, 0.01))),
    ScheduleInfo("exponential", "x0.9 per epoch, smoothly",
                 lambda xp, s, frac, lr, total, spe: lr * xp.power(0.9, s / spe)),
    ScheduleInfo("inverse_time", "alpha_0 / (1 + 0.5 t), t in epochs",
                 lambda xp, s, frac, lr, total, spe: lr / (1.0 + 0.5 * s / spe)),
    ScheduleInfo("inverse_sqrt", "alpha_0 d / (sqrt(t) + d), t in epochs, d = 1",
                 lambda xp, s, frac, lr, total, spe: lr / (xp.sqrt(s / spe) + 1.0)),
    ScheduleInfo("polynomial", "quadratic decay to 1% of alpha_0",
                 lambda xp, s, frac, lr, total, spe:
                 (lr - 0.01 * lr) * xp.power(1.0 - frac, 2.0) + 0.01 * lr),
    ScheduleInfo("cosine", "half a cosine from alpha_0 to 0",
                 lambda xp, s, frac, lr, total, spe:
                 lr * 0.5 * (1.0 + xp.cos(math.pi * frac))),
    ScheduleInfo("cosine_restarts", "three equal cosine cycles (SGDR with t_mul = 1)",
                 _cosine_restarts),
    ScheduleInfo("warmup_cosine", "10% linear warm-up (at least one step), then cosine",
                 _warmup_cosine),
    ScheduleInfo("one_cycle", "Smith's 1cycle, cosine both ways: lr/25 -> lr -> lr/25e4",
                 _one_cycle),
    ScheduleInfo("plateau", "constant here; ReduceLROnPlateau lowers it from the validation "
                 "loss during training", lambda xp, s, frac, lr, total, spe: lr + 0.0 * s),
)


def lr_at(name: str, step: Any, *, lr: float, total: int, spe: int, xp: Any = np,
          warmup: int = 0) -> Any:
    """The learning rate of schedule ``name`` at ``step`` (array or tensor), after warm-up.

    Example:
        >>> from workbench.training.schedules import lr_at
        >>> float(lr_at("cosine", 50, lr=0.1, total=100, spe=10))
        0.05
    """
    if name not in LR_SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; one of: {', '.join(LR_SCHEDULES)}")
    s = _f(xp, step)
    if warmup > 0:
        after = lr_at(name, xp.maximum(s - warmup, 0.0), lr=lr, total=max(total - warmup, 1),
                      spe=spe, xp=xp)
        ramp = lr * xp.minimum((s + 1.0) / warmup, 1.0)
        return xp.where(s < warmup, ramp, after)
    total = max(int(total), 1)
    spe = max(int(spe), 1)
    return LR_SCHEDULES[name].formula(xp, s, xp.minimum(s / total, 1.0), lr, total, spe)


class ScheduleSettings(Protocol):
    """What the functions below read from a config (an ``ExperimentConfig`` has it all)."""

    dataset: str
    lr_schedule: str
    lr: float
    epochs: int
    warmup_epochs: int
    batch_size: int
    max_train_samples: int | None
    validation_split: float


@lru_cache(maxsize=1)
def schedule_class() -> Any:
    """The registered Keras ``LearningRateSchedule`` class (created on first use)."""
    from workbench._tf import keras

    @keras.saving.register_keras_serializable(package="workbench")
    class WorkbenchSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """A named workbench schedule, evaluated with ``keras.ops`` inside the train step."""

        def __init__(self, name: str, lr: float, total: int, spe: int, warmup: int = 0):
            self.name, self.lr, self.total, self.spe, self.warmup = name, lr, total, spe, warmup

        def __call__(self, step):
            return lr_at(self.name, step, lr=self.lr, total=self.total, spe=self.spe,
                         xp=keras.ops, warmup=self.warmup)

        def get_config(self):
            return {"name": self.name, "lr": self.lr, "total": self.total, "spe": self.spe,
                    "warmup": self.warmup}

    return WorkbenchSchedule


def keras_schedule(cfg: ScheduleSettings, steps_per_epoch: int) -> Any:
    """The Keras learning rate for ``cfg``: a float for constant/plateau, else a schedule."""
    if cfg.lr_schedule in ("constant", "plateau") and cfg.warmup_epochs == 0:
        return cfg.lr
    return schedule_class()(cfg.lr_schedule, cfg.lr, steps_per_epoch * cfg.epochs,
                           steps_per_epoch, cfg.warmup_epochs * steps_per_epoch)


def steps_per_epoch(cfg: ScheduleSettings, n_train: int) -> int:
    """Optimizer updates per epoch for ``n_train`` training samples (after clamping)."""
    b = effective_batch_size(cfg.batch_size, n_train)
    return max(math.ceil(n_train / b), 1)


def effective_batch_size(batch_size: int, n_train: int) -> int:
    """0 means full batch; a batch larger than the training set is clamped to it."""
    return n_train if batch_size == 0 or batch_size > n_train else batch_size


def train_size(cfg: ScheduleSettings, n_train_total: int) -> int:
    """Training samples after ``max_train_samples`` and the validation split."""
    n = min(n_train_total, cfg.max_train_samples or n_train_total)
    n_val = round(n * cfg.validation_split)
    return n - n_val


def schedule_preview(cfg: ScheduleSettings, n_train: int | None = None) -> Any:
    """The learning rate at every optimizer step of ``cfg``'s run, as data, without training.

    ``n_train`` defaults to the registered data set's size (after the validation split and
    ``max_train_samples``). Returns a DataFrame with columns ``step``, ``epoch`` (fractional)
    and ``lr``. It uses numpy only, so it is instant and does not load TensorFlow.

    Example:
        >>> import workbench as wb
        >>> cfg = wb.ExperimentConfig(lr_schedule="one_cycle", epochs=3, learning_rate=0.1)
        >>> p = wb.schedule_preview(cfg)
        >>> round(float(p.lr.max()), 3), len(p) == 3 * 41
        (0.1, True)
    """
    import pandas as pd

    from workbench.data import DATASETS
    from workbench.data.sources import ARRAYS, load_for

    if n_train is None:
        if cfg.dataset == ARRAYS:
            from workbench.exceptions import ConfigError

            raise ConfigError("n_train", None, "the training-set size: a config on in-memory "
                              "arrays (dataset='arrays') does not know it")
        known = DATASETS[cfg.dataset].n_train if cfg.dataset in DATASETS else None
        n_train = train_size(cfg, known if known is not None else load_for(cfg).info.n_train)
    spe = steps_per_epoch(cfg, n_train)
    total = spe * cfg.epochs
    steps = np.arange(total, dtype="float64")
    lr = lr_at(cfg.lr_schedule, steps, lr=cfg.lr, total=total, spe=spe,
               warmup=cfg.warmup_epochs * spe)
    return pd.DataFrame({"step": steps.astype(int), "epoch": steps / spe,
                         "lr": np.broadcast_to(lr, steps.shape).astype("float64")})
