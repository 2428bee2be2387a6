"""The notebook control panel: controls, Run and Stop, the previews and the live charts.

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

from workbench.config import FIELDS, GROUPS, ExperimentConfig
from workbench.data import recommended_text
from workbench.exceptions import ConfigError, RunFailed, WorkbenchError
from workbench.runs import RunResult, RunStore, artifact_name
from workbench.widgets import controls
from workbench.widgets.compare import CompareView
from workbench.widgets.controls import CHART_WIDTH, make_control, read_control, set_control
from workbench.widgets.jobs import BackgroundJob, guarded
from workbench.widgets.liveplot import LivePlot
from workbench.widgets.preflight import data_html, plan_for
from workbench.widgets.status import StatusSink

_PREVIEW_W = 460  # px: the schedule preview's width (FigureWidgets need an explicit one)


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
        self._auto = controls.following_data_set(base)  # until the user moves them
        self._quiet = False
        self.results: list[RunResult] = []
        self.error: str | None = None
        self.last_step = 0
        self.preview_ms: float | None = None
        self.stop_requested_at: float | None = None
        self._stop_flag: Any = None  # the run's StopFlag: halt time, batches after Stop
        self._build()
        self.job = BackgroundJob(self.output, name="workbench-run")
        self._validate()

    # --- layout ---
    def _build(self) -> None:
        # errors of every handler and of the training thread land here, never lost
        self.output = W.Output(layout=W.Layout(max_height="240px", overflow="auto"))
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
                w.observe(guarded(self.output, self._on_change), names="value")
                self.controls[spec.name] = w
                boxes.append(w)
            if group == "data":
                self.data_html = W.HTML()  # what the data set holds, for the controls above
                boxes.append(self.data_html)
            tabs.append(W.VBox(boxes))
            titles.append(group.capitalize())
        self.tabs = W.Tab(children=tabs, titles=titles)
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True)
        self.compress_button = W.Button(description="Compress", icon="compress",
                                        tooltip="what-if compression of the selected (or last "
                                        "completed) run: instant, measured", disabled=True)
        self.run_button.on_click(guarded(self.output, lambda _b: self.run()))
        self.stop_button.on_click(guarded(self.output, lambda _b: self.stop()))
        self.compress_button.on_click(guarded(self.output,
                                                    lambda _b: self._compress_clicked()))
        self.compress_view: Any = None
        self.compress_box = W.VBox()
        self.message = W.HTML()
        self.status_html = W.HTML("<b>status:</b> ready")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="440px"))
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
        return self.job.running

    def _values(self) -> dict[str, Any]:
        values = self._base.to_dict()
        for name, w in self.controls.items():
            values[name] = read_control(FIELDS[name], w)
        for name in self._auto:
            if name == "learning_rate":
                values[name] = None
            else:
                values.pop(name)  # resolved from the data set chosen now
        values.update(self.locked)
        return values

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        for name in list(self._auto):
            if change["owner"] is self.controls.get(name):
                self._auto.discard(name)
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
        self._quiet = True
        try:  # the recommended values shown follow the data set
            for name in self._auto & set(self.controls):
                set_control(self.controls[name],
                            cfg.lr if name == "learning_rate" else getattr(cfg, name))
        finally:
            self._quiet = False
        self.run_button.disabled = self.running
        self.run_button.tooltip = "train this configuration"
        self.message.value = ("<span style='color:#8a6d00'>a run is in progress: these changes "
                              "apply to the next run</span>" if self.running else
                              f"<span style='color:#555'>{html.escape(cfg.dataset)} recommends "
                              f"{html.escape(recommended_text(cfg.recommended))} (for the "
                              "controls you have not moved)</span>" if cfg.recommended else "")
        self._update_schedule(cfg)
        self.preview_ms = (time.perf_counter() - t0) * 1000
        self._update_plan(cfg)
        if hasattr(self, "data_html"):
            self.data_html.value, problem = data_html(cfg, self.data)
            if problem:  # a path that does not load: Run stays off, with the reason
                self.error = problem
                self.message.value = (f"<span style='color:#c62828'>&#9888; "
                                      f"{html.escape(problem)}</span>")
                self.run_button.disabled = True

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
        if not cfg.prunes and cfg.quant_bits is None and cfg.cluster_k is None:
            self.plan_html.value = "<i>compression off (float32)</i>"
            return
        try:
            plan = plan_for(cfg, self.model)
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
                if name == "learning_rate" and value is None:
                    self._auto.add(name)
                    value = candidate.lr
                else:
                    self._auto.discard(name)
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
        self.run_button.disabled = True
        self.stop_button.disabled = False
        if self.output.outputs:
            self.output.clear_output()
        self.stop_requested_at = None
        self._stop_flag = None
        self._status(f"starting {cfg.label}...")
        return self.job.start(lambda stop: self._train(cfg, stop))

    def _train(self, cfg: ExperimentConfig, stop: threading.Event) -> None:
        from workbench.training.experiment import run

        result: RunResult | None = None
        try:
            result = run(cfg, data=self.data, model=self.model, store=self.store
                         if self.store is not None else False, verbose=False,
                         sinks=[self.live, StatusSink(self)], stop=self._new_stop_flag(stop))
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
        color = {"completed": "#2e7d32", "stopped": "#8a6d00",
                 "pruned": "#8a6d00"}.get(result.status, "#c62828")
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
                                                   artifact_name("keras")).is_file()][:200]

    # --- compress what you trained ---
    def _compress_source(self) -> Any:
        sel = self.compare.selected
        if sel is not None and self.store is not None and sel in self.store:
            return sel
        done = [r for r in self.results if r.status.usable and r.model is not None]
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
        self.job.stop()
        self.stop_button.disabled = True
        self._status("stopping after the running batches...", "#8a6d00")
        return True

    @property
    def stop_latency(self) -> float | None:
        """Seconds from the last :meth:`stop` to the end of training (None if not stopped)."""
        halted = self._stop_flag.halted_at if self._stop_flag is not None else None
        if self.stop_requested_at is None or halted is None:
            return None
        return max(0.0, halted - self.stop_requested_at)

    @property
    def batches_after_stop(self) -> int:
        """Batches that began after the last :meth:`stop` (at most one call's steps)."""
        return self._stop_flag.batches_after if self._stop_flag is not None else 0

    def _new_stop_flag(self, stop: threading.Event) -> Any:
        """The run's StopFlag (made in the training thread, which imports Keras anyway)."""
        from workbench.callbacks.stop import StopFlag

        self._stop_flag = StopFlag(stop, on_end=self._halted)
        return self._stop_flag

    def _halted(self, flag: Any) -> None:
        """Say at once that training halted (evaluation and export follow)."""
        if flag.requested and self.stop_requested_at is not None:
            text = (f"training stopped at step {flag.stopped_at_step}, "
                    f"{self.stop_latency:.2f} s after Stop")
        else:
            text = "training finished"
        self._status(text + "; evaluating and exporting...")

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Block until the current run ends (or ``timeout`` seconds); return the last result."""
        self.job.wait(timeout)
        return self.results[-1] if self.results else None

    def static_figures(self) -> list[Any]:
        """The live dashboard and the comparison as static figures (for headless reports)."""
        return [self.live.static_figure(), *self.compare.static_figures()]
