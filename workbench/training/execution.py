"""How ``fit`` executes: XLA or not, and how many train steps one call from Python runs.

Measured on this project's 2-core CPU (``benchmarks/train_speed.py``): XLA makes dense models'
train steps about 1.5x faster, but makes convolutions 2x slower than TensorFlow's own oneDNN
kernels; and each call from Python into the compiled step costs about 0.5 ms, which is a third
of a LeNet-300-100 step at batch 128 and nearly all of a step at batch 1. So ``auto``:

- compiles with XLA when the run is long enough to pay back the compilation
  (:data:`XLA_MIN_SAMPLES`) and the model has no convolution, on CPU only (with op determinism on,
  XLA is not guaranteed deterministic on GPU) and without a distribution strategy (Keras keeps
  XLA off under ``tf.distribute``);
- runs about :data:`SAMPLES_PER_CALL` samples per call (16 steps at batch 128, 64 at batch 1,
  1 at batch 2048 or full batch), but never more than an epoch, and few enough that a pruning
  ramp still gets its 50 mask updates.

``wb.run`` then trains with :func:`workbench.training.loop.fit_arrays`: the training arrays on
the device and each call's steps in one graph (XLA-compiled when ``jit_compile`` is on), which
removes Keras's per-step ``tf.data`` iterator and dispatch (about 0.4 ms a step here); under a
``tf.distribute`` strategy it keeps Keras's ``fit``.

Neither changes what is learned: XLA CPU kernels are deterministic, so the same config and
seed still give a bit-identical history, and several steps per call give the very numbers of
one step per call. (XLA's numbers differ from the non-XLA ones in the last bits, as any change
of kernels does.) The live charts still see each batch's own loss
(:class:`workbench.callbacks.MetricStream` records every step inside the call).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SAMPLES_PER_CALL = 2048
"""``steps_per_execution=0`` (auto) runs about this many samples per call from Python."""
MAX_STEPS_PER_CALL = 64
"""...and at most this many steps (batch 1): a Stop takes effect within one call."""
MASK_UPDATES = 50
XLA_MIN_SAMPLES = 500_000
"""``auto`` compiles with XLA only for runs training on at least this many samples (epochs x
training set): compiling costs ~1.5 s, which the default 10-epoch digits run (13k samples,
3 s of training) would pay back never; LeNet-300-100 saves ~0.3 s per 60k-sample epoch."""
"""A pruning ramp updates its masks about this often (see ``PruningScheduler``)."""

_CONV_LAYERS = {"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
                "SeparableConv1D", "SeparableConv2D", "Conv1DTranspose", "Conv2DTranspose"}


@dataclass(frozen=True)
class Execution:
    """The resolved execution settings of one run, and why.

    Example:
        >>> from workbench.training.execution import Execution
        >>> Execution(jit_compile=True, steps_per_execution=16).describe()
        'XLA, 16 steps per call'
    """

    jit_compile: bool
    steps_per_execution: int

    def describe(self) -> str:
        steps = self.steps_per_execution
        return (f"{'XLA' if self.jit_compile else 'no XLA'}, {steps} step"
                f"{'s' if steps != 1 else ''} per call")


def has_convolutions(model: Any) -> bool:
    """True when any layer of ``model`` (nested models and compression twins included) is a
    convolution.

    Example:
        >>> import keras
        >>> from workbench.training.execution import has_convolutions
        >>> has_convolutions(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
        False
    """
    return any(_CONV_LAYERS & {cls.__name__ for cls in type(layer).__mro__}
               for layer in model._flatten_layers(include_self=False))


def watches_batches(callbacks: Iterable[Any]) -> bool:
    """True when one of ``callbacks`` overrides a per-batch hook of ``keras.callbacks.Callback``
    (it would see one call per execution instead of one per batch), unless it says it knows
    (a class attribute ``multi_step_aware = True``).

    Example:
        >>> import keras
        >>> from workbench.training.execution import watches_batches
        >>> class Peek(keras.callbacks.Callback):
        ...     def on_train_batch_end(self, batch, logs=None): pass
        >>> watches_batches([Peek()]), watches_batches([keras.callbacks.History()])
        (True, False)
    """
    from workbench._tf import keras

    base = keras.callbacks.Callback
    hooks = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
    return any(getattr(type(cb), h, None) is not getattr(base, h) for cb in callbacks
               for h in hooks if not getattr(cb, "multi_step_aware", False))


def resolve(cfg: Any, model: Any, *, batch_size: int, steps_per_epoch: int,
            user_callbacks: Iterable[Any] = (), prune_steps: int | None = None,
            distributed: bool = False) -> Execution:
    """Resolve ``cfg.jit_compile`` and ``cfg.steps_per_execution`` (``auto``/0) for a model.

    Args:
        cfg: the ExperimentConfig.
        model: the model to be fit (a compression twin or a distiller is fine).
        batch_size: the effective batch size.
        steps_per_epoch: train steps in one epoch.
        user_callbacks: the user's own Keras callbacks; one watching every batch keeps auto at
            one step per call.
        prune_steps: the length of a gradual pruning ramp in steps, if there is one.
        distributed: training under a ``tf.distribute`` strategy other than the default.

    Example:
        >>> import keras, workbench as wb
        >>> from workbench.training.execution import resolve
        >>> net = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
        >>> resolve(wb.ExperimentConfig(epochs=20), net, batch_size=128, steps_per_epoch=469)
        Execution(jit_compile=True, steps_per_execution=16)
        >>> resolve(wb.ExperimentConfig(epochs=2), net, batch_size=128, steps_per_epoch=469)
        Execution(jit_compile=False, steps_per_execution=16)
    """
    if cfg.jit_compile == "auto":
        long_enough = batch_size * steps_per_epoch * cfg.epochs >= XLA_MIN_SAMPLES
        jit = long_enough and not distributed and not _gpus() and not has_convolutions(model)
    else:
        jit = cfg.jit_compile == "on"
    steps = int(cfg.steps_per_execution)
    if steps == 0:
        steps = max(1, min(MAX_STEPS_PER_CALL, SAMPLES_PER_CALL // max(1, batch_size)))
        if watches_batches(user_callbacks) or distributed:
            steps = 1
        if prune_steps:
            steps = min(steps, max(1, prune_steps // MASK_UPDATES))
    return Execution(jit_compile=jit, steps_per_execution=max(1, min(steps, steps_per_epoch)))


def _gpus() -> bool:
    from workbench._tf import tf

    return bool(tf.config.list_logical_devices("GPU"))


def apply(model: Any, execution: Execution) -> None:
    """Set a compiled model's execution settings.

    Keras turns ``jit_compile=True`` off whenever TensorFlow's op determinism is enabled (which
    ``wb.run`` needs for bit-identical histories), because some ops lack deterministic XLA
    kernels on GPU. On CPU, XLA's kernels are deterministic: the setting is made directly.
    """
    model._jit_compile = execution.jit_compile
    model.steps_per_execution = execution.steps_per_execution
    model.train_function = model.test_function = model.predict_function = None


def after_training(model: Any) -> None:
    """Evaluate and predict without XLA from here on, as the saved model will: a model loaded
    from the run's ``model.keras`` (or the what-if engine) then gives the very same outputs."""
    if getattr(model, "_jit_compile", False):
        model._jit_compile = False
        model.test_function = model.predict_function = None
