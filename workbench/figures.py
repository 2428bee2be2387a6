"""Pure plotly figure builders from metric events or DataFrames.

Each builder first extracts plain data (``*_data`` functions, testable without plotly), then
draws it. The same builders serve the live ``wb.widgets.LivePlot``, static reports and tests.
Non-finite values are drawn as gaps and marked with an ``x`` where they occur.

Example:
    >>> import workbench as wb
    >>> events = [{"type": "epoch", "epoch": 1, "step": 10, "loss": 1.0, "val_loss": 1.2},
    ...           {"type": "epoch", "epoch": 2, "step": 20, "loss": 0.5, "val_loss": 0.7}]
    >>> fig = wb.figures.training_curves(events, "loss")
    >>> [t.name for t in fig.data]
    ['train loss', 'validation loss']
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from workbench.metrics import SIZE_KEYS

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


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


def overlay(runs: Mapping[str, Any], metric: str = "loss", validation: bool = True,
            title: str | None = None) -> Any:
    """Several runs' epoch curves of one metric on one chart (one colour per run).

    ``runs`` maps a label to events, a RunResult or a history DataFrame.

    Example:
        >>> import pandas as pd, workbench as wb
        >>> h = pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]})
        >>> len(wb.figures.overlay({"a": h, "b": h}).data)
        2
    """
    go = _go()
    fig = go.Figure()
    for i, (label, src) in enumerate(runs.items()):
        d = curve_data(src, metric)
        epochs = np.array([_num(e.get("epoch")) for e in _events(src)
                           if e.get("type") == "epoch"])
        d = d._replace(epoch_x=epochs) if len(epochs) == len(d.epoch_x) else d
        color = PALETTE[i % len(PALETTE)]
        x, y, _ = _gaps(d.epoch_x, d.train_y)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"{label}",
                                 line={"color": color, "width": 2}, legendgroup=label))
        if validation and d.val_y is not None:
            x, y, _ = _gaps(d.epoch_x, d.val_y)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{label} (validation)",
                                     line={"color": color, "width": 2, "dash": "dash"},
                                     legendgroup=label, showlegend=False))
    fig.update_layout(title=title or f"{metric.replace('_', ' ')} by run",
                      xaxis_title="epoch", yaxis_title=_title(metric), template="plotly_white",
                      height=380)
    return fig


def metric_vs_param(table: Any, param: str, metric: str = "test_accuracy", *,
                    group: str | None = None, label: str | None = None,
                    title: str | None = None) -> Any:
    """A metric against one swept parameter: a line per ``group`` value (e.g. quantization
    mode), markers at each run; numeric parameters on a numeric axis, others as categories.

    ``table`` is a DataFrame with a row per run (a notebook's table, ``store.table()`` or a
    sweep's ``results.csv``); ``label`` names the column shown on hover; ``title=""`` draws
    none (the default says what is plotted).

    Example:
        >>> import pandas as pd, workbench as wb
        >>> t = pd.DataFrame({"prune_ratio": [0, 0.5, 0.9], "test_accuracy": [0.97, 0.96, 0.9]})
        >>> fig = wb.figures.metric_vs_param(t, "prune_ratio")
        >>> fig.layout.xaxis.title.text, fig.layout.yaxis.title.text
        ('Pruning ratio (fraction of weights)', 'Test accuracy (%)')
    """
    go = _go()
    numeric = bool(len(table)) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                       for v in table[param])
    groups = ([(None, table)] if group is None else
              [(g, table[table[group] == g]) for g in dict.fromkeys(table[group])])
    fig = go.Figure()
    for i, (g, part) in enumerate(groups):
        part = part.sort_values(param) if numeric else part
        x = part[param] if numeric else part[param].map(lambda v: html.escape(str(v)))
        text = part[label].map(lambda v: html.escape(str(v))) if label else None
        fig.add_trace(go.Scatter(
            x=x, y=part[metric], mode="lines+markers" if numeric else "markers",
            name=html.escape(str(g)) if g is not None else _title(metric), text=text,
            marker={"size": 9, "color": PALETTE[i % len(PALETTE)]},
            hovertemplate=("%{text}<br>" if label else "") + "%{x}: %{y:.4g}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=340, showlegend=group is not None,
                      title=(f"{_title(metric)} against {_title(param)}" if title is None
                             else title),
                      xaxis_title=_title(param), yaxis_title=_title(metric),
                      xaxis_type=None if numeric else "category")
    return fig


def pareto_front(x: Sequence[float], y: Sequence[float], minimize_x: bool = True,
                 maximize_y: bool = True) -> list[int]:
    """Indices of the non-dominated points (smaller x and larger y are better by default).

    Example:
        >>> from workbench.figures import pareto_front
        >>> pareto_front([1, 2, 3, 2], [0.5, 0.9, 0.95, 0.8])
        [0, 1, 2]
    """
    pts = [(float(a) if minimize_x else -float(a), -float(b) if maximize_y else float(b), i)
           for i, (a, b) in enumerate(zip(x, y, strict=True))
           if math.isfinite(float(a)) and math.isfinite(float(b))]
    pts.sort()
    front, best = [], math.inf
    for _a, b, i in pts:
        if b < best:
            front.append(i)
            best = b
    return sorted(front)


def pareto(table: Any, x: str = "size_bytes_float32", y: str = "test_accuracy",
           label: str = "run_id", title: str | None = None, log_x: bool = True,
           name: str | None = None) -> Any:
    """Accuracy against size, one point per distinct result, with the Pareto front highlighted.

    ``table`` is a DataFrame (e.g. ``RunStore.table()``) or a list of dicts. Each point's
    ``customdata`` is its row label, so a click handler can find the run; runs with the same
    ``(x, y)`` (a search that proposed one point twice) are one point whose hover names them
    all. ``name`` is a column of readable run names for the hover (default: the label). Sizes in
    bytes are drawn in KB; the axes are titled with the metrics' labels and units.

    Example:
        >>> import workbench as wb
        >>> rows = [{"run_id": "a", "size_bytes_packed": 2000, "test_accuracy": 0.9},
        ...         {"run_id": "b", "size_bytes_packed": 2000, "test_accuracy": 0.9}]
        >>> fig = wb.figures.pareto(rows, x="size_bytes_packed")
        >>> [list(t.customdata) for t in fig.data], fig.layout.xaxis.title.text
        ([[], ['a']], 'Packed size (KB)')
    """
    import pandas as pd

    from workbench.metrics import spec_of

    go = _go()
    df = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    if df.empty or x not in df or y not in df:
        fig = go.Figure()
        fig.update_layout(title=title or "accuracy vs size (no runs with both values yet)",
                          template="plotly_white")
        return fig
    df = df[[c for c in dict.fromkeys([label, x, y, name or label]) if c in df]].copy()
    df[x] = pd.to_numeric(df[x], errors="coerce")
    df[y] = pd.to_numeric(df[y], errors="coerce")
    df = df.dropna(subset=[x, y]).reset_index(drop=True)
    if label not in df:
        df[label] = [str(i) for i in df.index]
    names = (name if name in df else label)
    df["_hover"] = df[names].map(lambda v: html.escape(str(v)))  # plotly reads hover as HTML
    df = (df.groupby([x, y], sort=False, as_index=False)
          .agg({label: "first", "_hover": lambda v: "<br>".join(v)}))
    xs, ys = spec_of(x), spec_of(y)
    df["_x"], df["_y"] = df[x] * (xs.scale if xs.unit == "KB" else 1), df[y]
    front = pareto_front(df[x].tolist(), df[y].tolist())
    on = df.index.isin(front)
    hover = ("%{hovertext}<br>" + f"{xs.label}: %{{x:.4g}} {xs.unit if xs.unit == 'KB' else ''}"
             f"<br>{ys.label}: %{{y:.4f}}<extra></extra>")
    fig = go.Figure()
    rest = df[~on]
    fig.add_trace(go.Scatter(
        x=rest["_x"].tolist(), y=rest["_y"].tolist(), mode="markers", name="dominated",
        marker={"color": "#b0b0b0", "size": 9}, customdata=rest[label].astype(str).tolist(),
        hovertext=rest["_hover"].tolist(), hovertemplate=hover))
    fdf = df[on].sort_values(x)
    fig.add_trace(go.Scatter(
        x=fdf["_x"].tolist(), y=fdf["_y"].tolist(), mode="lines+markers", name="Pareto front",
        marker={"color": PALETTE[3], "size": 11}, line={"shape": "hv"},
        customdata=fdf[label].astype(str).tolist(), hovertext=fdf["_hover"].tolist(),
        hovertemplate=hover))
    x_title = xs.title if xs.unit == "KB" else xs.label
    fig.update_layout(title=title or f"{ys.label} vs {x_title}", xaxis_title=x_title,
                      yaxis_title=ys.label, template="plotly_white", height=420)
    if log_x:
        fig.update_xaxes(type="log")
    return fig


DASHBOARD_PANELS = ("loss", "accuracy", "learning rate", "model size (KB)")


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


def sensitivity(df: Any, title: str = "per-layer sensitivity") -> Any:
    """Accuracy when one layer alone is pruned (left) or quantized (right), one line per layer:
    the picture of Han et al. 2015, Fig. 5. ``df`` is ``wb.compress.sensitivity``'s table; the
    dotted line is the uncompressed accuracy.

    Example:
        >>> import pandas as pd, workbench as wb
        >>> df = pd.DataFrame({"layer": ["d", "d"], "technique": ["prune", "quantize"],
        ...                    "value": [0.9, 4], "test_accuracy": [0.9, 0.95],
        ...                    "drop": [0.05, 0.0]})
        >>> [t.name for t in wb.figures.sensitivity(df).data]
        ['d', 'd']
    """
    from plotly.subplots import make_subplots

    go = _go()
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        "prune one layer: accuracy vs ratio", "quantize one layer: accuracy vs bits"))
    layers = list(dict.fromkeys(df["layer"])) if len(df) else []
    for i, layer in enumerate(layers):
        color = PALETTE[i % len(PALETTE)]
        for col, technique in ((1, "prune"), (2, "quantize")):
            rows = df[(df["layer"] == layer) & (df["technique"] == technique)].sort_values(
                "value")
            if rows.empty:
                continue
            fig.add_trace(go.Scatter(
                x=rows["value"].tolist(), y=rows["test_accuracy"].tolist(),
                mode="lines+markers", name=str(layer), legendgroup=str(layer),
                showlegend=col == 1,
                line={"color": color},
                hovertemplate=f"{layer}<br>%{{x}}: accuracy %{{y:.4f}}<extra></extra>"),
                row=1, col=col)
    base = df.attrs.get("baseline_accuracy") if hasattr(df, "attrs") else None
    if base is None and len(df):
        base = float((df["test_accuracy"] + df["drop"]).iloc[0])
    if base is not None:
        for col in (1, 2):
            fig.add_hline(y=base, line={"dash": "dot", "color": "#555"}, row=1, col=col)
    fig.update_xaxes(title_text="pruning ratio", row=1, col=1)
    fig.update_xaxes(title_text="bits", autorange="reversed", row=1, col=2)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_layout(title=title, template="plotly_white", height=400,
                      legend={"title": "layer"})
    return fig
