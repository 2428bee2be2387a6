"""Optimizers by name: every one is a Keras built-in, configured from the ExperimentConfig."""

from __future__ import annotations

from typing import Any

from workbench.config import ExperimentConfig


def build_optimizer(cfg: ExperimentConfig, learning_rate: Any) -> Any:
    """Return the Keras optimizer named by ``cfg.optimizer``.

    ``sgd`` is plain SGD (no momentum, whatever ``cfg.momentum`` says); ``momentum`` and
    ``nesterov`` are SGD with ``cfg.momentum``; the adaptive optimizers keep Keras's defaults
    for their other hyper-parameters. ``weight_decay`` is decoupled decay, passed to every
    optimizer (``adamw`` keeps its own default 0.004 when it is 0).

    Example:
        >>> import workbench as wb
        >>> from workbench.training.optimizers import build_optimizer
        >>> type(build_optimizer(wb.ExperimentConfig(optimizer="nesterov"), 0.1)).__name__
        'SGD'
    """
    from workbench._tf import keras

    o = keras.optimizers
    wd = cfg.weight_decay or None
    common: dict[str, Any] = {"learning_rate": learning_rate}
    if wd is not None:
        common["weight_decay"] = wd
    name = cfg.optimizer
    if name == "sgd":
        return o.SGD(**common)
    if name == "momentum":
        return o.SGD(momentum=cfg.momentum, **common)
    if name == "nesterov":
        return o.SGD(momentum=cfg.momentum, nesterov=True, **common)
    if name == "rmsprop":
        return o.RMSprop(**common)
    if name == "adamw" and wd is None:
        return o.AdamW(learning_rate=learning_rate)
    classes = {"adagrad": o.Adagrad, "adadelta": o.Adadelta, "adam": o.Adam, "adamw": o.AdamW,
               "nadam": o.Nadam, "adamax": o.Adamax, "lion": o.Lion}
    return classes[name](**common)
