"""The notebook control panel and the run comparison view.

Controls are generated from the ExperimentConfig field metadata (nothing listed by hand) and
validated on every change. Training runs in a background thread (a blocking cell could not
receive a Stop click), feeding a LivePlot and the status line through the metric-event sinks.
Data flows one way: controls -> config -> run -> events -> views.
"""

from __future__ import annotations

import html
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import ipywidgets as W

from workbench.commands import cli_command, papermill_command
from workbench.config import FIELDS, GROUPS, ExperimentConfig
from workbench.exceptions import ConfigError, RunFailed, WorkbenchError
from workbench.runs import RunResult, RunStore
from workbench.widgets.controls import _STYLE, make_control, read_control, set_control
from workbench.widgets.liveplot import LivePlot

_PREVIEW_W = 460  # px: the schedule preview's width (FigureWidgets need an explicit one)
# px: the panel's charts. A FigureWidget drawn before JupyterLab attaches it cannot measure its
# box and takes 700 px, which a 1000 px window cuts off; 560 fits the output area there.
CHART_WIDTH = 560
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


class _StatusSink:
    """Metric events -> progress bar and status line (called from the training thread)."""

    def __init__(self, panel: ControlPanel) -> None:
        self.panel = panel
        self.total = 1

    def send(self, event: dict[str, Any]) -> None:
        p = self.panel
        kind = event.get("type")
        if kind == "run_start":
            spe = event.get("steps_per_epoch") or 1
            self.total = max(1, int(spe) * int(event.get("epochs") or 1))
            p.progress.max = self.total
            p.progress.value = 0
            p._status(f"running {event.get('run_id')}: epoch 1 of {event.get('epochs')}")
        elif kind in ("batch", "epoch"):
            p.progress.value = min(int(event.get("step", 0)), self.total)
            p.last_step = int(event.get("step", 0))
            if kind == "epoch":
                parts = [f"epoch {event['epoch']}"]
                for k in ("loss", "accuracy", "val_loss", "val_accuracy", "sparsity"):
                    if isinstance(event.get(k), float):
                        parts.append(f"{k} {event[k]:.4g}")
                p._status("running: " + "  ".join(parts))


