"""``fit`` for in-memory arrays, with the data on the device and each call's steps in one graph.

Keras's ``fit`` on TensorFlow feeds every train step from a ``tf.data`` iterator, and runs
each step as its own compiled function inside a ``while`` loop, even with
``steps_per_execution=N``. On this project's 2-core CPU that costs about 0.4 ms a step: a
third of a LeNet-300-100 epoch at batch 128, and the whole of its gap to Keras on JAX
(``benchmarks/train_speed.py``). :func:`fit_arrays` does what JAX's trainer does instead:

- the training arrays become tensors once, for the whole fit;
- each call from Python runs up to ``steps_per_execution`` steps in one ``tf.function``
  (XLA-compiled when the model's ``jit_compile`` is on), gathering each batch from those
  tensors by index, so no iterator and no per-step dispatch remain in the loop;
- everything else is Keras's own: the model's ``train_step`` (so a distiller, the pruning
  masks, fake quantization and :class:`~workbench.callbacks.step_log.StepLog` work unchanged),
  the callback protocol of ``fit`` (``on_train_batch_begin(first)`` and
  ``on_train_batch_end(last)`` once per call, with the steps numbered from 0 in each epoch;
  ``last`` is the epoch's last step in its last call, where Keras counts on as if the call
  were full), validation with ``model.evaluate``, and ``model.history``.

Batches are drawn as Keras draws them: a fresh permutation of the training set each epoch
(seeded, so the same seed gives the same batches), full batches, then the remainder as a
smaller last batch. Under a ``tf.distribute`` strategy use Keras's ``fit``: its distributed
iterator splits the batches across replicas.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def fit_arrays(model: Any, x: np.ndarray, y: np.ndarray, *, batch_size: int, epochs: int,
               seed: int = 0, shuffle: bool = True, callbacks: list[Any] | None = None,
               validation_data: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """Train a compiled ``model`` on in-memory ``x, y``, as ``model.fit(x, y, verbose=0)``
    would, but faster (see the module's docstring).

    Args:
        model: a compiled Keras model (default strategy); its ``steps_per_execution`` steps run
            per call from Python, under XLA when its ``jit_compile`` is on.
        x, y: the training arrays (same length).
        batch_size: samples per step; the last batch of an epoch holds the remainder.
        epochs: epochs to train.
        seed: seeds each epoch's shuffle.
        shuffle: draw each epoch's batches from a fresh permutation (else in order).
        callbacks: Keras callbacks, called as ``fit`` calls them.
        validation_data: ``(x_val, y_val)``, evaluated after each epoch as ``val_*`` logs.

    Returns:
        ``model.history`` (a ``keras.callbacks.History``).

    Example:
        >>> import keras, numpy as np
        >>> from workbench.training.loop import fit_arrays
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> m.compile("sgd", "mse", steps_per_execution=4)
        >>> h = fit_arrays(m, np.ones((10, 3)), np.ones((10, 2)), batch_size=4, epochs=2)
        >>> len(h.history["loss"]), int(m.optimizer.iterations)  # 3 steps an epoch: 4, 4, 2
        (2, 6)
    """
    from workbench._tf import keras, tf

    n = len(x)
    steps = -(-n // batch_size)
    per_call = max(1, min(int(model.steps_per_execution), steps))
    cb = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=False,
                                      verbose=0, epochs=epochs, steps=steps, model=model)
    data = (tf.constant(_as_floatx(x)), tf.constant(y))
    model._symbolic_build(data_batch=(data[0][:1], data[1][:1]))  # as fit does, from a batch
    rng = np.random.default_rng(seed)
    full, tail = divmod(n, batch_size)
    model.stop_training = False
    cb.on_train_begin()  # may install a step recorder: the function is looked up after it
    steps_fn = _steps_function(model, *data)

    def run_steps(idx: np.ndarray) -> Any:
        return steps_fn(*data, tf.constant(idx))

    epoch_logs: dict[str, Any] = {}
    for epoch in range(epochs):
        model.reset_metrics()
        cb.on_epoch_begin(epoch)
        order = (rng.permutation(n) if shuffle else np.arange(n)).astype(np.int32)
        logs: dict[str, Any] = {}
        for first in range(0, steps, per_call):
            last = min(first + per_call, steps) - 1
            cb.on_train_batch_begin(first)
            k = min(last + 1, full) - first  # full batches in this call; then the tail
            if k > 0:
                logs = run_steps(order[first * batch_size:(first + k) * batch_size]
                                 .reshape(k, batch_size))
            if tail and last == steps - 1:
                logs = run_steps(order[full * batch_size:][None])
            cb.on_train_batch_end(last, logs)
            if model.stop_training:
                break
        epoch_logs = dict(model._get_metrics_result_or_logs(logs))
        if validation_data is not None:
            val = model.evaluate(*validation_data, batch_size=batch_size, verbose=0,
                                 callbacks=cb, return_dict=True)
            epoch_logs.update({f"val_{name}": v for name, v in val.items()})
        cb.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    if epochs > 0 and isinstance(model.optimizer, keras.optimizers.Optimizer):
        model.optimizer.finalize_variable_values(model.trainable_weights)
    cb.on_train_end(logs=epoch_logs)
    return model.history


def _as_floatx(x: np.ndarray) -> np.ndarray:
    """Floating inputs in Keras's float type, as Keras's array adapter gives them."""
    from workbench._tf import keras

    return x.astype(keras.config.floatx(), copy=False) if np.issubdtype(
        x.dtype, np.floating) else x


def _steps_function(model: Any, x: Any, y: Any) -> Any:
    """``f(x, y, idx)``: one train step of ``model`` per row of ``idx`` (``[k, batch]`` sample
    indices into ``x`` and ``y``) in one graph, returning the last step's logs.

    Traced once, for any number of samples, steps and batch size (the full calls, the
    epoch's short last call and its tail batch share the one graph; shape-specialised traces
    cost 0.3 s of a digits run's first epoch each). Under XLA, each concrete shape is still
    compiled once. Made once per model and kept on it (as Keras keeps its ``train_function``),
    so that a second fit does not trace again; made anew when the model's ``train_step``
    or ``jit_compile`` has changed since.
    """
    from workbench._tf import tf

    def spec(t: Any) -> Any:
        return tf.TensorSpec([None, *t.shape[1:]], t.dtype)

    key = (model.train_step, bool(model.jit_compile))
    cached = vars(model).get("_wb_fit_steps")
    if cached is None or cached[0] != key:
        def steps(x: Any, y: Any, idx: Any) -> Any:
            logs = None  # autograph finds the logs' structure by tracing the loop body once
            for i in tf.range(tf.shape(idx)[0]):
                logs = model.train_step((tf.gather(x, idx[i]), tf.gather(y, idx[i])))
            return logs

        cached = (key, tf.function(steps, jit_compile=key[1]))
        object.__setattr__(model, "_wb_fit_steps", cached)
    # the same specs (feature shape, dtype) find the trace already made
    return cached[1].get_concrete_function(spec(x), spec(y), tf.TensorSpec([None, None], tf.int32))
