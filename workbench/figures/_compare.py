"""Figures that compare runs: overlaid curves, a metric against a parameter, the Pareto
front of accuracy against size, per-layer sensitivity. Pure builders, as in
:mod:`workbench.figures`, which re-exports them."""


from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from workbench.figures._curves import (  # the package's shared helpers
    PALETTE,
    _events,
    _gaps,
    _go,
    _num,
    _title,
    curve_data,
)


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
                    error: str | None = None, title: str | None = None) -> Any:
    """A metric against one swept parameter: a line per ``group`` value (e.g. quantization
    mode), markers at each run; numeric parameters on a numeric axis, others as categories.

    ``table`` is a DataFrame with a row per run (a notebook's table, ``store.table()`` or a
    sweep's ``results.csv``); ``label`` names the column shown on hover; ``error`` a column of
    error-bar half-widths (a standard deviation over seeds, see
    :func:`workbench.aggregate.over_seeds`); ``title=""`` draws none (the default says what is
    plotted).

    Example:
        >>> import pandas as pd, workbench as wb
        >>> t = pd.DataFrame({"prune_ratio": [0, 0.5, 0.9], "test_accuracy": [0.97, 0.96, 0.9]})
        >>> fig = wb.figures.metric_vs_param(t, "prune_ratio")
        >>> fig.layout.xaxis.title.text, fig.layout.yaxis.title.text
        ('Pruning ratio (fraction of weights)', 'Test accuracy (%)')
    """
    from workbench.metrics import spec_of

    go = _go()
    scale = spec_of(metric).scale  # the axis is in the metric's unit: % for accuracies
    numeric = bool(len(table)) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                       for v in table[param])
    groups = ([(None, table)] if group is None else
              [(g, table[table[group] == g]) for g in dict.fromkeys(table[group])])
    fig = go.Figure()
    for i, (g, part) in enumerate(groups):
        part = part.sort_values(param) if numeric else part
        x = part[param] if numeric else part[param].map(lambda v: html.escape(str(v)))
        text = part[label].map(lambda v: html.escape(str(v))) if label else None
        bars = ({"type": "data", "array": (part[error].fillna(0) * scale).tolist(),
                 "visible": True} if error else None)
        fig.add_trace(go.Scatter(
            x=x, y=part[metric] * scale, mode="lines+markers" if numeric else "markers",
            error_y=bars,
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
