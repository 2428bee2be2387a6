"""Widgets around :func:`descend`: pick a surface, optimizers, learning rate, momentum, batch
and start point; the paths, losses and update rules redraw on every change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.exceptions import WorkbenchError
from workbench.fields import FieldSpec
from workbench.teach._descent import (
    DESCENT_FIELDS,
    FORMULAS,
    SURFACES,
    Surface,
    descend,
    loss_figure,
    surface,
    trajectory_figure,
)


def _start_specs(surf: Surface) -> dict[str, FieldSpec]:
    """The start point's two sliders, bounded by the surface's window."""
    return {f"{axis}0": FieldSpec(f"{axis}0", "float", start, f"Start {axis}.", "descent",
                                  low=lo, high=hi, label=f"start {axis}")
            for axis, start, (lo, hi) in (("x", surf.start[0], surf.x_range),
                                          ("y", surf.start[1], surf.y_range))}


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

        from workbench.widgets.controls import make_control
        from workbench.widgets.jobs import guarded

        surf = surface(surface_name)
        opts = DESCENT_FIELDS["optimizers"].check(list(optimizers))
        style, lay = {"description_width": "100px"}, {"width": "330px"}
        values = {"surface": surf.name, "optimizers": opts, "learning_rate": learning_rate,
                  "momentum": 0.9, "schedule": "constant", "batch": "full", "steps": steps}
        for name, value in values.items():
            DESCENT_FIELDS[name].check(value)
        specs = {**{n: DESCENT_FIELDS[n] for n in values}, **_start_specs(surf)}
        values.update(x0=surf.start[0], y0=surf.start[1])
        self.controls: dict[str, Any] = {
            name: make_control(spec, values[name], style=style, layout=lay)
            for name, spec in specs.items()}
        self._quiet = False
        self.errors = W.Output()  # what a handler raises past its own checks, never lost
        self.controls["surface"].observe(guarded(self.errors, self._new_surface), names="value")
        for k, w in self.controls.items():
            if k != "surface":
                w.observe(guarded(self.errors, self._changed), names="value")
        self.paths: dict[str, Any] = {}
        self.map = go.FigureWidget()
        self.losses = go.FigureWidget()
        self.formulas = W.HTMLMath()
        self.status = W.HTML()
        self.widget = W.HBox([W.VBox([*self.controls.values(), self.status, self.errors]),
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
