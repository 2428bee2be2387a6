"""How fit executes (XLA, several steps per call) without changing what it computes (keras)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

import workbench as wb
from tests.conftest import ROOT
from workbench.callbacks.step_log import StepLog
from workbench.training.execution import Execution, resolve

pytestmark = pytest.mark.keras

TINY = dict(dataset="digits", model="mlp", hidden_units=[16], epochs=2, max_train_samples=300)


def _fit_events(steps_per_execution: int, jit: bool = False,
                batch_rate: float | None = None) -> tuple[list, list]:
    from workbench._tf import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6)).astype("float32")  # 150 = 4 batches of 32 + one of 22
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(2)])
    m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"], steps_per_execution=steps_per_execution, jit_compile=jit)
    sink = wb.sinks.MemorySink()
    m.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False,
          callbacks=[wb.callbacks.MetricStream(sinks=[sink], batch_rate=batch_rate,
                                               batch_size=32, num_samples=150)])
    return sink.of_type("batch"), sink.of_type("epoch")


def test_chunked_steps_give_every_batch_its_exact_loss():
    """Four steps per call (the epoch's last call runs one): the batch events are the very
    events of one step per call, and their sample-weighted mean is Keras's epoch loss."""
    one, one_epochs = _fit_events(1)
    four, four_epochs = _fit_events(4)
    keys = ("step", "epoch", "batch", "loss", "accuracy", "lr")
    assert [[e[k] for k in keys] for e in four] == [[e[k] for k in keys] for e in one]
    assert [e["batch"] for e in four] == [0, 1, 2, 3, 4] * 3
    sizes = np.array([32, 32, 32, 32, 22])
    for epoch in range(3):
        losses = np.array([e["loss"] for e in four if e["epoch"] == epoch])
        assert np.sum(losses * sizes) / 150 == pytest.approx(four_epochs[epoch]["loss"],
                                                            rel=1e-5)
        assert losses.std() > 0  # batch values, not the running mean repeated
    assert [e["loss"] for e in four_epochs] == [e["loss"] for e in one_epochs]


def test_throttled_batch_events_skip_reads_and_stay_exact(monkeypatch):
    """Throttled, the stream reads no step log for a call it sends nothing for; the batch
    it sends after skipped calls (a one-step tail call too) has its exact value."""
    from workbench.callbacks import metric_stream

    every, every_epochs = _fit_events(1)
    clock = iter(range(10**6))  # one tick per call; batch_rate 0.5: every other call sends
    monkeypatch.setattr(metric_stream, "time", SimpleNamespace(
        monotonic=lambda: float(next(clock)), time=time.time, perf_counter=time.perf_counter))
    reads = []
    drain = StepLog.drain
    monkeypatch.setattr(StepLog, "drain", lambda self: reads.append(1) or drain(self))
    sent, sent_epochs = _fit_events(2, batch_rate=0.5)  # an epoch's calls: 0-1, 2-3, 4
    keys = ("step", "epoch", "batch", "loss", "accuracy", "lr")
    exact = {e["step"]: [e[k] for k in keys] for e in every}
    assert [e["step"] for e in sent] == [2, 5, 9, 12, 15]  # calls 1, 3, 5, 7, 9 of 9
    assert [[e[k] for k in keys] for e in sent] == [exact[e["step"]] for e in sent]
    assert len(reads) == len(sent)  # one read per call sent, none for the four skipped
    assert [e["step"] for e in sent_epochs] == [e["step"] for e in every_epochs]


def test_a_second_fit_reuses_the_compiled_steps():
    from workbench._tf import keras

    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    m.compile("sgd", "mse", steps_per_execution=2)
    sink = wb.sinks.MemorySink()
    x, y = np.ones((8, 3)), np.ones((8, 2))
    m.fit(x, y, batch_size=2, verbose=0, callbacks=[wb.callbacks.MetricStream([sink])])
    fn = m.train_function
    m.fit(x, y, batch_size=2, verbose=0,
          callbacks=[wb.callbacks.MetricStream([sink], batch_rate=None)])
    assert m.train_function is fn  # not traced again
    assert [e["batch"] for e in sink.of_type("batch")][-4:] == [0, 1, 2, 3]
    m.fit(x, y, batch_size=2, verbose=0)  # without a stream: the recorder is harmless
    m.fit(x, y, batch_size=2, verbose=0,
          callbacks=[wb.callbacks.MetricStream([sink], batch_rate=None)])
    assert [e["batch"] for e in sink.of_type("batch")][-4:] == [0, 1, 2, 3]


def test_auto_settings_follow_the_model_and_the_batch():
    from workbench._tf import keras

    cfg = wb.ExperimentConfig(epochs=20)
    dense = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    conv = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                             keras.layers.Flatten(), keras.layers.Dense(10)])
    assert resolve(cfg, dense, batch_size=128, steps_per_epoch=469) == Execution(True, 16)
    # a short run would not pay back the ~1.5 s of XLA compilation
    assert resolve(cfg.replace(epochs=3), dense, batch_size=128,
                   steps_per_epoch=469) == Execution(False, 16)
    assert resolve(cfg, conv, batch_size=128, steps_per_epoch=469) == Execution(False, 16)
    assert resolve(cfg, dense, batch_size=1, steps_per_epoch=1000).steps_per_execution == 64
    assert resolve(cfg, dense, batch_size=1, steps_per_epoch=20).steps_per_execution == 20
    assert resolve(cfg, dense, batch_size=1437, steps_per_epoch=1).steps_per_execution == 1
    assert resolve(cfg, dense, batch_size=32, steps_per_epoch=100,
                   prune_steps=300).steps_per_execution == 6  # 50 mask updates
    assert resolve(cfg, dense, batch_size=32, steps_per_epoch=100,
                   distributed=True) == Execution(False, 1)

    class EveryBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert resolve(cfg, dense, batch_size=32, steps_per_epoch=100,
                   user_callbacks=[EveryBatch()]).steps_per_execution == 1
    assert resolve(cfg, dense, batch_size=32, steps_per_epoch=100,
                   user_callbacks=[keras.callbacks.History()]).steps_per_execution == 64
    mine = cfg.replace(jit_compile="off", steps_per_execution=8)
    assert resolve(mine, dense, batch_size=32, steps_per_epoch=100,
                   user_callbacks=[EveryBatch()]) == Execution(False, 8)


