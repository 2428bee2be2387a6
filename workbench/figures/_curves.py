"""Figures of one run over time: training curves, the learning rate, model size, and the
live dashboard; the shared helpers of :mod:`workbench.figures` (the palette, gaps for
non-finite values). Pure builders: plain data first, then drawing."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from workbench.metrics import SIZE_KEYS

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")

DASHBOARD_PANELS = ("loss", "accuracy", "learning rate", "model size (KB)")


def _go():
    import plotly.graph_objects as go

    return go


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _events(source: Any) -> list[dict[str, Any]]:
    """Accept a list of events, a MemorySink, a RunResult, or an epoch DataFrame."""
    if hasattr(source, "events") and isinstance(source.events, list):
        return source.events
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a history DataFrame
        rows = source.to_dict("records")
        return [{"type": "epoch", **{k: v for k, v in r.items()}} for r in rows]
    return list(source)


class CurveData(NamedTuple):
    """x/y arrays of one metric: faint per-batch points and bold per-epoch points."""

    metric: str
    batch_x: np.ndarray
    batch_y: np.ndarray
    epoch_x: np.ndarray
    train_y: np.ndarray
    val_y: np.ndarray | None
    x_title: str


def curve_data(source: Any, metric: str = "loss") -> CurveData:
    """Extract one metric's curves. x is the optimizer step when known, else the epoch."""
    events = _events(source)
    batches = [e for e in events if e.get("type") == "batch" and metric in e]
    epochs = [e for e in events if e.get("type") == "epoch"]
    use_step = all("step" in e for e in epochs) and (bool(batches) or not epochs or
                                                     any(e.get("step") for e in epochs))
    key = "step" if use_step else "epoch"
    ex = np.array([_num(e.get(key)) for e in epochs])
    ty = np.array([_num(e.get(metric)) for e in epochs])
    vy = None
    if any(f"val_{metric}" in e for e in epochs):
        vy = np.array([_num(e.get(f"val_{metric}")) for e in epochs])
    bx = np.array([_num(e.get("step" if use_step else "progress")) for e in batches])
    by = np.array([_num(e.get(metric)) for e in batches])
    return CurveData(metric, bx, by, ex, ty, vy, "step" if use_step else "epoch")


def _gaps(x: np.ndarray, y: np.ndarray) -> tuple[list[Any], list[Any], np.ndarray]:
    bad = ~np.isfinite(y)
    ys = [None if b else float(v) for v, b in zip(y, bad, strict=True)]
    return [float(v) for v in x], ys, bad


def _nan_marks(go: Any, x: np.ndarray, bad: np.ndarray, y_at: float, name: str) -> Any:
    return go.Scatter(x=x[bad].tolist(), y=[y_at] * int(bad.sum()), mode="markers",
                      marker={"symbol": "x", "color": "crimson", "size": 9},
                      name=f"{name}: NaN/inf", hovertemplate="non-finite value<extra></extra>")


def curve_traces(data: CurveData, color: str = PALETTE[0], label: str = "") -> list[Any]:
    """The traces of one run's metric: faint batches, bold train epochs, dashed validation."""
    go = _go()
    prefix = f"{label} " if label else ""
    traces = []
    if len(data.batch_x):
        x, y, _ = _gaps(data.batch_x, data.batch_y)
        traces.append(go.Scattergl(x=x, y=y, mode="lines", name=f"{prefix}batch {data.metric}",
                                   line={"color": color, "width": 1}, opacity=0.3,
                                   showlegend=False, hoverinfo="skip"))
    x, y, bad = _gaps(data.epoch_x, data.train_y)
    traces.append(go.Scatter(x=x, y=y, mode="lines+markers", name=f"{prefix}train {data.metric}",
                             line={"color": color, "width": 3}))
    finite = [v for v in y if v is not None]
    if bad.any():
        traces.append(_nan_marks(go, data.epoch_x, bad, max(finite, default=0.0),
                                 f"{prefix}train {data.metric}"))
    if data.val_y is not None:
        x, y, bad = _gaps(data.epoch_x, data.val_y)
        traces.append(go.Scatter(x=x, y=y, mode="lines+markers",
                                 name=f"{prefix}validation {data.metric}",
                                 line={"color": color, "width": 3, "dash": "dash"}))
        if bad.any():
            traces.append(_nan_marks(go, data.epoch_x, bad, max(finite, default=0.0),
                                     f"{prefix}validation {data.metric}"))
    return traces


def training_curves(source: Any, metric: str = "loss", title: str | None = None) -> Any:
    """Train (faint per batch, bold per epoch) and validation curves of one metric.

    ``source``: a list of metric events, a MemorySink, a RunResult or a history DataFrame.
    Unknown metric names are plotted the same way.
    """
    go = _go()
    data = curve_data(source, metric)
    fig = go.Figure(curve_traces(data))
    fig.update_layout(title=title or metric.replace("_", " "), xaxis_title=data.x_title,
                      yaxis_title=_title(metric), template="plotly_white", height=360)
    return fig


