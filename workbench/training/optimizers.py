"""The optimizer registry: one entry per name, holding everything the workbench knows about it.

A leaf module (no config, no TensorFlow at import): the config reads its ``optimizer`` choices
and the recommended learning rates from :data:`OPTIMIZERS`, and :func:`build_optimizer` builds
the Keras optimizer an entry describes. Adding an optimizer is one entry here, plus its test.

Example:
    >>> from workbench.training.optimizers import OPTIMIZERS
    >>> OPTIMIZERS["nesterov"].default_lr, OPTIMIZERS["nesterov"].keras_class
    (0.05, 'SGD')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import keras


def _no_options(momentum: float) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class OptimizerInfo:
    """One optimizer: its Keras class, its recommended rate and how the config's fields map.

    ``options(momentum)`` gives the class's extra keyword arguments (SGD's momentum, Nesterov).
    ``adaptive`` marks the optimizers that scale each step by gradient statistics (Adam's
    family): a fine-tune from a trained run raises their rate (see
    :func:`workbench.compress.recipes.fine_tune_config`).

    Example:
        >>> from workbench.training.optimizers import OPTIMIZERS
        >>> OPTIMIZERS["momentum"].options(0.9)
        {'momentum': 0.9}
    """

    name: str
    keras_class: str  # the class's name in keras.optimizers
    default_lr: float  # used when learning_rate is None: a sound starting point
    description: str
    options: Callable[[float], dict[str, Any]] = field(default=_no_options, compare=False)
    adaptive: bool = False


def _entries(*infos: OptimizerInfo) -> dict[str, OptimizerInfo]:
    return {i.name: i for i in infos}


#: Every optimizer the config accepts, in the order controls and help list them.
OPTIMIZERS: dict[str, OptimizerInfo] = _entries(
    OptimizerInfo("sgd", "SGD", 0.1, "plain stochastic gradient descent (no momentum)"),
    OptimizerInfo("momentum", "SGD", 0.05, "SGD with heavy-ball momentum",
                  lambda m: {"momentum": m}),
    OptimizerInfo("nesterov", "SGD", 0.05, "SGD with Nesterov momentum",
                  lambda m: {"momentum": m, "nesterov": True}),
    OptimizerInfo("adagrad", "Adagrad", 0.05, "per-weight rates from the sum of squared "
                  "gradients (Duchi et al. 2011)"),
    OptimizerInfo("adadelta", "Adadelta", 1.0, "AdaGrad with a decaying window (Zeiler 2012)"),
    OptimizerInfo("rmsprop", "RMSprop", 1e-3, "a running mean of squared gradients "
                  "(Hinton 2012)", adaptive=True),
    OptimizerInfo("adam", "Adam", 1e-3, "momentum and RMSprop, bias-corrected (Kingma & Ba "
                  "2015)", adaptive=True),
    OptimizerInfo("adamw", "AdamW", 1e-3, "Adam with decoupled weight decay (0.004 unless "
                  "weight_decay is set)", adaptive=True),
    OptimizerInfo("nadam", "Nadam", 1e-3, "Adam with Nesterov momentum", adaptive=True),
    OptimizerInfo("adamax", "Adamax", 2e-3, "Adam with the infinity norm", adaptive=True),
    OptimizerInfo("lion", "Lion", 1e-4, "the sign of a momentum (Chen et al. 2023)"),
    OptimizerInfo("lamb", "Lamb", 1e-3, "Adam with a per-layer trust ratio, for large "
                  "batches (You et al. 2020)", adaptive=True),
)


class OptimizerSettings(Protocol):
    """What :func:`build_optimizer` reads from a config (an ``ExperimentConfig`` has it all)."""

    optimizer: str
    momentum: float
    weight_decay: float


def build_optimizer(cfg: OptimizerSettings, learning_rate: Any) -> keras.optimizers.Optimizer:
    """Return the Keras optimizer named by ``cfg.optimizer``.

    ``sgd`` is plain SGD (no momentum, whatever ``cfg.momentum`` says); ``momentum`` and
    ``nesterov`` are SGD with ``cfg.momentum``; the adaptive optimizers keep Keras's defaults
    for their other hyper-parameters. ``weight_decay`` is decoupled decay, passed to every
    optimizer when it is not 0 (``adamw`` keeps its own default 0.004 when it is 0).

    Example:
        >>> import workbench as wb
        >>> from workbench.training.optimizers import build_optimizer
        >>> type(build_optimizer(wb.ExperimentConfig(optimizer="nesterov"), 0.1)).__name__
        'SGD'
    """
    from workbench._tf import keras

    info = OPTIMIZERS[cfg.optimizer]
    decay = {"weight_decay": cfg.weight_decay} if cfg.weight_decay else {}
    cls = getattr(keras.optimizers, info.keras_class)
    return cls(learning_rate=learning_rate, **info.options(cfg.momentum), **decay)
