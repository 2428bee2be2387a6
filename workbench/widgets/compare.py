"""Compare runs: a table named by what differs, their curves overlaid, and an
accuracy-vs-size Pareto chart; click a point for its config and commands."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Protocol

import ipywidgets as W

from workbench.commands import cli_command, papermill_command
from workbench.config import FIELDS
from workbench.runs import RunResult, RunStore
from workbench.widgets.controls import _STYLE, CHART_WIDTH
from workbench.widgets.jobs import guarded


class Session(Protocol):
    """What the comparison reads from a panel it sits in (a :class:`ControlPanel`)."""

    results: list[RunResult]
    compress_button: W.Button

_TABLE_COLUMNS = ["run_id", "status", "dataset", "model", "optimizer", "lr_schedule",
                  "prune_ratio", "quant_bits", "cluster_k", "test_accuracy",
                  "size_bytes_packed", "compression_ratio", "params", "source_run"]


def _names(df: Any) -> list[str]:
    """Each run named by the config fields that differ between the runs shown ("prune 0.9 ·
    4 bit"); its ``run_name`` when it has one; the id's last part when nothing differs."""
    from workbench.naming import differing, run_names

    fields = [c for c in df.columns if c in FIELDS and c != "run_name"]
    rows = [{c: r[c] for c in fields} for _, r in df.iterrows()]
    ids = [str(i).rsplit("-", 1)[-1] for i in df["run_id"]]
    names = run_names(rows, differing(rows), fallback=ids)
    given = df["run_name"] if "run_name" in df else [None] * len(df)
    return [str(g) if isinstance(g, str) and g else n for g, n in zip(given, names, strict=True)]


def _runs_table(df: Any) -> str:
    """The comparison table: readable names (the id on hover), fields, metrics in units."""
    from workbench.metrics import display, title

    cols = [c for c in _TABLE_COLUMNS if c in df and c != "run_id"]
    head = "".join(f"<th title='{html.escape(c)}'>"
                   f"{html.escape(FIELDS[c].label if c in FIELDS else title(c))}</th>"
                   for c in ["run", *cols])
    body = []
    for _, r in df.iterrows():
        cells = [f"<td title='{html.escape(str(r['run_id']))}'>{html.escape(str(r['name']))}"
                 "</td>"]
        for c in cols:
            v = r[c]
            text = display(c, v) if c not in FIELDS else ("" if v is None or v != v else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table class='wb-runs' style='font-size:12px;border-collapse:collapse;"
            "white-space:nowrap'><thead><tr>" + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


class CompareView:
    """A table of runs, their curves overlaid, and an accuracy-vs-size Pareto chart.

    Click a point to see that run's config with the equivalent ``workbench train`` and
    ``papermill`` commands, and (inside a ControlPanel) load it into the controls.
    """

    def __init__(self, store: RunStore | None = None, session: Session | None = None,
                 load: Any = None) -> None:
        import plotly.graph_objects as go

        self.store = store
        self.session = session
        self.load = load
        self.output = W.Output()  # what a handler raises is shown here, never lost
        self.whole_store = W.Checkbox(value=session is None, description="whole store",
                                      indent=False, disabled=store is None)
        self.whole_store.observe(guarded(self.output, lambda _c: self.refresh()), names="value")
        self.select = W.SelectMultiple(options=[], rows=5, description="overlay runs",
                                       style=_STYLE, layout=W.Layout(width="640px"))
        self.select.observe(guarded(self.output, lambda _c: self._overlay()), names="value")
        self.table_html = W.HTML()
        self.overlay_fig = go.FigureWidget(go.Figure(layout={"height": 320, "width": CHART_WIDTH,
                                                             "template":
                                                             "plotly_white",
                                                             "title": "select runs to overlay"}))
        self.pareto_fig = go.FigureWidget(go.Figure(layout={"height": 360, "width": CHART_WIDTH,
                                                            "template":
                                                            "plotly_white"}))
        self.detail = W.HTML()
        self.load_button = W.Button(description="Load into controls", disabled=True,
                                    icon="upload")
        self.load_button.on_click(guarded(self.output, lambda _b: self._load_selected()))
        self.source_button = W.Button(description="Source run", disabled=True, icon="link",
                                      tooltip="not started from a run")
        self.source_button.on_click(guarded(self.output, lambda _b: self._show_source()))
        self.selected: str | None = None
        self._runs: dict[str, RunResult] = {}
        self._names: dict[str, str] = {}
        self.table_box = W.Box([self.table_html], layout=W.Layout(
            max_height="260px", overflow="auto", width="100%"))
        self.widget = W.VBox([
            W.HTML("<h4>Compare runs</h4>"), self.whole_store, self.table_box,
            self.pareto_fig, W.HBox([self.load_button, self.source_button] if load else
                                    [self.source_button]), self.detail, self.output,
            self.select, self.overlay_fig], layout=W.Layout(width="100%"))
        self.refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def table(self) -> Any:
        """The runs shown, as a DataFrame (session runs, or the whole store)."""
        import pandas as pd

        rows = []
        if self.store is not None and self.whole_store.value:
            df = self.store.table()
            return df.reset_index() if "run_id" not in df else df
        for r in (self.session.results if self.session else []):
            rows.append({"run_id": r.run_id, "status": r.status, **r.config.to_dict(),
                         **r.metrics})
        return pd.DataFrame(rows)

    def refresh(self) -> None:
        """Re-read the runs and redraw the table and the Pareto chart."""
        from workbench.figures import pareto

        df = self.table()
        if self.session is not None:
            self._runs = {r.run_id: r for r in self.session.results}
        if df.empty:
            self.table_html.value = "<i>no runs yet: press Run</i>"
            self.select.options = []
            return
        df = df.assign(name=_names(df))
        self._names = dict(zip(df["run_id"].astype(str), df["name"], strict=True))
        self.table_html.value = _runs_table(df.tail(50))
        self.select.options = list(zip(df["name"], df["run_id"].astype(str), strict=True))
        x = "size_bytes_packed" if "size_bytes_packed" in df and df[
            "size_bytes_packed"].notna().any() else "size_bytes_float32"
        fig = pareto(df, x=x, y="test_accuracy", label="run_id", name="name")
        with self.pareto_fig.batch_update():
            self.pareto_fig.data = []
            for t in fig.data:
                self.pareto_fig.add_trace(t)
            self.pareto_fig.layout = fig.layout
            self.pareto_fig.update_layout(height=380, width=CHART_WIDTH)
            self.pareto_fig.update_xaxes(autorange=True)
            self.pareto_fig.update_yaxes(autorange=True)
        for trace in self.pareto_fig.data:
            trace.on_click(guarded(self.output, self._on_click))

    def _on_click(self, trace: Any, points: Any, _state: Any) -> None:
        if points.point_inds:
            self.show(str(trace.customdata[points.point_inds[0]]))

    def _result(self, run_id: str) -> RunResult | None:
        if run_id in self._runs:
            return self._runs[run_id]
        if self.store is not None and run_id in self.store:
            return self.store.load(run_id)
        return None

    def show(self, run_id: str) -> None:
        """Show one run's config and its equivalent command lines."""
        r = self._result(run_id)
        if r is None:
            self.detail.value = f"<i>run {html.escape(run_id)} not found</i>"
            return
        self.selected = run_id
        self.load_button.disabled = self.load is None
        if self.session is not None:
            self.session.compress_button.disabled = False
        rows = "".join(f"<tr><td>{k}</td><td>{html.escape(str(v))}</td></tr>"
                       for k, v in r.config.to_dict().items())
        source = r.metrics.get("source_run")
        self.source_button.disabled = not (source and self._result(str(source)) is not None)
        self.source_button.tooltip = f"show {source}" if source else "not started from a run"
        lineage = ""
        if source:
            acc, src_acc = r.metrics.get("test_accuracy"), r.metrics.get("source_test_accuracy")
            change = (f": test accuracy {acc:.4f} against the source's {src_acc:.4f}"
                      if isinstance(acc, float) and isinstance(src_acc, float) else "")
            lineage = (f"started from <b>{html.escape(str(source))}</b>"
                       f"{html.escape(change)}<br>")
        self.detail.value = (
            f"<b>{html.escape(run_id)}</b> ({r.status})<br>{lineage}"
            f"<code>{html.escape(cli_command(r.config))}</code><br>"
            f"<code>{html.escape(papermill_command(r.config))}</code>"
            f"<details><summary>config</summary><table>{rows}</table></details>")

    def _show_source(self) -> None:
        r = self._result(self.selected) if self.selected else None
        source = r.metrics.get("source_run") if r is not None else None
        if source:
            self.show(str(source))

    def _load_selected(self) -> None:
        r = self._result(self.selected) if self.selected else None
        if r is not None and self.load is not None:
            self.load(r.config)

    def _overlay(self) -> None:
        from workbench.figures import overlay

        runs = {}
        for run_id in self.select.value:
            r = self._result(run_id)
            if r is not None:
                runs[self._names.get(run_id, run_id)] = r.history
        fig = overlay(runs, "val_accuracy" if all("val_accuracy" in h for h in runs.values())
                      and runs else "accuracy", validation=False)
        with self.overlay_fig.batch_update():
            self.overlay_fig.data = []
            for t in fig.data:
                self.overlay_fig.add_trace(t)
            self.overlay_fig.layout.title = fig.layout.title

    def static_figures(self) -> list[Any]:
        import plotly.graph_objects as go

        return [go.Figure(self.pareto_fig)]


def compare(store: RunStore | str | Path = "runs") -> CompareView:
    """The comparison view (table, overlay, Pareto chart) over a whole run store.

    Example:
        >>> import workbench as wb
        >>> view = wb.widgets.compare("runs")     # doctest: +SKIP
    """
    return CompareView(store if isinstance(store, RunStore) else RunStore(store))
