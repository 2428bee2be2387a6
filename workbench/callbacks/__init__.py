"""Keras 3 callbacks of the workbench (public Keras API only; usable with any model).

Importing this package imports Keras (and so TensorFlow): the callback classes subclass
``keras.callbacks.Callback``.

Example:
    >>> import workbench as wb
    >>> stream = wb.callbacks.MetricStream(sinks=[wb.sinks.MemorySink()])
    >>> # model.fit(x, y, callbacks=[stream])
"""

from workbench.callbacks.divergence import DivergenceGuard
from workbench.callbacks.metric_stream import MetricStream
from workbench.callbacks.stop import StopFlag

__all__ = ["DivergenceGuard", "MetricStream", "StopFlag"]
