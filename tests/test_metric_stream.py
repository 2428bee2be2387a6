"""MetricStream and sinks on a real tiny fit (keras tier), plus sink units (fast)."""

from __future__ import annotations

import io
import math
import threading
import warnings

import numpy as np
import pytest

import workbench as wb
from workbench.sinks import ConsoleSink, JSONLSink, MemorySink, read_events


def _tiny_model_and_data(n=200, seed=0):
    from workbench._tf import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(2)])
    m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m, x, y


class AssertingSink:
    """A fake sink that checks the stream's grammar as events arrive."""

    def __init__(self):
        self.events = []

    def send(self, event):
        kinds = [e["type"] for e in self.events]
        if not kinds:
            assert event["type"] == "run_start"
        assert "run_end" not in kinds, "nothing may follow run_end"
        assert isinstance(event["time"], float)
        if event["type"] == "epoch":
            assert event["epoch"] == kinds.count("epoch") + 1
        self.events.append(event)


@pytest.mark.keras
def test_event_stream_of_a_plain_keras_fit():
    m, x, y = _tiny_model_and_data()
    sink = AssertingSink()
    m.fit(x, y, batch_size=32, epochs=3, validation_split=0.2, verbose=0,
          callbacks=[wb.callbacks.MetricStream(sinks=[sink], batch_rate=None)])
    kinds = [e["type"] for e in sink.events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert kinds.count("epoch") == 3 and kinds.count("batch") == 3 * 5
    epoch = [e for e in sink.events if e["type"] == "epoch"][-1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "epoch_time_s",
            "step"} <= set(epoch)
    assert sink.events[-1]["status"] == "completed" and sink.events[0]["steps_per_epoch"] == 5


@pytest.mark.keras
def test_batch_events_carry_the_true_batch_loss():
    """Keras logs a running mean; the sample-weighted mean of our batch losses must equal it."""
    m, x, y = _tiny_model_and_data(n=150)  # 150 = 4 batches of 32 + one of 22
    sink = MemorySink()
    m.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False,
          callbacks=[wb.callbacks.MetricStream(sinks=[sink], batch_rate=None, batch_size=32,
                                               num_samples=150)])
    batches = sink.batches()
    for epoch, logged in zip((0, 1), sink.epochs().loss, strict=True):
        b = batches[batches.epoch == epoch]
        sizes = np.array([32, 32, 32, 32, 22])
        assert np.sum(b.loss.to_numpy() * sizes) / 150 == pytest.approx(logged, rel=1e-4)
        assert b.loss.std() > 0  # not the running mean repeated
    # and a batch loss is a real batch loss: the first batch's equals the first running mean
    assert batches.loss.iloc[0] > 0


@pytest.mark.keras
def test_throttling_limits_batch_events():
    m, x, y = _tiny_model_and_data(n=2000)
    sink = MemorySink()
    m.fit(x, y, batch_size=8, epochs=1, verbose=0,
          callbacks=[wb.callbacks.MetricStream(sinks=[sink], batch_rate=2.0)])
    n = len(sink.of_type("batch"))
    assert 1 <= n < 250 / 4  # 250 batches, at most ~2 events per second


@pytest.mark.keras
def test_failing_sink_is_dropped_with_one_warning():
    m, x, y = _tiny_model_and_data()

    class Broken:
        def send(self, event):
            raise OSError("disk full")

    good = MemorySink()
    with pytest.warns(RuntimeWarning, match="Broken raised OSError: disk full") as rec:
        m.fit(x, y, epochs=2, verbose=0,
              callbacks=[wb.callbacks.MetricStream(sinks=[Broken(), good])])
    assert len([w for w in rec if "Broken" in str(w.message)]) == 1
    assert len(good.of_type("epoch")) == 2


def test_metric_stream_rejects_non_sinks():
    with pytest.raises(TypeError, match="send"):
        wb.callbacks.MetricStream(sinks=[object()])


def test_jsonl_sink_and_follow_across_threads(tmp_path):
    sink = JSONLSink(tmp_path / "events.jsonl")

    def writer():
        for i in range(5):
            sink.send({"type": "epoch", "epoch": i + 1, "loss": math.nan if i == 2 else 1.0})
        sink.send({"type": "run_end", "status": "completed"})
        sink.close()

    t = threading.Thread(target=writer)
    t.start()
    got = list(wb.follow(tmp_path, timeout=10, poll=0.01))
    t.join()
    assert [e["type"] for e in got] == ["epoch"] * 5 + ["run_end"]
    assert got[2]["loss"] is None
    assert len(read_events(tmp_path)) == 6


def test_console_sink_line_per_epoch():
    out = io.StringIO()
    s = ConsoleSink(stream=out, bar=False)
    s.send({"type": "run_start", "epochs": 2})
    s.send({"type": "batch", "loss": 0.5})
    s.send({"type": "epoch", "epoch": 1, "loss": 0.5, "val_loss": math.nan, "lr": 0.1})
    line = out.getvalue().strip()
    assert line.startswith("epoch 1/2") and "val_loss nan" in line and "lr 1.00e-01" in line


def test_console_sink_names_the_settings_a_data_set_recommended():
    out = io.StringIO()
    cfg = wb.ExperimentConfig(dataset="mnist1d", epochs=3)
    ConsoleSink(stream=out, bar=False).send({"type": "run_start", "epochs": 3,
                                             "config": cfg.to_dict(),
                                             "recommended": cfg.recommended})
    assert out.getvalue() == ("mnist1d's recommended settings for the fields left unset: "
                              "batch_size 100, lr_schedule cosine, learning_rate 0.01\n")
    quiet = io.StringIO()
    ConsoleSink(stream=quiet, bar=False).send({"type": "run_start", "epochs": 3,
                                               "recommended": {}})
    assert quiet.getvalue() == ""


@pytest.mark.keras
def test_run_writes_events_that_follow_reads(store):
    with warnings.catch_warnings():
        r = wb.run(wb.ExperimentConfig(epochs=2, max_train_samples=200), store=store,
                   verbose=False)
    events = list(wb.follow(r.run_dir, timeout=5))
    assert events[0]["type"] == "run_start" and events[-1]["type"] == "run_end"
    assert events[-1]["metrics"]["test_accuracy"] == pytest.approx(r.metrics["test_accuracy"])
    assert events[0]["config"]["epochs"] == 2


@pytest.mark.keras
def test_liveplot_with_any_keras_fit():
    """The issue's one-liner: model.fit(..., callbacks=[MetricStream(sinks=[LivePlot()])])."""
    m, x, y = _tiny_model_and_data(n=400)
    plot = wb.widgets.LivePlot(min_interval=0.0)
    m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
          callbacks=[wb.callbacks.MetricStream(sinks=[plot], batch_rate=None)])
    by_name = {t.name: t for t in plot.figure.data}
    assert len(by_name["run loss"].x) == 3 and len(by_name["run val loss"].x) == 3
    assert plot.point_count() > 3 * 19  # every batch of every epoch, plus epoch points
