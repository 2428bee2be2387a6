"""Widgets around :func:`descend`: pick a surface, optimizers, learning rate, momentum, batch
and start point; the paths, losses and update rules redraw on every change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.exceptions import WorkbenchError
from workbench.teach._descent import (
    BATCHES,
    FORMULAS,
    OPTIMIZERS,
    SURFACES,
    descend,
    loss_figure,
    surface,
    trajectory_figure,
)


class DescentExplorer:
    """The explorer's state and widgets; ``.widget`` is what to display.

    Example:
        >>> from workbench import teach
        >>> ex = teach.descent_explorer()                      # doctest: +SKIP
        >>> ex.controls["learning_rate"].value = 0.002         # doctest: +SKIP
        >>> ex.paths["momentum"].steps_to(1e-2)                # doctest: +SKIP
    """

    def __init__(self, surface_name: str = "rosenbrock",
                 optimizers: Sequence[str] = ("sgd", "momentum", "adam"),
                 learning_rate: float = 1e-3, steps: int = 300) -> None:
        import ipywidgets as W
        import plotly.graph_objects as go

        surf = surface(surface_name)
        opts = list(optimizers)
        descend_check = [o for o in opts if o not in OPTIMIZERS]
        if descend_check:
            descend(surf, descend_check[0])  # raises the ConfigError naming the choices
        style, lay = {"description_width": "100px"}, W.Layout(width="330px")
        self.controls: dict[str, Any] = {
            "surface": W.Dropdown(options=list(SURFACES), value=surf.name,
                                  description="surface"),
            "optimizers": W.SelectMultiple(options=OPTIMIZERS, value=tuple(opts), rows=6,
                                           description="optimizers"),
            "learning_rate": W.FloatLogSlider(value=learning_rate, min=-5, max=0, step=0.05,
                                              description="learning rate",
                                              readout_format=".5f"),
            "momentum": W.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                      description="momentum μ"),
            "schedule": W.ToggleButtons(options=["constant", "inverse_sqrt"],
                                        value="constant", description="schedule"),
            "batch": W.ToggleButtons(options=BATCHES, value="full", description="batch"),
            "steps": W.IntSlider(value=steps, min=10, max=3000, step=10, description="steps"),
            "x0": W.FloatSlider(value=surf.start[0], min=surf.x_range[0], max=surf.x_range[1],
                                step=0.05, description="start x"),
            "y0": W.FloatSlider(value=surf.start[1], min=surf.y_range[0], max=surf.y_range[1],
                                step=0.05, description="start y"),
        }
        for w in self.controls.values():
            w.style, w.layout = style, lay
            if hasattr(w, "continuous_update"):
                w.continuous_update = False
        for key in ("schedule", "batch"):
            self.controls[key].style = {"description_width": "100px", "button_width": "72px"}
        self._quiet = False
        self.controls["surface"].observe(self._new_surface, names="value")
        for k, w in self.controls.items():
            if k != "surface":
                w.observe(self._changed, names="value")
        self.paths: dict[str, Any] = {}
        self.map = go.FigureWidget()
        self.losses = go.FigureWidget()
        self.formulas = W.HTMLMath()
        self.status = W.HTML()
        self.widget = W.HBox([W.VBox([*self.controls.values(), self.status]),
                              W.VBox([self.map, self.losses, self.formulas])])
        self.update()

    def _new_surface(self, change: Any) -> None:
        s = SURFACES[change["new"]]
        self._quiet = True  # one redraw for the surface and its start point, not three
        try:
            for w, (lo, hi), v in ((self.controls["x0"], s.x_range, s.start[0]),
                                   (self.controls["y0"], s.y_range, s.start[1])):
                w.min, w.max = min(lo, w.min), max(hi, w.max)  # widen, move, then narrow
                w.value = v
                w.min, w.max = lo, hi
        finally:
            self._quiet = False
        self.update()

    def _changed(self, _change: Any) -> None:
        if not self._quiet:
            self.update()

    def update(self) -> None:
        """Recompute every selected optimizer's path and redraw (errors go to the status)."""
        c = {k: w.value for k, w in self.controls.items()}
        try:
            self.paths = {o: descend(c["surface"], o, c["learning_rate"], c["steps"],
                                     start=(c["x0"], c["y0"]), momentum=c["momentum"],
                                     batch=c["batch"], schedule=c["schedule"])
                          for o in c["optimizers"]}
        except WorkbenchError as e:
            self.status.value = f"<span style='color:#b00020'>{e}</span>"
            return
        fig = trajectory_figure(c["surface"], self.paths, animate=False)
        losses = loss_figure(self.paths)
        with self.map.batch_update():
            self.map.data = ()
            self.map.add_traces(list(fig.data))
            self.map.layout = fig.layout
            self.map.layout.update(width=640, height=460)
        with self.losses.batch_update():
            self.losses.data = ()
            self.losses.add_traces(list(losses.data))
            self.losses.layout = losses.layout
            self.losses.layout.update(width=640, height=300)
        rules = [c["batch"]] + list(c["optimizers"]) + (
            ["inverse_sqrt"] if c["schedule"] == "inverse_sqrt" else [])
        self.formulas.value = "<br>".join(f"<b>{r}</b>: $${FORMULAS[r]}$$" for r in rules)
        reached = [f"{o}: {'diverged' if p.diverged else f'f = {p.losses[-1]:.3g}'}"
                   for o, p in self.paths.items()]
        self.status.value = "after the last step — " + "; ".join(reached)


def descent_explorer(surface_name: str = "rosenbrock",
                     optimizers: Sequence[str] = ("sgd", "momentum", "adam"),
                     learning_rate: float = 1e-3, steps: int = 300) -> DescentExplorer:
    """Build the interactive optimizer explorer (display ``.widget``).

    Example:
        >>> from workbench import teach
        >>> ex = teach.descent_explorer("bowl", ["sgd", "adam"], 0.19)   # doctest: +SKIP
        >>> ex.widget                                                   # doctest: +SKIP
    """
    return DescentExplorer(surface_name, optimizers, learning_rate, steps)
