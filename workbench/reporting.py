"""``wb.report(dir)``: one self-contained HTML page for a sweep (renders with the network cut).

plotly.js is inlined once, in the first chart; every user-supplied string (run names, parameter
values, errors) is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.exceptions import ConfigError, WorkbenchError

_METRICS = ("test_accuracy", "size_bytes_packed", "compression_ratio", "sparsity", "seconds")
_NAME = "_run_name"  # the column of readable run names (a notebook may have a "name" parameter)
_NOT_PARAMS = {"run", "status", "error", "cell", "seconds", "output_dir"}


def _figure_html(fig: Any, first: bool) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=first, config={"responsive": True})


def report(output_dir: str | Path, title: str | None = None, *, seed: str = "seed",
           rank_within: Sequence[str] | None = None) -> Path:
    """Write ``index.html`` in a sweep folder and return its path.

    The page opens with a summary (the reference accuracy, the best run, the smallest run
    within 1 point of the reference, and the Pareto table of accuracy against packed size),
    then each run's curves overlaid, accuracy against size with the Pareto front, one chart per
    swept parameter, and the table of runs (labels and units; it scrolls inside its box) with
    links to each run's HTML notebook. Runs are named by the parameters that differ between
    them ("prune 0.9 · 4 bit"), their folder on hover.

    When the sweep has a ``seed`` axis (the parameter named by ``seed`` takes several values),
    the page also groups the runs by the other swept parameters: a table of each group's mean
    ± standard deviation over the seeds and its rank, and each parameter's chart as means
    with error bars (:func:`workbench.aggregate.over_seeds`). The ranks are within each value
    of the parameters ``rank_within`` names (None = ``dataset`` when it is swept: accuracies on
    different data sets do not compare); a benchmark with its own problem parameter names it.

    Example:
        >>> import workbench as wb
        >>> wb.report("sweeps/demo")          # doctest: +SKIP
        PosixPath('sweeps/demo/index.html')
    """
    import pandas as pd

    from workbench import figures
    from workbench.naming import run_names
    from workbench.notebooks import collect

    root = Path(output_dir)
    if not root.is_dir():
        raise WorkbenchError(f"report: {str(output_dir)!r} is not a folder")
    df = collect(root)
    if df.empty:
        raise WorkbenchError(f"report: no runs in {str(output_dir)!r} (expected sub-folders "
                             f"with params.json, as written by wb.sweep)")
    title = title or f"Sweep report: {root.name}"
    swept = _swept(root)
    params = [c for c in df.columns if c not in _NOT_PARAMS and c not in _METRICS
              and not c.startswith(("size_", "tflite_", "baseline_", "packed_"))
              and c in swept]
    df[_NAME] = run_names([{p: _value(r[p]) for p in params} for _, r in df.iterrows()],
                           params, fallback=df["run"].astype(str).tolist())
    charts: list[tuple[str, Any]] = []
    done = df[df["status"] == "completed"]
    if "test_accuracy" in done and done["test_accuracy"].notna().any():
        x = "size_bytes_packed" if "size_bytes_packed" in done else None
        if x is not None and done[x].notna().any():
            fig = figures.pareto(done, x=x, y="test_accuracy", label="run", name=_NAME)
            _add_reference(fig, done)
            charts.append(("Accuracy against size (Pareto front highlighted)", fig))
        seeded = seed in params and len(done)
        groups = [p for p in params if p != seed]
        for p in groups if seeded else params:
            charts.append((f"{title_of(p)} against test accuracy" + (
                f" (mean ± std over {title_of(seed).lower()}s)" if seeded else ""),
                _mean_chart(done, p, groups, seed) if seeded else
                figures.metric_vs_param(done, p, label=_NAME, title="")))
    histories = {}
    for run, name in zip(done["run"], done[_NAME], strict=True):
        h = root / run / "history.csv"
        if h.exists():
            histories[html.escape(name)] = pd.read_csv(h)
    if histories:
        metric = "val_accuracy" if all("val_accuracy" in h for h in histories.values()) \
            else "accuracy"
        charts.insert(0, (f"{title_of(metric)} by epoch, every run",
                          figures.overlay(histories, metric, validation=False)))
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(df)} runs: {int((df.status == 'completed').sum())} completed, "
             f"{int((df.status != 'completed').sum())} not.</p>", _summary(done)]
    if seed in params and len(done):
        groups = [p for p in params if p != seed]
        within = [p for p in groups if p == "dataset"] if rank_within is None else \
            list(rank_within)
        for name in within:
            if name not in groups:
                raise ConfigError("rank_within", name, "a swept parameter other than "
                                  f"{seed!r}: " + ", ".join(groups))
        parts.append(_seed_table(done, groups, seed, within))
    for i, (caption, fig) in enumerate(charts):
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(_figure_html(fig, first=i == 0))
    parts.append("<h2>Runs</h2>")
    parts.append(_table(df, root))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body>" + "\n".join(parts) + "</body></html>")
    out = root / "index.html"
    out.write_text(page, encoding="utf-8")
    return out


_CSS = ("body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1200px;"
        "padding:0 16px;color:#222}h1{font-size:26px}h2{font-size:19px;margin-top:28px}"
        ".scroll{overflow-x:auto;max-width:100%;border:1px solid #e3e3e3;border-radius:6px}"
        "table{border-collapse:collapse;font-size:13px;white-space:nowrap}"
        "td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}"
        "th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}"
        ".summary{border:1px solid #ccc;border-radius:6px;padding:8px 16px;"
        "background:#fafafa}")
_SHOWN = ("test_accuracy", "size_bytes_packed", "compression_ratio", "sparsity", "bits",
          "baseline_accuracy", "one_shot_accuracy", "packed_accuracy", "seconds")


def title_of(key: str) -> str:
    """A column's or an axis's title: the label and unit of a metric or a config field."""
    from workbench.metrics import title

    return title(key)


def _value(v: Any) -> Any:
    """A table cell back to a parameter value (lists are stored as JSON text)."""
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return None if isinstance(v, float) and v != v else v


def _table(df: Any, root: Path) -> str:
    """The runs table: name (folder on hover), the parameters, status and the metrics in
    their units; every value escaped, only our own links are markup."""
    from workbench.metrics import display

    fixed = ("run", _NAME, "status", "error", "cell", "output_dir")
    metric_cols = [c for c in _SHOWN if c in df and df[c].notna().any()]
    param_cols = [c for c in df.columns if c not in fixed and c not in _METRICS
                  and c not in metric_cols and not c.startswith(
                      ("size_", "tflite_", "baseline_", "packed_", "source_", "one_shot_"))]
    head = ["Run", *(title_of(c) for c in param_cols), "Status",
            *(title_of(c) for c in metric_cols), "Notebook"]
    rows = []
    for _, r in df.iterrows():
        cells = [f'<td title="{html.escape(str(r["run"]))}">{html.escape(str(r[_NAME]))}</td>']
        cells += [f"<td>{html.escape(_plain(r[c]))}</td>" for c in param_cols]
        status = html.escape(str(r["status"]))
        if isinstance(r.get("error"), str) and r.get("error"):
            status = f'<span title="{html.escape(r["error"])}">{status}</span>'
        cells.append(f"<td>{status}</td>")
        cells += [f"<td>{html.escape(display(c, r[c]))}</td>" for c in metric_cols]
        link = (f'<a href="{html.escape(str(r["run"]))}/notebook.html">open</a>'
                if (root / str(r["run"]) / "notebook.html").exists() else "")
        cells.append(f"<td>{link}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ("<div class='scroll'><table><thead><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


def _plain(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


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
    fig.add_trace(go.Scatter(x=[size / 1000], y=[acc], mode="markers",  # the axis is in KB
                             name="dense run (float32)",
                             marker={"symbol": "star", "size": 15, "color": "#1f77b4"},
                             hovertemplate=f"dense run: {acc:.4f} at {size / 1000:,.1f} KB"
                             "<extra></extra>"))


def _summary(done: Any) -> str:
    """The page's first box: the reference accuracy (the dense run the sweep compressed, when
    the runs name one as ``baseline_accuracy``; else the best run), the best run, the smallest
    run within 1 point of the reference, and the Pareto table (accuracy against packed size,
    duplicate results merged)."""
    from workbench.figures import pareto_front
    from workbench.metrics import display

    if done.empty or "test_accuracy" not in done or not done["test_accuracy"].notna().any():
        return ""
    best = done.loc[done["test_accuracy"].idxmax()]
    if "baseline_accuracy" in done and done["baseline_accuracy"].notna().any():
        ref, ref_name = float(done["baseline_accuracy"].dropna().iloc[0]), "dense run"
    else:
        ref, ref_name = float(best["test_accuracy"]), "best run"

    def describe(row: Any) -> str:
        size = [f"{display(k, row[k])} {word}" for k, word in
                (("size_bytes_packed", "packed"), ("compression_ratio", "smaller"))
                if _known(row, k)]
        return (f"<b>{html.escape(str(row[_NAME]))}</b>: test accuracy "
                f"{display('test_accuracy', row['test_accuracy'])} "
                f"({100 * (row['test_accuracy'] - ref):+.2f} pt)"
                + (f", {html.escape(', '.join(size))}" if size else ""))

    items = [f"<li>reference ({ref_name}): test accuracy <b>{display('test_accuracy', ref)}"
             f"</b></li>", f"<li>best accuracy: {describe(best)}</li>"]
    table = ""
    if "size_bytes_packed" in done and done["size_bytes_packed"].notna().any():
        close = done[(done["test_accuracy"] >= ref - 0.01) & done["size_bytes_packed"].notna()]
        if len(close):
            items.append("<li>smallest within 1 pt of the reference: "
                         f"{describe(close.loc[close['size_bytes_packed'].idxmin()])}</li>")
        else:
            items.append("<li>no run is within 1 pt of the reference</li>")
        sized = done.dropna(subset=["size_bytes_packed", "test_accuracy"])
        sized = sized.drop_duplicates(subset=["size_bytes_packed", "test_accuracy"])
        front = sized.iloc[pareto_front(sized["size_bytes_packed"].tolist(),
                                        sized["test_accuracy"].tolist())]
        rows = "".join(
            f"<tr><td>{html.escape(str(r[_NAME]))}</td>"
            f"<td>{display('test_accuracy', r['test_accuracy'])}</td>"
            f"<td>{100 * (r['test_accuracy'] - ref):+.2f}</td>"
            f"<td>{display('size_bytes_packed', r['size_bytes_packed'])}</td>"
            f"<td>{display('compression_ratio', r.get('compression_ratio'))}</td></tr>"
            for _, r in front.sort_values("size_bytes_packed").iterrows())
        table = ("<h3>Pareto front (no other run is both smaller and more accurate)</h3>"
                 "<div class='scroll'><table><thead><tr><th>Run</th><th>Test accuracy</th>"
                 "<th>vs reference (pt)</th><th>Packed size</th><th>Compression</th></tr>"
                 f"</thead><tbody>{rows}</tbody></table></div>")
    return ("<div class='summary'><h2 style='margin-top:6px'>Summary</h2>"
            f"<ul>{''.join(items)}</ul>{table}</div>")


def _known(row: Any, key: str) -> bool:
    v = row.get(key)
    return v is not None and v == v


def _swept(root: Path) -> set[str]:
    """Parameter names that take more than one value across the sweep's runs."""
    values: dict[str, set[str]] = {}
    for p in root.glob("*/params.json"):
        for k, v in json.loads(p.read_text()).items():
            values.setdefault(k, set()).add(json.dumps(v, sort_keys=True))
    return {k for k, v in values.items() if len(v) > 1}


