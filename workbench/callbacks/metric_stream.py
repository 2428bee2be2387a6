"""MetricStream: turn a Keras fit into a stream of metric events for any number of sinks."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from workbench._tf import keras
from workbench.callbacks.step_log import StepLog, distributed, steps_in_call
from workbench.events import Batch, Epoch, Event, RunEnd, RunStart
from workbench.runs import RunStatus


def _lr_of(model: Any, iterations: int | None = None) -> float | None:
    """The optimizer's learning rate now, or (for a schedule) after ``iterations`` steps."""
    opt = getattr(model, "optimizer", None)
    if opt is None:
        return None
    try:
        schedule = getattr(opt, "_learning_rate", None)
        if iterations is not None and isinstance(
                schedule, keras.optimizers.schedules.LearningRateSchedule):
            return float(keras.ops.convert_to_numpy(schedule(iterations)))
        return float(keras.ops.convert_to_numpy(opt.learning_rate))
    except Exception:
        return None


def _iterations(model: Any) -> int:
    opt = getattr(model, "optimizer", None)
    try:
        return int(keras.ops.convert_to_numpy(opt.iterations))
    except Exception:
        return 0


class MetricStream(keras.callbacks.Callback):
    """Emit ``run_start``, throttled ``batch``, ``epoch`` and ``run_end`` events to sinks.

    Batch events carry the *true* loss (and metrics) of that batch: Keras's ``logs`` hold the
    running mean over the epoch, which is undone here (``n_k m_k - n_{k-1} m_{k-1}``). When
    the model runs several steps per call (``steps_per_execution``), every step's logs are
    recorded inside the call (:class:`~workbench.callbacks.step_log.StepLog`), so the values
    stay per batch and exact; they arrive a call at a time. (Under a ``tf.distribute``
    strategy, where the recorder cannot write, a batch event carries its call's mean.)

    By default at most ``batch_rate`` batch events are sent per second (``None`` = every
    batch, ``0`` = none; when throttled, the newest batch of a call is the one sent). Epoch
    events carry every value Keras logs (``loss``, ``accuracy``, ``val_*``...), the learning
    rate, ``epoch_time_s`` and the global ``step``, plus whatever ``extras(model)`` returns
    (the compression telemetry: sparsity, bits, packed bytes).

    A sink that raises is reported once as a warning and dropped; training goes on.

    Example:
        >>> import workbench as wb
        >>> sink = wb.sinks.MemorySink()
        >>> stream = wb.callbacks.MetricStream(sinks=[sink], batch_rate=None)
        >>> # model.fit(x, y, epochs=2, callbacks=[stream]); sink.epochs() -> 2 rows
    """

    multi_step_aware = True  # right with several steps per call (steps_per_execution)

    def __init__(self, sinks: Iterable[Any] = (), *, batch_rate: float | None = 4.0,
                 run_id: str | None = None, batch_size: int | None = None,
                 num_samples: int | None = None,
                 extras: Callable[[Any], dict[str, Any]] | None = None,
                 start_info: dict[str, Any] | None = None, auto_end: bool = True) -> None:
        super().__init__()
        self.sinks = list(sinks)
        for s in self.sinks:
            if not callable(getattr(s, "send", None)):
                raise TypeError(f"sinks must have a send(event) method; got {type(s).__name__}")
        if batch_rate is not None and batch_rate < 0:
            raise ValueError(f"batch_rate must be >= 0 or None, got {batch_rate}")
        self.batch_rate = batch_rate
        self.run_id = run_id
        self.batch_size = batch_size
        self.num_samples = num_samples
        self.extras = extras
        self.start_info = dict(start_info or {})
        self.auto_end = auto_end
        self.status: str | None = None
        self._step = 0
        self._prev: dict[str, float] = {}
        self._last_emit = -math.inf
        self._epoch_start = 0.0
        self._epoch = 0
        self._begin = 0
        self._started = False
        self._steps: StepLog | None = None
        self._skipped = False  # a call went unread since the last batch event (throttled)

    # --- event plumbing ---
    def emit(self, event: Event) -> None:
        """Send one event (adding ``time`` and ``run_id``) to every sink."""
        event.setdefault("time", time.time())
        if self.run_id is not None:
            event.setdefault("run_id", self.run_id)
        for sink in list(self.sinks):
            try:
                sink.send(event)
            except Exception as e:  # a broken sink must never stop training
                self.sinks.remove(sink)
                warnings.warn(f"metric sink {type(sink).__name__} raised {type(e).__name__}: "
                              f"{e}; it was removed and training goes on", RuntimeWarning,
                              stacklevel=2)

    def _samples_seen(self, k: int) -> float:
        if self.batch_size and self.num_samples:
            return float(min(k * self.batch_size, self.num_samples))
        return float(k)

    # --- Keras hooks ---
    def on_train_begin(self, logs=None):
        self._step = 0
        self._started = True
        if int(getattr(self.model, "steps_per_execution", 1) or 1) > 1 and not distributed(
                self.model):
            self._steps = StepLog.attach(self.model)
        info: RunStart = {"type": "run_start", "epochs": self.params.get("epochs"),
                "steps_per_epoch": self.params.get("steps")}
        try:
            info["params"] = int(self.model.count_params())
        except Exception:
            pass
        info.update(self.start_info)
        self.emit(info)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._prev = {}
        self._epoch_start = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = batch

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        throttled = self.batch_rate is not None
        send = not throttled or (self.batch_rate > 0
                                 and now - self._last_emit >= 1.0 / self.batch_rate)
        if self._steps is not None:
            n = steps_in_call(self, self._begin, batch)
            if not send:  # nothing to send: the call's steps are counted, not read
                self._step += n
                self._skipped = True
                return
            rows = self._steps.drain()
            if self._skipped:  # calls went unread: the ring holds the newest steps
                # Only the call's newest batch is sent; its value needs the running means
                # of the step before it, in this call or (a one-step call) the ring's row
                # before (the ring holds steps_per_execution >= 2 steps).
                before = rows[-n - 1] if len(rows) > n and self._begin > 0 else {}
                self._prev = dict(before)
                rows = rows[-n:]
                self._skipped = False
            events = [self._batch_event(self._begin + j, self._begin + j, step_logs)
                      for j, step_logs in enumerate(rows)]
        else:  # one step per call; or, under tf.distribute, the mean of the call's batches
            last = self._begin + steps_in_call(self, self._begin, batch) - 1
            events = [self._batch_event(self._begin, last, logs or {})]
        if not events or not send:
            return
        if throttled:
            events = events[-1:]  # the newest batch of the call
        self._last_emit = now
        events[-1]["lr"] = _lr_of(self.model)
        if len(events) > 1:  # every batch of the call: each one's rate, counted back
            iterations = _iterations(self.model)
            for back, event in enumerate(reversed(events[:-1]), start=1):
                event["lr"] = _lr_of(self.model, iterations - back)
        for event in events:
            self.emit(event)

    def _batch_event(self, first: int, last: int, logs: dict[str, Any]) -> dict[str, Any]:
        """Undo the running mean of the logs after batch ``last`` into the values of batches
        ``first`` to ``last`` (one batch, but for a call whose steps were not recorded)."""
        self._step += last - first + 1
        k = last + 1
        n_k, n_prev = self._samples_seen(k), self._samples_seen(first)
        spe = self.params.get("steps") or 0
        event: Batch = {"type": "batch", "step": self._step, "epoch": self._epoch, "batch": last,
                 "progress": self._epoch + (k / spe if spe else 0.0)}
        for name, mean in logs.items():
            if not isinstance(mean, int | float):
                continue
            prev = self._prev.get(name, 0.0)
            denom = n_k - n_prev
            event[name] = (mean * n_k - prev * n_prev) / denom if denom > 0 else mean
            self._prev[name] = float(mean)
        return event

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        event: Epoch = {"type": "epoch", "epoch": epoch + 1, "step": self._step}
        for name, v in logs.items():
            if isinstance(v, int | float):
                event[name] = float(v)
        event["lr"] = _lr_of(self.model)
        event["epoch_time_s"] = time.perf_counter() - self._epoch_start
        if self.extras is not None:
            try:
                event.update(self.extras(self.model))
            except Exception as e:
                warnings.warn(f"metric extras failed ({type(e).__name__}: {e}); skipped",
                              RuntimeWarning, stacklevel=2)
                self.extras = None
        self.emit(event)

    def on_train_end(self, logs=None):
        self._steps = None  # the model keeps its recorder for its next fit
        if self.auto_end:  # plain model.fit use: nobody else will close the run
            self.end(RunStatus.STOPPED if getattr(self.model, "stop_training", False)
                     else RunStatus.COMPLETED)

    def end(self, status: str, metrics: dict[str, Any] | None = None,
            error: str | None = None) -> None:
        """Emit the ``run_end`` event (once) and close sinks that can be closed.

        ``wb.run`` creates its stream with ``auto_end=False`` and calls this after evaluation,
        so the event carries the final status and test metrics.
        """
        if self.status is not None:
            return
        self.status = status
        event: RunEnd = {"type": "run_end", "status": status, "steps": self._step}
        if metrics:
            event["metrics"] = metrics
        if error:
            event["error"] = error
        self.emit(event)
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    pass
