"""``wb.report(dir)``: one self-contained HTML page for a sweep (renders with the network cut).

plotly.js is inlined once, in the first chart; every user-supplied string (run names, parameter
values, errors) is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from workbench.exceptions import WorkbenchError

_METRICS = ("test_accuracy", "size_bytes_packed", "compression_ratio", "sparsity", "seconds")
_NOT_PARAMS = {"run", "status", "error", "cell", "seconds", "output_dir"}


def _figure_html(fig: Any, first: bool) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=first, config={"responsive": True})


def report(output_dir: str | Path, title: str | None = None) -> Path:
    """Write ``index.html`` in a sweep folder and return its path.

    The page holds the sweep's table, each run's curves overlaid, accuracy against size with
    the Pareto front, one chart per swept parameter against the test accuracy, and links to
    each run's HTML notebook.

    Example:
        >>> import workbench as wb
        >>> wb.report("sweeps/demo")          # doctest: +SKIP
        PosixPath('sweeps/demo/index.html')
    """
    import pandas as pd

    from workbench import figures
    from workbench.notebooks import collect

    root = Path(output_dir)
    if not root.is_dir():
        raise WorkbenchError(f"report: {str(output_dir)!r} is not a folder")
    df = collect(root)
    if df.empty:
        raise WorkbenchError(f"report: no runs in {str(output_dir)!r} (expected sub-folders "
                             f"with params.json, as written by wb.sweep)")
    title = title or f"Sweep report: {root.name}"
    params = [c for c in df.columns if c not in _NOT_PARAMS and c not in _METRICS
              and not c.startswith(("size_", "tflite_", "baseline_", "packed_"))
              and c in _swept(root)]
    charts: list[tuple[str, Any]] = []
    done = df[df["status"] == "completed"]
    label = df["run"].astype(str)
    if "test_accuracy" in done and done["test_accuracy"].notna().any():
        x = "size_bytes_packed" if "size_bytes_packed" in done else None
        if x is not None and done[x].notna().any():
            fig = figures.pareto(done, x=x, y="test_accuracy", label="run")
            _add_reference(fig, done)
            charts.append(("Accuracy against size (Pareto front highlighted)", fig))
        for p in params:
            charts.append((f"{p} against test accuracy", _param_chart(done, p)))
    histories = {}
    for run in done["run"]:
        h = root / run / "history.csv"
        if h.exists():
            histories[_run_label(df, run, params)] = pd.read_csv(h)
    if histories:
        metric = "val_accuracy" if all("val_accuracy" in h for h in histories.values()) \
            else "accuracy"
        charts.insert(0, (f"{metric} by epoch, every run",
                          figures.overlay(histories, metric, validation=False)))
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(df)} runs: {int((df.status == 'completed').sum())} completed, "
             f"{int((df.status != 'completed').sum())} not.</p>", _summary(done, params)]
    for i, (caption, fig) in enumerate(charts):
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(_figure_html(fig, first=i == 0))
    parts.append("<h2>Runs</h2>")
    shown = df.drop(columns=["run"]).astype(object).where(df.drop(columns=["run"]).notna(), "")
    for col in shown.columns:  # escape every value ourselves; only our own links are markup
        shown[col] = [html.escape(f"{v:.4g}" if isinstance(v, float) else str(v))
                      for v in shown[col]]
    shown["notebook"] = [
        f'<a href="{html.escape(run)}/notebook.html">{html.escape(run)}</a>'
        if (root / run / "notebook.html").exists() else "" for run in label]
    parts.append(shown.to_html(index=False, border=0, escape=False))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>body{{font-family:sans-serif;margin:24px;max-width:1200px}}"
            f"table{{border-collapse:collapse;font-size:13px}}td,th{{padding:3px 8px;"
            f"border-bottom:1px solid #ddd;text-align:right}}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
    out = root / "index.html"
    out.write_text(page, encoding="utf-8")
    return out


def _add_reference(fig: Any, done: Any) -> None:
    """The dense run the sweep compressed (``baseline_accuracy`` at ``size_bytes_float32``),
    as a star beside the compressed runs."""
    import plotly.graph_objects as go

    if not {"baseline_accuracy", "size_bytes_float32"} <= set(done.columns):
        return
    ref = done[["baseline_accuracy", "size_bytes_float32"]].dropna()
    if ref.empty:
        return
    acc, size = float(ref.iloc[0, 0]), float(ref.iloc[0, 1])
    fig.add_trace(go.Scatter(x=[size], y=[acc], mode="markers", name="dense run (float32)",
                             marker={"symbol": "star", "size": 15, "color": "#1f77b4"},
                             hovertemplate=f"dense run: {acc:.4f} at {int(size):,} bytes"
                             "<extra></extra>"))


def _summary(done: Any, params: list[str]) -> str:
    """The page's first box: the reference accuracy (the dense run the sweep compressed, when
    the runs name one as ``baseline_accuracy``; else the best run), the best run and the
    smallest run within 1 point of the reference."""
    if done.empty or "test_accuracy" not in done or not done["test_accuracy"].notna().any():
        return ""
    best = done.loc[done["test_accuracy"].idxmax()]
    if "baseline_accuracy" in done and done["baseline_accuracy"].notna().any():
        ref, ref_name = float(done["baseline_accuracy"].dropna().iloc[0]), "dense run"
    else:
        ref, ref_name = float(best["test_accuracy"]), "best run"

    def describe(row: Any) -> str:
        what = ", ".join(f"{p} {row[p]}" for p in params if p in row) or str(row["run"])
        size = (f", {int(row['size_bytes_packed']):,} bytes packed"
                if "size_bytes_packed" in row and row["size_bytes_packed"] == row[
                    "size_bytes_packed"] else "")
        ratio = (f" ({row['compression_ratio']:.1f}x smaller)" if "compression_ratio" in row
                 and row["compression_ratio"] == row["compression_ratio"] else "")
        return (f"<b>{html.escape(what)}</b>: test accuracy {row['test_accuracy']:.4f} "
                f"({100 * (row['test_accuracy'] - ref):+.2f} pt){html.escape(size + ratio)}")

    items = [f"<li>reference ({ref_name}): test accuracy <b>{ref:.4f}</b></li>",
             f"<li>best accuracy: {describe(best)}</li>"]
    if "size_bytes_packed" in done:
        close = done[(done["test_accuracy"] >= ref - 0.01) & done["size_bytes_packed"].notna()]
        if len(close):
            items.append("<li>smallest within 1 pt of the reference: "
                         f"{describe(close.loc[close['size_bytes_packed'].idxmin()])}</li>")
        else:
            items.append("<li>no run is within 1 pt of the reference</li>")
    return ("<div class='summary' style='border:1px solid #ccc;border-radius:6px;"
            "padding:8px 16px;background:#fafafa'><h2 style='margin-top:6px'>Summary</h2>"
            f"<ul>{''.join(items)}</ul></div>")


def _swept(root: Path) -> set[str]:
    """Parameter names that take more than one value across the sweep's runs."""
    values: dict[str, set[str]] = {}
    for p in root.glob("*/params.json"):
        for k, v in json.loads(p.read_text()).items():
            values.setdefault(k, set()).add(json.dumps(v, sort_keys=True))
    return {k for k, v in values.items() if len(v) > 1}


def _run_label(df: Any, run: str, params: list[str]) -> str:
    row = df[df["run"] == run].iloc[0]
    parts = [f"{p}={row[p]}" for p in params if p in row]
    return html.escape(", ".join(parts) or run)


def _param_chart(df: Any, param: str) -> Any:
    import plotly.graph_objects as go

    x = df[param].astype(str).map(html.escape)
    fig = go.Figure(go.Scatter(x=x, y=df["test_accuracy"], mode="markers",
                               marker={"size": 10}, text=df["run"].map(html.escape),
                               hovertemplate="%{text}<br>%{x}: %{y:.4f}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=320, xaxis_title=html.escape(param),
                      yaxis_title="test_accuracy", xaxis_type="category")
    return fig
