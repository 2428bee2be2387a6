"""The Playground's widgets: controls, a live decision boundary and loss curve."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from workbench.exceptions import WorkbenchError
from workbench.teach.playground._options import PLAYGROUND_FIELDS
from workbench.widgets.controls import read_control


class PlaygroundView:
    """The widgets around a :class:`Playground`: Run/Pause/Step/Reset, every setting, and
    live pruning / quantization. Training runs in a background thread, so Pause responds."""

    def __init__(self, pg: Any) -> None:  # a Playground
        import ipywidgets as W
        import plotly.graph_objects as go

        from workbench.config import FIELDS
        from workbench.data import TWO_D_NOISE
        from workbench.widgets.controls import make_control
        from workbench.widgets.jobs import BackgroundJob, guarded

        self.pg = pg
        self.errors = W.Output()  # what the training thread raises past its own handling
        self.job = BackgroundJob(self.errors, name="wb-playground")
        c = pg.cfg
        lay = W.Layout(width="255px")
        style = {"description_width": "95px"}
        values = {"dataset": c.dataset, "features": pg.features,
                  "noise": TWO_D_NOISE[c.dataset] if pg.noise is None else pg.noise,
                  "hidden_units": pg.hidden_units, "activation": c.activation,
                  "optimizer": c.optimizer, "learning_rate": c.lr, "lr_schedule": c.lr_schedule,
                  "batch_size": c.batch_size, "regularization": pg.regularization,
                  "reg_rate": pg.reg_rate or 1e-3}
        self.specs = {n: PLAYGROUND_FIELDS[n] for n in values}
        self.specs["noise"] = dataclasses.replace(self.specs["noise"], optional=False)  # a slider
        self.controls = {n: make_control(spec, values[n], style=style,
                                         layout={"width": "255px"})
                         for n, spec in self.specs.items()}
        for w in self.controls.values():
            w.observe(guarded(self.errors, self._rebuild), names="value")
        self.prune = W.FloatSlider(value=0.0, min=0.0, max=0.99, step=0.05,
                                   description="prune ratio", layout=lay, style=style)
        # 0 stands for float32: a Dropdown shows a None value as an empty box
        grids = sorted((b for b in FIELDS["quant_bits"].choices or () if b < 16), reverse=True)
        self.bits = W.Dropdown(options=[("float32", 0)] + [(f"{b} bits", b) for b in grids],
                               value=0, description="quantize", layout=lay, style=style)
        self.prune.observe(guarded(self.errors, self._compress), names="value")
        self.retrain_button = W.Button(description="Prune + retrain", icon="cut",
                                       tooltip="prune to the slider's ratio, then retrain "
                                               "10 epochs with the pruned weights held at 0")
        self.retrain_button.on_click(guarded(self.errors, lambda _: self.prune_and_retrain()))
        self.bits.observe(guarded(self.errors, self._compress), names="value")
        self.run_button = W.Button(description="Run", icon="play", button_style="success")
        self.step_button = W.Button(description="Step", icon="step-forward")
        self.reset_button = W.Button(description="Reset", icon="refresh")
        self.run_button.on_click(guarded(self.errors, lambda _: self.toggle()))
        self.step_button.on_click(guarded(self.errors, lambda _: self.step()))
        self.reset_button.on_click(guarded(self.errors, lambda _: self.reset()))
        self.status = W.HTML()
        self.boundary_fig = go.FigureWidget(pg.figure().update_layout(width=470, height=470))
        self.loss_fig = go.FigureWidget(pg.loss_figure().update_layout(width=300, height=260,
                                                                       margin={"t": 40}))
        side = W.Layout(min_width="270px")
        self.widget = W.VBox([
            W.HBox([self.run_button, self.step_button, self.reset_button]),
            W.HBox([W.VBox(list(self.controls.values()), layout=side), self.boundary_fig,
                    W.VBox([self.loss_fig, W.HTML("<b>compress the trained network</b>"),
                            self.prune, self.bits, self.retrain_button], layout=side)]),
            self.status, self.errors])
        self._show()

    @property
    def running(self) -> bool:
        """True while the background training thread is alive."""
        return self.job.running

    def _say(self, text: str, error: bool = False) -> None:
        import html

        color = "#b00020" if error else "#333"
        self.status.value = f"<span style='color:{color}'>{html.escape(text)}</span>"

    def _show(self) -> None:
        fresh, loss = self.pg.figure(), self.pg.loss_figure()
        with self.boundary_fig.batch_update():
            for old, new in zip(self.boundary_fig.data, fresh.data, strict=True):
                if new.type in ("heatmap", "contour"):
                    old.z = new.z
                else:
                    old.x, old.y, old.marker.color = new.x, new.y, new.marker.color
            self.boundary_fig.layout.title.text = fresh.layout.title.text
        with self.loss_fig.batch_update():
            for k, tr in enumerate(loss.data):
                self.loss_fig.data[k].x, self.loss_fig.data[k].y = tr.x, tr.y
        self._say(self.pg.summary())

    def _settings(self) -> dict[str, Any]:
        v = {n: read_control(spec, self.controls[n]) for n, spec in self.specs.items()}
        if v["regularization"] == "none":
            v["reg_rate"] = 0.0
        return {**v, "n_points": self.pg.n_points, "test_fraction": self.pg.test_fraction,
                "epochs": self.pg.cfg.epochs, "seed": self.pg.cfg.seed}

    def _rebuild(self, _change: Any = None) -> None:
        """A changed setting builds a new Playground (data and network), as Playground does."""
        self.pause()
        try:
            pg = type(self.pg)(**self._settings())
        except WorkbenchError as e:
            self._say(f"not applied: {e}", error=True)
            return
        pg.compress(self.prune.value, self.bits.value or None)
        self.pg = pg
        self._show()

    def _compress(self, _change: Any = None) -> None:
        self.pg.compress(self.prune.value, self.bits.value or None)
        self._show()

    def _loop(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.pg.train(1, stop=stop)
                self._show()
        except Exception as e:  # shown in the UI: never a dead widget
            self._say(f"training stopped: {type(e).__name__}: {e}", error=True)
        finally:
            self.run_button.description, self.run_button.icon = "Run", "play"

    def toggle(self) -> None:
        """Run, or pause a run."""
        if self.running:
            self.pause()
            return
        self.run_button.description, self.run_button.icon = "Pause", "pause"
        self.job.start(self._loop)

    def pause(self, timeout: float = 10.0) -> None:
        """Stop the training thread (after its current batch) and wait for it."""
        self.job.stop()
        self.job.wait(timeout)

    def step(self) -> None:
        """One epoch, in the foreground."""
        self.pause()
        self.pg.train(1)
        self._show()

    def prune_and_retrain(self, epochs: int = 10) -> None:
        """Prune the network to the slider's ratio and retrain it (in the foreground)."""
        ratio = self.prune.value
        if ratio <= 0:
            self._say("set the prune ratio first: it is the fraction of weights removed",
                      error=True)
            return
        self.pause()
        self.pg.prune_and_retrain(ratio, epochs)
        self.prune.value = 0.0  # the network itself is sparse now; the view shows it as is
        self._show()

    def reset(self) -> None:
        """Re-initialize the network."""
        self.pause()
        self.pg.reset()
        self._show()
