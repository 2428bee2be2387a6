"""Figure builders on fixed data, and the LivePlot sink (fast tier: plotly, no TensorFlow)."""

from __future__ import annotations

import math
import threading

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.figures import curve_data, pareto_front
from workbench.widgets.liveplot import BoundedSeries

EVENTS = [
    {"type": "run_start", "params": 1000, "epochs": 2, "steps_per_epoch": 3},
    {"type": "batch", "step": 1, "epoch": 0, "loss": 2.0, "accuracy": 0.1, "lr": 0.1},
    {"type": "batch", "step": 3, "epoch": 0, "loss": 1.5, "accuracy": 0.3, "lr": 0.1},
    {"type": "epoch", "epoch": 1, "step": 3, "loss": 1.7, "accuracy": 0.2, "val_loss": 1.6,
     "val_accuracy": 0.25, "lr": 0.1, "my_metric": 3.0},
    {"type": "batch", "step": 5, "epoch": 1, "loss": float("nan"), "accuracy": 0.4, "lr": 0.05},
    {"type": "epoch", "epoch": 2, "step": 6, "loss": float("nan"), "accuracy": 0.4,
     "val_loss": 1.1, "val_accuracy": 0.5, "lr": 0.05, "my_metric": 2.0},
    {"type": "run_end", "status": "diverged"},
]


def test_training_curves_trace_counts_and_nan_marks():
    fig = wb.figures.training_curves(EVENTS, "loss")
    names = [t.name for t in fig.data]
    assert names == ["batch loss", "train loss", "train loss: NaN/inf", "validation loss"]
    assert list(fig.data[1].y) == [1.7, None]  # NaN drawn as a gap...
    assert list(fig.data[2].x) == [6.0]  # ...and marked where it happened
    assert list(fig.data[0].x) == [1.0, 3.0, 5.0]


def test_unknown_metric_is_plotted_generically():
    fig = wb.figures.training_curves(EVENTS, "my_metric")
    assert [t.name for t in fig.data] == ["train my_metric"]
    assert list(fig.data[0].y) == [3.0, 2.0]


def test_history_dataframe_source_uses_steps():
    h = pd.DataFrame({"epoch": [1, 2, 3], "step": [10, 20, 30], "loss": [3.0, 2.0, 1.0]})
    d = curve_data(h, "loss")
    assert d.x_title == "step" and d.epoch_x.tolist() == [10, 20, 30] and d.val_y is None


def test_lr_and_size_curves():
    fig = wb.figures.lr_curve(EVENTS)
    assert list(fig.data[0].x) == [1, 3, 3, 5, 6] and fig.data[0].y[-1] == 0.05
    assert fig.layout.yaxis.type == "log"  # a constant 1e-3 is not a flat line on 0
    preview = wb.schedule_preview(wb.ExperimentConfig(lr_schedule="cosine", epochs=2))
    assert len(wb.figures.lr_curve(preview).data[0].x) == len(preview)
    size = wb.figures.size_curve(EVENTS)
    assert list(size.data[0].y) == [4.0, 4.0] and size.data[0].name == "float32"  # KB
    assert size.layout.yaxis.title.text == "size (KB)"
    packed = [dict(e, size_bytes_packed=100.0 * e["epoch"]) if e["type"] == "epoch" else e
              for e in EVENTS]
    assert [t.name for t in wb.figures.size_curve(packed).data] == ["packed"]


def test_overlay_one_colour_per_run():
    h1 = pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})
    h2 = pd.DataFrame({"epoch": [1, 2], "loss": [2.0, 1.5]})
    fig = wb.figures.overlay({"adam": h1, "sgd": h2}, "loss")
    assert [t.name for t in fig.data] == ["adam", "adam (validation)", "sgd"]
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color


def test_pareto_front_is_non_dominated():
    rng = np.random.default_rng(0)
    x, y = rng.random(200), rng.random(200)
    front = pareto_front(x, y)
    for i in front:  # nothing is both smaller and more accurate than a front point
        assert not np.any((x < x[i]) & (y > y[i]))
    for j in set(range(200)) - set(front):  # every other point is dominated
        assert np.any((x <= x[j]) & (y >= y[j]) & ((x < x[j]) | (y > y[j])))
    assert pareto_front([1, 1, 2], [0.5, 0.9, 0.9]) == [1]
    assert pareto_front([1, float("nan")], [0.5, 0.9]) == [0]