def test_xla_runs_are_deterministic_and_recorded():
    cfg = wb.ExperimentConfig(**TINY, seed=3, jit_compile="on")
    a = wb.run(cfg, store=False, verbose=False)
    b = wb.run(cfg, store=False, verbose=False)
    assert a.metrics["jit_compile"] is True and a.metrics["steps_per_execution"] == 9
    auto = wb.run(cfg.replace(jit_compile="auto"), store=False, verbose=False)
    assert auto.metrics["jit_compile"] is False  # 540 samples: not worth compiling
    cols = ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert a.history[cols].equals(b.history[cols])
    assert a.metrics["test_accuracy"] == b.metrics["test_accuracy"]
    # ... and in a fresh process (XLA compiles anew there)
    code = ("import json, workbench as wb\n"
            f"r = wb.run(wb.ExperimentConfig(**{TINY!r}, seed=3, jit_compile='on'), "
            "store=False, verbose=False)\n"
            "print(json.dumps(r.history['loss'].tolist()))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout.splitlines()[-1]) == a.history["loss"].tolist()


def test_steps_per_call_do_not_change_what_is_learned():
    """Same kernels (XLA off), one step per call or eight: the same history, SGD at batch 1
    and full batch included."""
    for batch in (32, 1, 0):
        cfg = wb.ExperimentConfig(**TINY, batch_size=batch, jit_compile="off")
        runs = [wb.run(cfg.replace(steps_per_execution=n), store=False, verbose=False)
                for n in (1, 8)]
        assert runs[0].history["loss"].tolist() == runs[1].history["loss"].tolist(), batch
        assert runs[1].metrics["steps_per_execution"] == (1 if batch == 0 else 8)


def test_stop_latency_is_one_call_counted_in_batches(store):
    """A stop asked mid-call acts when the call returns: at most steps_per_execution batches
    later; the panel's Stop arrives from another thread, at any time."""
    stop = threading.Event()
    asked_at = []

    class StopAtFirstBatch:
        def send(self, event):
            if event["type"] == "batch" and not asked_at:
                asked_at.append(event["step"])
                stop.set()

    cfg = wb.ExperimentConfig(**{**TINY, "epochs": 50}, steps_per_execution=4)
    r = wb.run(cfg, store=store, sinks=[StopAtFirstBatch()], stop=stop, verbose=False)
    assert r.status == "stopped"
    ran = r.events[-1]["steps"]
    assert asked_at[0] <= ran <= asked_at[0] + 4

    from workbench._tf import keras

    stop = threading.Event()

    class CallsAfterStop(keras.callbacks.Callback):
        begun = 0

        def on_train_batch_begin(self, batch, logs=None):
            if stop.is_set():
                self.begun += 1

    watch = CallsAfterStop()
    threading.Timer(1.0, stop.set).start()
    r = wb.run(cfg.replace(epochs=2000), store=store, callbacks=[watch], stop=stop,
               verbose=False)
    assert r.status == "stopped" and r.events[-1]["steps"] < 2000 * 9
    assert watch.begun <= 1  # the running call finishes; a new one starts only in a race


def test_pruning_ramp_and_qat_under_several_steps_per_call():
    """The mask ramp updates at the calls' starts and QAT runs inside XLA: the same sparsity,
    and an accuracy close to one step per call (the masks land a few steps later)."""
    cfg = wb.ExperimentConfig(dataset="digits", model="mlp", hidden_units=[64], epochs=4,
                              prune_ratio=0.8, quant_bits=4, quant_mode="qat", jit_compile="on")
    one, nine = (wb.run(cfg.replace(steps_per_execution=n), store=False, verbose=False)
                 for n in (1, 9))
    for r in (one, nine):
        assert r.status == "completed" and r.metrics["jit_compile"] is True
        assert r.metrics["sparsity"] == pytest.approx(0.8, abs=0.01)
        assert r.metrics["bits"] == 4 and r.metrics["test_accuracy"] > 0.7
    assert nine.metrics["steps_per_execution"] == 9
    assert abs(nine.metrics["test_accuracy"] - one.metrics["test_accuracy"]) < 0.05


def _tiny_model(spe: int):
    from workbench._tf import keras

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(2)])
    m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"], steps_per_execution=spe, jit_compile=False)
    return m


