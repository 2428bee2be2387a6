"""The Compress view: what-if compression of a trained run, then fine-tune or export a point.

Sliders for the pruning ratio, bits, conv bits, clusters and scope (generated from the config
fields). Every change asks the :class:`workbench.compress.WhatIf` engine, which measures the
accuracy and the real ``.wbz`` bytes, and adds the point to an accuracy-vs-size chart beside
the store's trained runs. "Fine-tune this point" trains ``init_from`` the run with those
settings in the background (QAT when bits are set, distilling from the run), with live
charts; "Export" writes the point's artifacts, each measured on its own file; "Sensitivity"
scans the layers one by one.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path
from typing import Any

import ipywidgets as W

from workbench.config import FIELDS
from workbench.widgets.controls import _STYLE, make_control, read_control
from workbench.widgets.jobs import BackgroundJob, guarded

SLIDERS = ("prune_ratio", "quant_bits", "quant_bits_conv", "cluster_k", "prune_scope",
           "quant_granularity")
"""The config fields the view's controls are made from (and the what-if settings)."""
_POINT_KEYS = ("prune_ratio", "prune_scope", "quant_bits", "quant_bits_conv",
               "quant_granularity", "cluster_k")


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB" if n >= 1024 else f"{int(n)} B"


class CompressView:
    """Instant what-if compression of a trained run, in a notebook.

    ``source`` is anything :class:`workbench.compress.WhatIf` takes (a RunResult, a run id or
    folder, a ``.keras`` path or a model with ``data``). ``panel`` (a ControlPanel) receives
    the fine-tuned runs in its comparison. Twins of the controls for scripts and tests:
    :meth:`set`, :attr:`last`, :meth:`fine_tune`, :meth:`export`, :meth:`sensitivity`.

    Example:
        >>> import workbench as wb
        >>> view = wb.widgets.CompressView(dense_run)             # doctest: +SKIP
        >>> view.set(prune_ratio=0.9, quant_bits=4)               # doctest: +SKIP
        >>> view.last["test_accuracy"], view.last["compression_ratio"]  # doctest: +SKIP
        >>> view.fine_tune(epochs=4); view.wait()                 # doctest: +SKIP
    """

    def __init__(self, source: Any, data: Any = None, *, store: Any = None,
                 panel: Any = None, epochs: int = 4) -> None:
        import plotly.graph_objects as go

        from workbench.compress.whatif import WhatIf
        from workbench.runs import RunStore

        self.store = store if isinstance(store, RunStore) or store is None else RunStore(store)
        if self.store is None and panel is not None:
            self.store = panel.store
        self.whatif = WhatIf(source, data, store=self.store)
        self.panel = panel
        self.points: list[dict[str, Any]] = []
        self.last: dict[str, Any] = self.whatif.baseline
        self.results: list[Any] = []
        self.exported: dict[str, Any] | None = None
        self.sensitivity_table: Any = None
        self.output = W.Output(layout=W.Layout(max_height="200px", overflow="auto"))
        self._quiet = False

        self.controls: dict[str, W.Widget] = {}
        for name in SLIDERS:
            w = make_control(FIELDS[name], FIELDS[name].check(FIELDS[name].default))
            w.observe(guarded(self.output, self._on_change), names="value")
            self.controls[name] = w
        self.readout = W.HTML()
        self.epochs = W.BoundedIntText(value=epochs, min=1, max=1000, description="epochs",
                                       style=_STYLE, layout=W.Layout(width="220px"))
        self.fine_tune_button = W.Button(description="Fine-tune this point", icon="play",
                                         button_style="success",
                                         disabled=self.whatif.run_id is None,
                                         tooltip="train init_from this run with these "
                                         "settings" if self.whatif.run_id else
                                         "needs a run in the store as its source")
        self.export_dir = W.Text(value=str(self._default_export_dir()), description="folder",
                                 style=_STYLE, layout=W.Layout(width="440px"))
        self.export_button = W.Button(description="Export", icon="download")
        self.sensitivity_button = W.Button(description="Sensitivity", icon="bar-chart")
        self.fine_tune_button.on_click(guarded(self.output, lambda _b: self.fine_tune()))
        self.export_button.on_click(guarded(self.output, lambda _b: self.export()))
        self.sensitivity_button.on_click(guarded(self.output, lambda _b: self.sensitivity()))
        self.status = W.HTML()
        self.job = BackgroundJob(self.output, name="workbench-fine-tune")
        self.chart = go.FigureWidget(self._chart_figure())
        from workbench.widgets.liveplot import LivePlot

        self.live = LivePlot(auto_display=False, static_on_end=False, height=420)
        self.live_box = W.Box([self.live.figure], layout=W.Layout(display="none"))
        self.sensitivity_box = W.Output()
        left = W.VBox([W.HTML(f"<h4>Compress {html.escape(self._source_label())}</h4>"),
                       *self.controls.values(), self.readout,
                       W.HBox([self.epochs, self.fine_tune_button]),
                       W.HBox([self.export_dir, self.export_button]),
                       self.sensitivity_button, self.status, self.output],
                      layout=W.Layout(flex="0 0 480px", width="480px"))
        self.widget = W.VBox([W.HBox([left, self.chart]), self.sensitivity_box,
                              self.live_box])
        self._show(self.last)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _source_label(self) -> str:
        return self.whatif.run_id or "model"

    def _default_export_dir(self) -> Path:
        root = self.store.root if self.store is not None else Path("runs")
        return root / "exports" / (self.whatif.run_id or "model")

    # --- settings and what-if ---
    def settings(self) -> dict[str, Any]:
        """The what-if settings the controls hold."""
        return {name: read_control(FIELDS[name], self.controls[name]) for name in SLIDERS}

    def set(self, **settings: Any) -> dict[str, Any]:
        """Set controls (checked by their fields) and evaluate once; returns the answer."""
        for name, value in settings.items():
            if name not in self.controls:
                raise _unknown(name)
            FIELDS[name].check(value)
        self._quiet = True
        try:
            for name, value in settings.items():
                self.controls[name].value = value
        finally:
            self._quiet = False
        return self.evaluate()

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._quiet:
            self.evaluate()

    def evaluate(self) -> dict[str, Any]:
        """Ask the engine about the controls' settings and show the answer."""
        from workbench.exceptions import WorkbenchError

        t0 = time.perf_counter()
        s = self.settings()
        try:
            r = self.whatif.evaluate(**s)
        except WorkbenchError as e:
            self.readout.value = (f"<span style='color:#c62828'>&#9888; "
                                  f"{html.escape(str(e))}</span>")
            raise
        r["ui_seconds"] = time.perf_counter() - t0
        self.last = {**r, "settings": s}
        self.points.append(self.last)
        self._show(self.last)
        return self.last

    def _show(self, r: dict[str, Any]) -> None:
        base = self.whatif.baseline["test_accuracy"]
        drop = 100 * (base - r["test_accuracy"])
        color = "#2e7d32" if drop <= 1 else "#8a6d00" if drop <= 5 else "#c62828"
        size = r.get("size_bytes_packed")
        self.readout.value = (
            f"<div style='font-size:14px;line-height:1.6'>"
            f"<b>test accuracy</b> <span class='wb-whatif-accuracy' style='color:{color}'>"
            f"{r['test_accuracy']:.4f}</span> ({'-' if drop >= 0 else '+'}{abs(drop):.2f} pt "
            f"vs {base:.4f})<br><b>packed</b> {_kb(size) if size else '?'} &middot; "
            f"<b>{r.get('compression_ratio', 1):.1f}x</b> smaller than float32 &middot; "
            f"sparsity {r['sparsity']:.2f} &middot; {r['bits']} bits<br>"
            f"<span style='color:#777;font-size:11px'>measured in "
            f"{1000 * r['seconds']:.0f} ms on the .wbz bytes and the test set</span></div>")
        self._update_chart()

    # --- the chart: trained runs, the source, the what-if points ---
    def _store_points(self) -> tuple[list[float], list[float], list[str]]:
        if self.store is None:
            return [], [], []
        df = self.store.table()
        if df.empty or "size_bytes_packed" not in df or "test_accuracy" not in df:
            return [], [], []
        df = df[(df["status"] == "completed") & df["size_bytes_packed"].notna()]
        df = df[df["run_id"] != self.whatif.run_id]
        return (df["size_bytes_packed"].astype(float).tolist(),
                df["test_accuracy"].astype(float).tolist(), df["run_id"].astype(str).tolist())

    def _chart_figure(self) -> Any:
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="trained runs",
                                 marker={"color": "#9e9e9e", "size": 8}))
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="source (dense)",
                                 marker={"color": "#1f77b4", "size": 14, "symbol": "star"}))
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="what-if",
                                 marker={"color": "#ff7f0e", "size": 8, "opacity": 0.7}))
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="this point",
                                 marker={"color": "#d62728", "size": 14,
                                         "line": {"color": "white", "width": 1}}))
        fig.update_layout(title="what if: accuracy vs packed size", template="plotly_white",
                          height=420, width=480, margin={"t": 50, "b": 50, "l": 60, "r": 20},
                          xaxis={"title": "packed size (bytes)", "type": "log"},
                          yaxis={"title": "test accuracy"},
                          legend={"orientation": "h", "y": -0.25})
        return fig

    def _update_chart(self) -> None:
        if not hasattr(self, "chart"):
            return
        sx, sy, names = self._store_points()
        base = self.whatif.baseline
        px = [p["size_bytes_packed"] for p in self.points if p.get("size_bytes_packed")]
        py = [p["test_accuracy"] for p in self.points if p.get("size_bytes_packed")]
        with self.chart.batch_update():
            self.chart.data[0].x, self.chart.data[0].y = sx, sy
            self.chart.data[0].text = names
            self.chart.data[1].x = [base["size_bytes_packed"]]
            self.chart.data[1].y = [base["test_accuracy"]]
            self.chart.data[2].x, self.chart.data[2].y = px, py
            if self.last.get("size_bytes_packed"):
                self.chart.data[3].x = [self.last["size_bytes_packed"]]
                self.chart.data[3].y = [self.last["test_accuracy"]]
            xs = [*sx, *px, base["size_bytes_packed"]]
            ys = [*sy, *py, base["test_accuracy"]]
            lo, hi = math.log10(max(min(xs), 1)), math.log10(max(xs))
            pad = max(0.08, 0.06 * (hi - lo))  # every point in view, the source included
            self.chart.layout.xaxis.update(range=[lo - pad, hi + pad], autorange=False)
            self.chart.layout.yaxis.update(range=[max(0.0, min(ys) - 0.05),
                                                  min(1.0, max(ys)) + 0.03], autorange=False)

    # --- acting on a point ---
    def point_config(self, epochs: int | None = None) -> Any:
        """The ExperimentConfig that fine-tunes the current point ``init_from`` the source."""
        from workbench.config import ExperimentConfig

        if self.whatif.run_id is None or self.whatif.config is None:
            raise _needs_run()
        from workbench.compress.recipes import fine_tune_config

        n = int(epochs if epochs is not None else self.epochs.value)
        base: ExperimentConfig = self.whatif.config
        # the recipe benchmarks/recovery.py measured (workbench.compress.recipes)
        return fine_tune_config(base, self.whatif.run_id, n, prune_layer_ratios=None,
                                prune_structure="unstructured", export=["keras", "packed"],
                                run_name=None, **self.settings())

    def fine_tune(self, epochs: int | None = None) -> bool:
        """Train the current point ``init_from`` the source in the background (False if a
        fine-tune is already running). The run joins the panel's comparison."""
        from workbench.training.experiment import run

        cfg = self.point_config(epochs)
        if self.job.running:
            self.status.value = "<i>a fine-tune is already running</i>"
            return False
        self.fine_tune_button.disabled = True
        self.live_box.layout.display = None  # the live charts appear with the first run
        self.status.value = f"<b>fine-tuning</b> {html.escape(cfg.label)} for {cfg.epochs} epochs"
        store = self.store if self.store is not None else False
        ds = self.whatif.dataset  # arrays handed over in memory travel along; names reload
        data = ds if ds is not None and cfg.dataset == "arrays" else None

        def body(stop: Any) -> Any:
            return run(cfg, data=data, store=store, verbose=False, sinks=[self.live],
                       stop=stop)

        def done(job: BackgroundJob) -> None:
            self.fine_tune_button.disabled = False
            r = job.result
            if r is None:
                self.status.value = "<span style='color:#c62828'>fine-tune failed (below)</span>"
                return
            self.results.append(r)
            m = r.metrics
            self.status.value = (f"<b>{html.escape(r.status)}</b>: test accuracy "
                                 f"{m.get('test_accuracy', float('nan')):.4f}, "
                                 f"{_kb(m.get('size_bytes_packed', 0))} packed "
                                 f"({m.get('compression_ratio', 1):.1f}x)")
            if self.panel is not None:
                self.panel.results.append(r)
                self.panel.compare.refresh()
            self._update_chart()

        return self.job.start(body, done)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the fine-tune ends; return its RunResult."""
        return self.job.wait(timeout)

    def export(self, folder: str | Path | None = None,
               kinds: tuple[str, ...] = ("packed", "tflite_int8")) -> dict[str, Any]:
        """Write the current point's ``.wbz`` and TFLite files, each measured on the file."""
        target = Path(folder if folder is not None else self.export_dir.value)
        m = self.whatif.export(target, kinds, **self.settings())
        self.exported = {"folder": str(target), **m}
        parts = [f"model.wbz {_kb(m['size_bytes_packed'])} at "
                 f"{m.get('packed_accuracy', float('nan')):.4f}"]
        for k in kinds:
            if f"{k}_bytes" in m:
                parts.append(f"{k} {_kb(m[f'{k}_bytes'])} at {m[f'{k}_accuracy']:.4f}")
        self.status.value = ("<b>exported</b> to " + html.escape(str(target)) + ": "
                             + html.escape("; ".join(parts)))
        return self.exported

    def sensitivity(self, ratios: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95),
                    bits: tuple[int, ...] = (8, 6, 5, 4, 3, 2)) -> Any:
        """Scan the layers one by one and draw the sensitivity chart below the view."""
        from IPython.display import display

        from workbench.compress.whatif import sensitivity
        from workbench.figures import sensitivity as sensitivity_figure

        self.status.value = "<i>scanning the layers one by one...</i>"
        df = sensitivity(self.whatif, ratios, bits)
        self.sensitivity_table = df
        self.sensitivity_box.clear_output()
        with self.sensitivity_box:
            display(sensitivity_figure(df))
        self.status.value = f"<b>sensitivity</b>: {len(df)} one-layer settings measured"
        self.evaluate()  # the engine holds the controls' point again
        return df


def _unknown(name: str) -> Exception:
    from workbench.exceptions import ConfigError

    return ConfigError(name, None, "one of the view's controls: " + ", ".join(SLIDERS))


def _needs_run() -> Exception:
    from workbench.exceptions import ConfigError

    return ConfigError("init_from", None, "a run in the store: fine-tuning starts from a run "
                       "(this view's source is a bare model)")