def test_pareto_figure_highlights_front_and_carries_ids():
    df = pd.DataFrame({"run_id": ["a", "b", "c", "d"], "size": [100, 200, 300, 250],
                       "test_accuracy": [0.8, 0.9, 0.95, 0.85]})
    fig = wb.figures.pareto(df, x="size")
    dominated, front = fig.data
    assert list(front.customdata) == ["a", "b", "c"] and list(dominated.customdata) == ["d"]
    assert fig.layout.xaxis.type == "log"
    empty = wb.figures.pareto(pd.DataFrame(), x="size")
    assert len(empty.data) == 0 and "no runs" in empty.layout.title.text


def test_dashboard_panels():
    fig = wb.figures.dashboard(EVENTS)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["loss", "accuracy", "learning rate", "model size (KB)"]
    two = wb.figures.dashboard(runs=[("a", EVENTS), ("b", EVENTS)])
    assert len(two.data) == 2 * len(fig.data)


def test_bounded_series_keeps_extremes_and_recent_points():
    s = BoundedSeries(cap=500)
    ys = np.sin(np.arange(100_000) / 50.0)
    ys[12345] = 9.0  # a spike long ago
    ys[20000] = math.nan
    for i, v in enumerate(ys):
        s.append(i, float(v))
    assert len(s) <= 500
    assert max(v for v in s.y if math.isfinite(v)) == 9.0
    assert any(math.isnan(v) for v in s.y)
    assert s.x[-100:] == list(range(99_900, 100_000))  # recent points untouched
    assert s.x == sorted(s.x)
    with pytest.raises(ValueError):
        BoundedSeries(cap=4)


def _feed(plot, run_id, steps, start=0):
    for i in range(start + 1, start + steps + 1):
        plot.send({"type": "batch", "run_id": run_id, "step": i, "loss": 1.0 / i,
                   "accuracy": 0.5, "lr": 0.1})


def test_liveplot_overlays_runs_and_stays_bounded():
    plot = wb.widgets.LivePlot(max_points=300, min_interval=60.0)
    for run_id in ("a", "b"):
        plot.send({"type": "run_start", "run_id": run_id, "params": 10})
        _feed(plot, run_id, 5000)
        plot.send({"type": "epoch", "run_id": run_id, "epoch": 1, "step": 5000, "loss": 0.1,
                   "val_loss": float("nan"), "accuracy": 0.9, "val_accuracy": 0.8, "lr": 0.1})
        plot.send({"type": "run_end", "run_id": run_id, "status": "completed"})
    assert len(plot.figure.data) == 16  # 8 traces per run
    assert max(len(t.x) for t in plot.figure.data) <= 300
    assert plot.figure.data[0].line.color != plot.figure.data[8].line.color
    assert math.isnan(plot.figure.data[2].y[0])  # the NaN validation loss is a gap
    static = plot.static_figure()
    assert type(static).__name__ == "Figure" and len(static.data) == 16


def test_liveplot_update_cost_does_not_grow_with_run_length():
    """Point counts, not seconds: the work of an update is bounded by the trace cap."""
    plot = wb.widgets.LivePlot(max_points=1000, min_interval=60.0)
    plot.send({"type": "run_start", "run_id": "r", "params": 10})
    _feed(plot, "r", 1000)
    plot.flush()
    at_1k = sum(len(t.x) for t in plot.figure.data)
    _feed(plot, "r", 99_000, start=1000)
    plot.flush()
    at_100k = sum(len(t.x) for t in plot.figure.data)
    assert at_100k <= 3 * 1000  # batch loss, batch accuracy, lr: each capped
    assert at_100k <= 1.5 * at_1k


def test_liveplot_is_safe_to_feed_from_threads():
    plot = wb.widgets.LivePlot(min_interval=0.005)
    threads = [threading.Thread(target=_feed, args=(plot, f"r{k}", 500)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    plot.flush()
    assert len(plot.figure.data) == 32
    assert sum(len(t.x) for t in plot.figure.data) == plot.point_count() == 4 * 500 * 3