def test_the_in_memory_fit_computes_what_keras_fit_computes():
    """Same batches in the same order, same kernels: fit_arrays (the data on the device, each
    call's steps in one graph) gives Keras's weights and logs to the last bit, and calls the
    callbacks as fit does, once per call."""
    from workbench._tf import keras
    from workbench.training.loop import fit_arrays

    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6)).astype("float32")  # 4 batches of 32 and one of 22
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    val = (x[:40], y[:40])

    class Calls(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_batch_begin(self, batch, logs=None):
            self.calls.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append(("end", batch))

    keras_model, ours = _tiny_model(4), _tiny_model(4)
    seen_keras, seen_ours = Calls(), Calls()
    h_keras = keras_model.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False,
                              validation_data=val, callbacks=[seen_keras])
    h_ours = fit_arrays(ours, x, y, batch_size=32, epochs=3, shuffle=False,
                        validation_data=val, callbacks=[seen_ours])
    assert h_ours.history == h_keras.history
    for a, b in zip(ours.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(ours.optimizer.iterations) == 15
    # per epoch: a call of 4 steps, then the last one; Keras numbers it as if full (7)
    assert seen_ours.calls == [("begin", 0), ("end", 3), ("begin", 4), ("end", 4)] * 3
    assert seen_keras.calls == [("begin", 0), ("end", 3), ("begin", 4), ("end", 7)] * 3
    # one trace serves the full calls and the tail batch; a second fit, on other data with
    # another batch size and tail, runs that same trace
    fn = vars(ours)["_wb_fit_steps"][1]
    assert fn.experimental_get_tracing_count() == 1
    fit_arrays(ours, x[:100], y[:100], batch_size=24, epochs=1)
    assert fn.experimental_get_tracing_count() == 1


def test_in_memory_batches_are_seeded_and_average_to_the_epoch_loss():
    """Shuffled batches under XLA, several steps per call, a tail batch of 22: every batch
    event carries that batch's exact loss (they average to the epoch's loss), and the same
    seed draws the same batches."""
    from workbench.training.loop import fit_arrays

    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")

    def fit(seed: int) -> tuple[list, list]:
        m = _tiny_model(4)
        m._jit_compile = True
        sink = wb.sinks.MemorySink()
        stream = wb.callbacks.MetricStream([sink], batch_rate=None, batch_size=32,
                                           num_samples=150)
        h = fit_arrays(m, x, y, batch_size=32, epochs=3, seed=seed, callbacks=[stream])
        return h.history["loss"], sink.of_type("batch")

    (loss, batches), (again, _), (other, _) = fit(0), fit(0), fit(1)
    assert loss == again and loss != other
    assert [e["batch"] for e in batches] == [0, 1, 2, 3, 4] * 3
    sizes = np.array([32, 32, 32, 32, 22])
    for epoch in range(3):
        losses = np.array([e["loss"] for e in batches if e["epoch"] == epoch])
        assert np.sum(losses * sizes) / 150 == pytest.approx(loss[epoch], rel=1e-5)
        assert losses.std() > 0