class ControlPanel:
    """Toggle an experiment's settings, Run and Stop it, watch it, compare runs.

    Controls are generated from the config fields, grouped in tabs (Data, Model, Training,
    Compression). Every change is validated at once: an invalid value or combination is shown
    in red and Run is disabled with the reason. ``fields`` shows only those controls and
    ``locked`` fixes values (hidden, not editable): a teaching mode.

    Beside the controls: the learning-rate schedule preview, the compression preflight
    (``wb.compress.plan``), the live dashboard, a status line, a progress bar and an error
    area. Below: the comparison of this session's runs (or the whole store).

    Programmatic twins of the buttons, for tests and scripts: :meth:`set`, :attr:`config`,
    :meth:`run`, :meth:`stop`, :meth:`wait`, :attr:`results`.

    Example:
        >>> import workbench as wb
        >>> panel = wb.widgets.ControlPanel(store=False, fields=["optimizer", "epochs"],
        ...                                 locked={"dataset": "digits"})
        >>> panel.set(optimizer="sgd", epochs=2)
        >>> panel.config.optimizer, panel.config.epochs
        ('sgd', 2)
        >>> # panel.run(); panel.wait(); panel.results[-1].status -> 'completed'
    """

    def __init__(self, config: ExperimentConfig | None = None,
                 store: RunStore | str | Path | bool | None = None,
                 fields: list[str] | None = None, locked: dict[str, Any] | None = None, *,
                 data: Any = None, model: Any = None) -> None:
        base = config if config is not None else ExperimentConfig()
        if not isinstance(base, ExperimentConfig):
            base = ExperimentConfig.from_dict(base)
        self.locked = dict(locked or {})
        base = base.replace(**self.locked)  # validates the locked values
        for name in fields or []:
            if name not in FIELDS:
                base.replace(**{name: None})  # raises UnknownFieldError with suggestions
        self.fields = [f for f in (fields or list(FIELDS)) if f not in self.locked]
        self.store: RunStore | None = (None if store is False else store
                                       if isinstance(store, RunStore) else
                                       RunStore("runs" if store in (None, True) else store))
        self.data, self.model = data, model
        self._base = base
        self._config = base
        self._lr_auto = base.learning_rate is None
        self._quiet = False
        self.results: list[RunResult] = []
        self.error: str | None = None
        self.last_step = 0
        self.preview_ms: float | None = None
        self.halted_at: float | None = None
        self.stop_requested_at: float | None = None
        self.batches_after_stop = 0
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._build()
        self._validate()

    # --- layout ---
    def _build(self) -> None:
        self.controls: dict[str, W.Widget] = {}
        tabs, titles = [], []
        for group in GROUPS:
            specs = [FIELDS[f] for f in self.fields if FIELDS[f].group == group]
            if not specs:
                continue
            boxes = []
            for spec in specs:
                value = getattr(self._base, spec.name)
                if spec.name == "learning_rate" and value is None:
                    value = self._base.lr
                w = make_control(spec, value, self._completed_runs()
                                 if spec.name in ("init_from", "distill_teacher") else None)
                w.observe(self._on_change, names="value")
                self.controls[spec.name] = w
                boxes.append(w)
            tabs.append(W.VBox(boxes))
            titles.append(group.capitalize())
        self.tabs = W.Tab(children=tabs, titles=titles)
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True)
        self.compress_button = W.Button(description="Compress", icon="compress",
                                        tooltip="what-if compression of the selected (or last "
                                        "completed) run: instant, measured", disabled=True)
        self.run_button.on_click(lambda _b: self.run())
        self.stop_button.on_click(lambda _b: self.stop())
        self.compress_button.on_click(lambda _b: self._compress_clicked())
        self.compress_view: Any = None
        self.compress_box = W.VBox()
        self.message = W.HTML()
        self.status_html = W.HTML("<b>status:</b> ready")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="440px"))
        self.output = W.Output(layout=W.Layout(max_height="240px", overflow="auto"))
        self.live = LivePlot(auto_display=False, static_on_end=False, height=480,
                             width=CHART_WIDTH)
        import plotly.graph_objects as go

        self.schedule_fig = go.FigureWidget(go.Figure(
            go.Scatter(x=[], y=[], mode="lines", name="lr"),
            layout={"title": "learning-rate schedule", "height": 240, "width": _PREVIEW_W,
                    "template": "plotly_white", "margin": {"t": 40, "b": 40, "l": 60, "r": 16},
                    "xaxis_title": "epoch", "yaxis_title": "learning rate"}))
        self.plan_html = W.HTML()
        self.compare = CompareView(self.store, session=self, load=self.load_config)
        left = W.VBox([self.tabs, self.message, W.HBox([self.run_button, self.stop_button,
                                                        self.compress_button]),
                       self.status_html, self.progress, self.output])
        self.schedule_fig.update_yaxes(rangemode="tozero")
        # the preview column sits beside the controls when there is room and wraps below them
        # when there is not (a 1000 px window): it is never cut off
        right = W.VBox([self.schedule_fig, self.plan_html],
                       layout=W.Layout(width=f"{_PREVIEW_W + 8}px", overflow="hidden"))
        left.layout = W.Layout(width="480px", margin="0 16px 0 0")
        self.widget = W.VBox([W.HBox([left, right], layout=W.Layout(flex_flow="row wrap")),
                              self.live.figure, self.compress_box,
                              self.compare.widget], layout=W.Layout(width="100%"))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # --- config and validation ---
    @property
    def config(self) -> ExperimentConfig:
        """The config the next run will use (the last valid state of the controls)."""
        return self._config

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _values(self) -> dict[str, Any]:
        values = self._base.to_dict()
        for name, w in self.controls.items():
            values[name] = read_control(FIELDS[name], w)
        if "learning_rate" in self.controls and self._lr_auto:
            values["learning_rate"] = None
        values.update(self.locked)
        return values

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["owner"] is self.controls.get("learning_rate"):
            self._lr_auto = False
        self._validate()

    def _validate(self) -> None:
        t0 = time.perf_counter()
        try:
            cfg = ExperimentConfig.from_dict(self._values())
        except ConfigError as e:
            self.error = str(e)
            self.message.value = (f"<span style='color:#c62828'>&#9888; "
                                  f"{html.escape(self.error)}</span>")
            self.run_button.disabled = True
            self.run_button.tooltip = f"fix first: {self.error}"
            return
        self.error = None
        self._config = cfg
        if self._lr_auto and "learning_rate" in self.controls:
            self._quiet = True
            try:
                set_control(self.controls["learning_rate"], cfg.lr)
            finally:
                self._quiet = False
        self.run_button.disabled = self.running
        self.run_button.tooltip = "train this configuration"
        self.message.value = ("<span style='color:#8a6d00'>a run is in progress: these changes "
                              "apply to the next run</span>" if self.running else "")
        self._update_schedule(cfg)
        self.preview_ms = (time.perf_counter() - t0) * 1000
        self._update_plan(cfg)

    def _update_schedule(self, cfg: ExperimentConfig) -> None:
        from workbench.training.schedules import schedule_preview

        try:
            p = schedule_preview(cfg)
        except WorkbenchError:
            return
        step = max(1, len(p) // 1000)
        with self.schedule_fig.batch_update():
            self.schedule_fig.data[0].x = p.epoch.to_numpy()[::step]
            self.schedule_fig.data[0].y = p.lr.to_numpy()[::step]
            self.schedule_fig.layout.title = f"learning-rate schedule: {cfg.lr_schedule}"

    def _update_plan(self, cfg: ExperimentConfig) -> None:
        if cfg.prune_ratio == 0 and cfg.quant_bits is None and cfg.cluster_k is None:
            self.plan_html.value = "<i>compression off (float32)</i>"
            return
        try:
            plan = _plan_for(cfg, self.model)
        except WorkbenchError as e:
            self.plan_html.value = f"<span style='color:#c62828'>{html.escape(str(e))}</span>"
            return
        self.plan_html.value = ("<b>compression preflight</b><div style='font-size:11px;"
                                "overflow-x:auto;max-width:100%'>"
                                + plan.drop(columns="params").to_html(border=0) + "</div>")

    def set(self, **fields: Any) -> None:
        """Set controls programmatically (validated first: a bad value raises ConfigError
        and changes nothing)."""
        for name in fields:
            if name in self.locked:
                raise ConfigError(name, fields[name], f"{self.locked[name]!r} (locked in this "
                                  f"panel)")
            if name not in self.controls:
                if name in FIELDS:
                    raise ConfigError(name, fields[name], "a field shown in this panel (it is "
                                      "hidden: pass it in fields= or config=)")
                self._config.replace(**{name: fields[name]})  # UnknownFieldError
        candidate = ExperimentConfig.from_dict({**self._values(), **fields})
        self._quiet = True
        try:
            for name, value in fields.items():
                if name == "learning_rate":
                    self._lr_auto = value is None
                    value = candidate.lr
                set_control(self.controls[name], getattr(candidate, name) if
                             name != "learning_rate" else value)
        finally:
            self._quiet = False
        self._validate()

    def load_config(self, cfg: ExperimentConfig | dict[str, Any]) -> None:
        """Put a config (e.g. a past run's) into the controls."""
        cfg = cfg if isinstance(cfg, ExperimentConfig) else ExperimentConfig.from_dict(cfg)
        self.set(**{k: v for k, v in cfg.to_dict().items() if k in self.controls})

    # --- run / stop ---
    def _status(self, text: str, color: str = "#222") -> None:
        self.status_html.value = f"<b>status:</b> <span style='color:{color}'>" \
                                 f"{html.escape(text)}</span>"

    def run(self) -> bool:
        """Start a run of :attr:`config` in a background thread; False if it cannot start."""
        if self.running:
            self._status("a run is already in progress: Stop it or wait for it", "#8a6d00")
            return False
        if self.error:
            self._status(f"cannot run: {self.error}", "#c62828")
            return False
        cfg = self._config
        self._stop_event = threading.Event()
        self.run_button.disabled = True
        self.stop_button.disabled = False
        if self.output.outputs:
            self.output.clear_output()
        self.halted_at = None
        self.stop_requested_at = None
        self.batches_after_stop = 0
        self._status(f"starting {cfg.label}...")
        self._thread = threading.Thread(target=self._train, args=(cfg,), daemon=True,
                                        name="workbench-run")
        self._thread.start()
        return True

    def _train(self, cfg: ExperimentConfig) -> None:
        from workbench.training.experiment import run

        result: RunResult | None = None
        try:
            result = run(cfg, data=self.data, model=self.model, store=self.store
                         if self.store is not None else False, verbose=False,
                         sinks=[self.live, _StatusSink(self)], stop=self._stop_event,
                         callbacks=[_HaltNotice(self)])
        except RunFailed as e:
            result = e.result
            self._show_error(f"run failed: {str(e).splitlines()[0]}", e)
        except WorkbenchError as e:
            self._show_error(str(e), None)
        except Exception as e:  # never lose an error in a background thread
            self._show_error(f"{type(e).__name__}: {e}", e)
        finally:
            self.stop_button.disabled = True
            self.run_button.disabled = bool(self.error)
            self.message.value = ""
        if result is None:
            return
        self.results.append(result)
        m = result.metrics
        text = f"{result.status}: {result.run_id}"
        if m.get("test_accuracy") is not None:
            text += f"  test accuracy {m['test_accuracy']:.4f}"
        if m.get("size_bytes_packed"):
            text += f"  {m['size_bytes_packed']:,} bytes packed"
        if result.status == "diverged":
            text += (f": the loss became NaN/inf at step {m.get('diverged_at_step')}; lower the "
                     f"learning rate (was {cfg.lr:g})")
        color = {"completed": "#2e7d32", "stopped": "#8a6d00"}.get(result.status, "#c62828")
        self._status(text, color)
        self.compress_button.disabled = self._compress_source() is None
        for name in ("init_from", "distill_teacher"):
            if isinstance(self.controls.get(name), W.Combobox):
                self.controls[name].options = self._completed_runs()
        self.compare.refresh()

    def _completed_runs(self) -> list[str]:
        """Ids of the store's completed runs with a saved model, newest first."""
        if self.store is None:
            return []
        return [r["run_id"] for r in reversed(self.store.records())
                if r["status"] == "completed" and (self.store.root / r["run_id"] /
                                                   "model.keras").is_file()][:200]

    # --- compress what you trained ---
    def _compress_source(self) -> Any:
        sel = self.compare.selected
        if sel is not None and self.store is not None and sel in self.store:
            return sel
        done = [r for r in self.results if r.status in ("completed", "stopped")
                and r.model is not None]
        return done[-1] if done else None

    def compress(self, run: Any = None, epochs: int = 4) -> Any:
        """Open the Compress view (:class:`CompressView`) for ``run`` (a RunResult or run id;
        default: the run selected in the comparison, else the last completed one)."""
        from workbench.widgets.compress_view import CompressView

        source = run if run is not None else self._compress_source()
        if source is None:
            raise ConfigError("init_from", None, "a completed run: press Run first")
        self.compress_view = CompressView(source, self.data if self.data is not None else None,
                                          store=self.store, panel=self, epochs=epochs)
        self.compress_box.children = [self.compress_view.widget]
        return self.compress_view

    def _compress_clicked(self) -> None:
        try:
            self.compress()
        except Exception as e:  # shown, never lost in the comm handler
            self._show_error(f"compress: {e}", None if isinstance(e, WorkbenchError) else e)

    def _show_error(self, message: str, exc: BaseException | None) -> None:
        self._status(message, "#c62828")
        detail = "".join(traceback.format_exception(exc)) if exc is not None else message
        self.output.append_stderr(detail + "\n")

    def stop(self) -> bool:
        """Ask the running training to stop after its current batch; False if none runs."""
        if not self.running:
            self._status("nothing to stop: no run in progress", "#8a6d00")
            return False
        self.stop_requested_at = time.monotonic()
        self._stop_event.set()
        self.stop_button.disabled = True
        self._status("stopping after the running batches...", "#8a6d00")
        return True

    @property
    def stop_latency(self) -> float | None:
        """Seconds from the last :meth:`stop` to the end of training (None if not stopped)."""
        if self.stop_requested_at is None or self.halted_at is None:
            return None
        return max(0.0, self.halted_at - self.stop_requested_at)

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Block until the current run ends (or ``timeout`` seconds); return the last result."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.results[-1] if self.results else None

    def static_figures(self) -> list[Any]:
        """The live dashboard and the comparison as static figures (for headless reports)."""
        return [self.live.static_figure(), *self.compare.static_figures()]


def _halt_notice_class() -> type:
    from workbench._tf import keras
    from workbench.callbacks.step_log import steps_in_call

    class HaltNotice(keras.callbacks.Callback):
        """Say at once that training halted (evaluation and export follow)."""

        multi_step_aware = True  # counts the steps of each call: wb.run may run several

        def __init__(self, panel: ControlPanel) -> None:
            super().__init__()
            self.panel = panel

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if self.panel._stop_event.is_set():  # batches *started* after Stop was pressed:
                calls = int(getattr(self.model, "steps_per_execution", 1) or 1)
                # 0, or one call's steps if Stop came while its callbacks ran
                self.panel.batches_after_stop += steps_in_call(self, batch, batch + calls - 1)

        def on_train_end(self, logs: Any = None) -> None:
            p = self.panel
            p.halted_at = time.monotonic()
            if p._stop_event.is_set() and p.stop_requested_at is not None:
                step = int(self.model.optimizer.iterations.numpy())
                text = (f"training stopped at step {step}, "
                        f"{p.halted_at - p.stop_requested_at:.2f} s after Stop")
            else:
                text = "training finished"
            p._status(text + "; evaluating and exporting...")

    return HaltNotice


def _HaltNotice(panel: ControlPanel) -> Any:
    return _halt_notice_class()(panel)


_PLAN_CACHE: dict[Any, Any] = {}


def _plan_for(cfg: ExperimentConfig, user_model: Any) -> Any:
    from workbench.architectures import build_model
    from workbench.compress.report import plan
    from workbench.data import DATASETS

    if user_model is not None and hasattr(user_model, "layers"):
        model = user_model
    else:
        info = DATASETS[cfg.dataset]
        key = (cfg.dataset, cfg.model, cfg.hidden_units, cfg.activation)
        if key not in _PLAN_CACHE:
            _PLAN_CACHE[key] = build_model(cfg.model, info.input_shape, info.num_classes, cfg)
        model = _PLAN_CACHE[key]
    return plan(model, cfg)


class CompareView:
    """A table of runs, their curves overlaid, and an accuracy-vs-size Pareto chart.

    Click a point to see that run's config with the equivalent ``workbench train`` and
    ``papermill`` commands, and (inside a ControlPanel) load it into the controls.
    """

    def __init__(self, store: RunStore | None = None, session: ControlPanel | None = None,
                 load: Any = None) -> None:
        import plotly.graph_objects as go

        self.store = store
        self.session = session
        self.load = load
        self.whole_store = W.Checkbox(value=session is None, description="whole store",
                                      indent=False, disabled=store is None)
        self.whole_store.observe(lambda _c: self.refresh(), names="value")
        self.select = W.SelectMultiple(options=[], rows=5, description="overlay runs",
                                       style=_STYLE, layout=W.Layout(width="640px"))
        self.select.observe(lambda _c: self._overlay(), names="value")
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
        self.load_button.on_click(lambda _b: self._load_selected())
        self.source_button = W.Button(description="Source run", disabled=True, icon="link",
                                      tooltip="not started from a run")
        self.source_button.on_click(lambda _b: self._show_source())
        self.selected: str | None = None
        self._runs: dict[str, RunResult] = {}
        self._names: dict[str, str] = {}
        self.table_box = W.Box([self.table_html], layout=W.Layout(
            max_height="260px", overflow="auto", width="100%"))
        self.widget = W.VBox([
            W.HTML("<h4>Compare runs</h4>"), self.whole_store, self.table_box,
            self.pareto_fig, W.HBox([self.load_button, self.source_button] if load else
                                    [self.source_button]), self.detail,
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
            trace.on_click(self._on_click)

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


class SearchView:
    """Start and stop a search, watch its Pareto front fill in, load a trial into a panel.

    The trials are ordinary runs in ``store``, so the view is a :class:`CompareView` of the
    store, refreshed as each trial finishes; clicking a point shows its commands and (with
    ``panel``) loads its config into the controls.

    Example:
        >>> import workbench as wb
        >>> view = wb.widgets.SearchView(wb.ExperimentConfig(epochs=3),
        ...                              {"prune_ratio": wb.uniform(0, 0.9)},
        ...                              store="runs")                   # doctest: +SKIP
        >>> view.start(); view.wait()                                    # doctest: +SKIP
    """

    def __init__(self, base: ExperimentConfig, space: Any,
                 objectives: Any = ("test_accuracy:max", "size_bytes_packed:min"),
                 store: RunStore | str | Path = "runs", storage: str | None = None,
                 study_name: str | None = None, panel: ControlPanel | None = None) -> None:
        from workbench.hpsearch import SAMPLERS, SearchSpace, parse_objectives

        self.base = base
        self.space = space if isinstance(space, SearchSpace) else SearchSpace(space)
        self.objectives = parse_objectives(objectives)
        self.store = store if isinstance(store, RunStore) else RunStore(store)
        self.storage, self.study_name = storage, study_name
        self.result: Any = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.sampler = W.Dropdown(options=list(SAMPLERS), value="nsga2" if len(
            self.objectives) > 1 else "tpe", description="sampler", style=_STYLE)
        self.trials = W.BoundedIntText(value=12, min=1, max=10000, description="trials",
                                       style=_STYLE)
        self.start_button = W.Button(description="Start search", button_style="success",
                                     icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True)
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.status_html = W.HTML("<b>search:</b> ready")
        self.compare = CompareView(self.store, load=panel.load_config if panel else None)
        self.widget = W.VBox([W.HBox([self.sampler, self.trials]),
                              W.HBox([self.start_button, self.stop_button]), self.status_html,
                              self.compare.widget])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start the search in a background thread; False if one is running."""
        if self.running:
            self.status_html.value = "<b>search:</b> already running"
            return False
        self._stop = threading.Event()
        self.start_button.disabled, self.stop_button.disabled = True, False
        self.done = 0
        self._thread = threading.Thread(target=self._search, daemon=True, name="wb-search")
        self._thread.start()
        return True

    def _search(self) -> None:
        from workbench.hpsearch import search

        total = self.trials.value

        def on_trial(trial: Any) -> None:
            self.done += 1
            self.status_html.value = (f"<b>search:</b> {self.done} of {total} trials "
                                      f"({html.escape(trial.state.name.lower())} last)")
            self.compare.refresh()

        try:
            self.result = search(self.base, self.space, [f"{m}:{d[:3]}" for m, d in
                                                         self.objectives],
                                 sampler=self.sampler.value, n_trials=total,
                                 storage=self.storage, study_name=self.study_name,
                                 store=self.store, progress=False, stop=self._stop,
                                 on_trial=on_trial)
            word = "stopped" if self._stop.is_set() else "finished"
            self.status_html.value = f"<b>search:</b> {word} after {self.done} trials"
        except Exception as e:  # shown, never lost in a thread
            self.error = f"{type(e).__name__}: {e}"
            self.status_html.value = (f"<b>search:</b> <span style='color:#c62828'>"
                                      f"{html.escape(self.error)}</span>")
        finally:
            self.start_button.disabled, self.stop_button.disabled = False, True

    def stop(self) -> bool:
        """Start no new trial (the running one finishes); False if none runs."""
        if not self.running:
            self.status_html.value = "<b>search:</b> nothing to stop"
            return False
        self._stop.set()
        self.status_html.value = "<b>search:</b> stopping after the current trial..."
        return True

    def wait(self, timeout: float | None = None) -> Any:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result