def _seed_table(done: Any, groups: list[str], seed: str, within: list[str]) -> str:
    """The runs grouped by the swept settings: mean ± std over the seeds, and each's rank."""
    from workbench.aggregate import over_seeds
    from workbench.metrics import display

    metrics = [m for m in _SHOWN if m in done and done[m].notna().any()]
    agg = over_seeds(done, groups, seed=seed, metrics=metrics, within=within)
    rank = "Rank" + (f" (per {', '.join(title_of(w).lower() for w in within)})" if within else "")
    head = [rank, *(title_of(g) for g in groups), "Seeds", *(title_of(m) for m in metrics)]
    rows = []
    for _, r in agg.iterrows():
        cells = [str(r["rank"]) if "rank" in r and r["rank"] == r["rank"] else ""]
        cells += [_plain(r[g]) for g in groups] + [str(r["seeds"])]
        for m in metrics:
            mean, std = r[f"{m}_mean"], r[f"{m}_std"]
            cells.append(display(m, mean) + (f" ± {display(m, std)}" if std == std else ""))
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    n = int(done[seed].nunique())
    return (f"<h2>Mean ± standard deviation over {n} {html.escape(title_of(seed).lower())}s, "
            "by setting</h2><div class='scroll'><table><thead><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


def _mean_chart(done: Any, param: str, groups: list[str], seed: str) -> Any:
    """Test accuracy against ``param``: the mean over seeds, the standard deviation as bars; a
    line for each combination of the other swept settings."""
    from workbench import figures
    from workbench.aggregate import over_seeds
    from workbench.naming import run_names

    agg = over_seeds(done, groups, seed=seed, metrics=["test_accuracy"])
    others = [g for g in groups if g != param]
    if others:
        rows = [{g: _value(r[g]) for g in others} for _, r in agg.iterrows()]
        agg["_line"] = run_names(rows, others, fallback=[""] * len(agg))
    agg["test_accuracy"] = agg["test_accuracy_mean"]  # drawn in the metric's own unit
    fig = figures.metric_vs_param(agg, param, "test_accuracy", error="test_accuracy_std",
                                  group="_line" if others else None, title="")
    fig.update_layout(yaxis_title=title_of("test_accuracy") + " (mean)")
    return fig
