"""Every step's logs when one call from Python runs several train steps.

With ``steps_per_execution=N``, Keras calls ``on_train_batch_end`` once per N steps, with the
logs of the last one. :class:`StepLog` wraps the model's ``train_step`` so that each step also
writes its scalar logs (the running means Keras keeps) into a small buffer variable inside the
compiled function; after the call, :meth:`StepLog.drain` reads back one dict per step that ran.
The numbers are the very ones a one-step-per-call fit would have logged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_KEYS = 16
"""Scalar logs recorded per step (a fit logs loss, its metrics and a distiller's parts)."""


class StepLog:
    """Record each train step's scalar logs of ``model`` (installed until :meth:`remove`).

    Example:
        >>> import keras, numpy as np
        >>> from workbench.callbacks.step_log import StepLog
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> m.compile("sgd", "mse", steps_per_execution=4)
        >>> log = StepLog.attach(m)
        >>> m.fit(np.ones((8, 3)), np.ones((8, 2)), batch_size=2, epochs=1, verbose=0)
        ... # doctest: +ELLIPSIS
        <keras...History object at ...>
        >>> [sorted(step) for step in log.drain()]
        [['loss'], ['loss'], ['loss'], ['loss']]
        >>> log.remove()
    """

    def __init__(self, model: Any) -> None:
        from workbench._tf import tf

        self.model = model
        self.capacity = int(model.steps_per_execution)
        self.names: list[str] = []
        self._seen = 0.0  # the sequence number of the newest step already drained
        kw = {"trainable": False, "synchronization": tf.VariableSynchronization.ON_WRITE,
              "aggregation": tf.VariableAggregation.ONLY_FIRST_REPLICA}
        with model.distribute_strategy.scope():
            # a ring of rows: the step's logs, then its sequence number (float64: exact to
            # 2**53 steps), so that one read per call returns both
            self._buf = tf.Variable(tf.zeros([self.capacity, MAX_KEYS + 1], tf.float64),
                                    name="wb_step_logs", **kw)
            self._count = tf.Variable(0, dtype=tf.int64, name="wb_step_count", **kw)
        original = model.train_step

        def train_step(data: Any) -> Any:
            logs = original(data)
            names = [k for k, v in logs.items() if tf.is_tensor(v) and v.shape.rank == 0]
            self.names = names[:MAX_KEYS]  # trace time: the keys are static
            if self.names:
                seq = self._count.assign_add(1)
                row = tf.stack([tf.cast(logs[k], tf.float64) for k in self.names])
                row = tf.concat([tf.pad(row, [[0, MAX_KEYS - len(self.names)]]),
                                 tf.cast(seq, tf.float64)[None]], 0)
                at = tf.math.floormod(seq - 1, self.capacity)
                self._buf.scatter_nd_update([[at]], row[None])
            return logs

        self._wrapper = train_step
        object.__setattr__(model, "train_step", train_step)
        object.__setattr__(model, "_wb_step_log", self)
        model.make_train_function(force=True)

    @classmethod
    def attach(cls, model: Any) -> StepLog:
        """The model's recorder, made on the first fit and kept for the next ones: a second
        fit reuses the traced (and XLA-compiled) function instead of tracing it anew."""
        log = vars(model).get("_wb_step_log")
        if (log is not None and log.capacity == int(model.steps_per_execution)
                and vars(model).get("train_step") is log._wrapper
                and model.train_function is not None):
            log._seen = float(log._count.numpy())  # steps of fits without a stream: skipped
            return log
        if log is not None:
            log.remove()
        return cls(model)

    def drain(self) -> list[dict[str, float]]:
        """The logs of each step run since the last drain, oldest first (one read)."""
        buf = self._buf.numpy()
        seq = buf[:, -1]
        new = np.flatnonzero(seq > self._seen)
        if not len(new) or not self.names:
            return []
        new = new[np.argsort(seq[new])]
        self._seen = float(seq[new[-1]])
        k = len(self.names)
        return [dict(zip(self.names, map(float, buf[i, :k]), strict=True)) for i in new]

    def remove(self) -> None:
        """Give the model back its own ``train_step`` (the next fit rebuilds its function)."""
        for name in ("train_step", "_wb_step_log"):
            if name in vars(self.model):
                object.__delattr__(self.model, name)
        self.model.train_function = None


def steps_in_call(callback: Any, begin: int, end: int) -> int:
    """How many train steps the call from ``on_train_batch_begin(begin)`` to
    ``on_train_batch_end(end)`` ran: ``end - begin + 1``, except for an epoch's last call,
    which Keras numbers as if it were full.

    Example:
        >>> from types import SimpleNamespace
        >>> from workbench.callbacks.step_log import steps_in_call
        >>> steps_in_call(SimpleNamespace(params={"steps": 10}), 8, 11)
        2
    """
    total = (getattr(callback, "params", None) or {}).get("steps")
    last = min(end, total - 1) if total else end
    return max(1, last - begin + 1)


def distributed(model: Any) -> bool:
    """True when ``model`` trains under a ``tf.distribute`` strategy other than the default
    (its variables are mirrored: the step recorder cannot scatter into them per replica)."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy is not None and (
        type(strategy).__name__ != "_DefaultDistributionStrategy"
        or strategy.num_replicas_in_sync > 1)