def lr_data(source: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """(x, lr, x_title) from events (per batch where available) or a schedule preview."""
    if hasattr(source, "columns") and "lr" in getattr(source, "columns", ()):
        xcol = "step" if "step" in source.columns else "epoch"
        return source[xcol].to_numpy(float), source["lr"].to_numpy(float), xcol
    events = _events(source)
    pts = [e for e in events if e.get("type") in ("batch", "epoch") and e.get("lr") is not None
           and "step" in e]
    pts.sort(key=lambda e: e["step"])
    return (np.array([_num(e["step"]) for e in pts]), np.array([_num(e["lr"]) for e in pts]),
            "step")


def lr_curve(source: Any, title: str = "learning rate") -> Any:
    """The learning rate over training (events) or over the planned steps (a preview)."""
    go = _go()
    x, y, xt = lr_data(source)
    fig = go.Figure(go.Scatter(x=x.tolist(), y=y.tolist(), mode="lines", name="lr",
                               line={"color": PALETTE[2], "width": 2}))
    fig.update_layout(title=title, xaxis_title=xt, yaxis_title="learning rate",
                      template="plotly_white", height=300)
    fig.update_yaxes(**lr_axis(y))
    return fig


def lr_axis(lr: Any) -> dict[str, Any]:
    """Axis settings that fit learning rates: a log axis (rates span decades, and a constant
    1e-3 would sit flat on 0 of a linear one), or a linear one from 0 when a rate is 0.

    Example:
        >>> from workbench.figures import lr_axis
        >>> lr_axis([1e-3, 1e-4])["type"]
        'log'
    """
    v = np.asarray(lr, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and (v > 0).all():
        return {"type": "log", "autorange": True, "exponentformat": "power"}
    return {"type": "linear", "autorange": True, "rangemode": "tozero"}


def _title(key: str) -> str:
    from workbench.metrics import title

    return title(key)


def size_data(source: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(x, {series: bytes}) of model size over training, from epoch events.

    Uses the compression telemetry (``size_bytes_packed``...) when present; otherwise the
    float32 size (``params * 4``) from the run_start event, flat over the epochs.
    """
    events = _events(source)
    epochs = [e for e in events if e.get("type") == "epoch"]
    x = np.array([_num(e.get("step", e.get("epoch"))) for e in epochs])
    series = {k: np.array([_num(e.get(k)) for e in epochs]) for k in SIZE_KEYS
              if any(k in e for e in epochs)}
    if not series:
        start = next((e for e in events if e.get("type") == "run_start"), {})
        if "params" in start:
            series["size_bytes_float32"] = np.full(len(x), 4.0 * start["params"])
    return x, series


def size_curve(source: Any, title: str = "model size") -> Any:
    """Model size in bytes over training."""
    go = _go()
    x, series = size_data(source)
    fig = go.Figure([go.Scatter(x=x.tolist(), y=(v / 1000).tolist(), mode="lines+markers",
                                name=k.replace("size_bytes_", ""),
                                line={"color": PALETTE[i + 3]})
                     for i, (k, v) in enumerate(series.items())])
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="size (KB)",
                      template="plotly_white", height=300)
    fig.update_yaxes(rangemode="tozero")
    return fig


def dashboard(source: Any = (), runs: Iterable[tuple[str, Any]] | None = None) -> Any:
    """The 2x2 dashboard (loss, accuracy, learning rate, model size) as a static figure.

    ``source`` is one run's events; ``runs`` gives several ``(label, events)`` to overlay.
    """
    from plotly.subplots import make_subplots

    go = _go()
    fig = make_subplots(rows=2, cols=2, subplot_titles=DASHBOARD_PANELS,
                        horizontal_spacing=0.08, vertical_spacing=0.14)
    runs = list(runs) if runs is not None else [("", source)]
    for i, (label, src) in enumerate(runs):
        color = PALETTE[i % len(PALETTE)]
        for (r, c), metric in (((1, 1), "loss"), ((1, 2), "accuracy")):
            for t in curve_traces(curve_data(src, metric), color, label):
                fig.add_trace(t, row=r, col=c)
        x, y, _ = lr_data(src)
        fig.add_trace(go.Scatter(x=x.tolist(), y=y.tolist(), mode="lines",
                                 name=f"{label} lr".strip(), line={"color": color},
                                 showlegend=False), row=2, col=1)
        x, series = size_data(src)
        for k, v in series.items():
            fig.add_trace(go.Scatter(x=x.tolist(), y=(v / 1000).tolist(), mode="lines+markers",
                                     name=f"{label} {k.replace('size_bytes_', '')}".strip(),
                                     line={"color": color}, showlegend=False), row=2, col=2)
    fig.update_layout(template="plotly_white", height=560, margin={"t": 40, "b": 30},
                      legend={"orientation": "h", "y": -0.08})
    fig.update_yaxes(rangemode="tozero", row=2, col=2)  # a constant size reads as a flat line
    rates = [y for t in fig.data if t.xaxis == "x3" for y in (t.y or ())]
    fig.update_yaxes(**lr_axis(rates if rates else [1e-3]), row=2, col=1)
    return fig
