"""LivePlot: a live plotly dashboard (loss, accuracy, learning rate, model size) as a sink."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np

from workbench.figures import PALETTE, dashboard
from workbench.metrics import SIZE_KEYS


class BoundedSeries:
    """An x/y series whose length stays bounded however many points are appended.

    When it grows past ``cap`` points, its older half is thinned 2:1, keeping in each group of
    four points the minimum and the maximum (so spikes and extremes survive) and any non-finite
    point (so gaps stay gaps). Recent points stay at full resolution. Appending is amortized
    O(1) and the series never holds more than ``cap`` points.

    Example:
        >>> from workbench.widgets.liveplot import BoundedSeries
        >>> s = BoundedSeries(cap=1000)
        >>> for i in range(100_000):
        ...     s.append(i, float(i % 97))
        >>> len(s) <= 1000, max(s.y) == 96.0, s.x[-1] == 99_999
        (True, True, True)
    """

    def __init__(self, cap: int = 2000) -> None:
        if cap < 16:
            raise ValueError(f"cap must be >= 16, got {cap}")
        self.cap = cap
        self.x: list[float] = []
        self.y: list[float] = []
        self.dirty = False

    def __len__(self) -> int:
        return len(self.x)

    def append(self, x: float, y: float) -> None:
        self.dirty = True
        self.x.append(x)
        self.y.append(y)
        if len(self.x) > self.cap:
            self._thin()

    def _thin(self) -> None:
        half = (len(self.x) // 2) // 4 * 4
        ox, oy = np.asarray(self.x[:half]), np.asarray(self.y[:half], dtype=float)
        keep: list[int] = []
        for g in range(0, half, 4):
            ys = oy[g:g + 4]
            bad = ~np.isfinite(ys)
            if bad.any():
                keep.extend(g + int(i) for i in np.flatnonzero(bad)[:1])
                if (~bad).any():
                    keep.append(g + int(np.nanargmax(np.where(bad, -np.inf, ys))))
                continue
            lo, hi = g + int(np.argmin(ys)), g + int(np.argmax(ys))
            keep.extend(sorted({lo, hi}))
        keep.sort()
        self.x = ox[keep].tolist() + self.x[half:]
        self.y = oy[keep].tolist() + self.y[half:]


def _in_ipython_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and hasattr(ip, "kernel")


# Each run's traces, in order: name -> (row, col, line style, opacity, mode).
_TRACE_SPECS: dict[str, tuple[int, int, dict[str, Any], float, str]] = {
    "batch_loss": (1, 1, {"width": 1}, 0.3, "lines"),
    "loss": (1, 1, {"width": 3}, 1.0, "lines+markers"),
    "val_loss": (1, 1, {"width": 3, "dash": "dash"}, 1.0, "lines+markers"),
    "batch_accuracy": (1, 2, {"width": 1}, 0.3, "lines"),
    "accuracy": (1, 2, {"width": 3}, 1.0, "lines+markers"),
    "val_accuracy": (1, 2, {"width": 3, "dash": "dash"}, 1.0, "lines+markers"),
    "lr": (2, 1, {"width": 2}, 1.0, "lines"),
    "size": (2, 2, {"width": 2}, 1.0, "lines+markers"),
}


class _RunTraces:
    """Trace indices and bounded buffers of one run inside the dashboard."""

    def __init__(self, base: int, cap: int, params: int | None) -> None:
        self.base = base  # index of the run's first trace in figure.data
        self.params = params
        self.series = {name: BoundedSeries(cap) for name in _TRACE_SPECS}


class LivePlot:
    """A live dashboard of loss, accuracy, learning rate and model size; a metric sink.

    Hand it to ``wb.run(cfg, sinks=[plot])`` or to ``MetricStream(sinks=[plot])`` in any
    ``model.fit``. It shows itself when the first run starts (or when displayed), and updates
    one ``plotly.graph_objects.FigureWidget`` in place with ``batch_update()``: no
    ``clear_output``, no flicker, safe to feed from a background thread. Several runs sent to
    the same LivePlot are overlaid, one colour each. Each trace stays under ``max_points``
    points (see :class:`BoundedSeries`), so an update costs the same at step 100,000 as at
    step 1,000. Updates are sent at most every ``min_interval`` seconds (epoch ends at once).

    Without a frontend (papermill, nbconvert) a FigureWidget never renders, so at the end of
    each run the live view is replaced by a static ``go.Figure`` of the same dashboard
    (``static_on_end=True``), which renders offline in HTML reports.

    Example:
        >>> import workbench as wb
        >>> plot = wb.widgets.LivePlot()
        >>> plot.send({"type": "run_start", "run_id": "a", "params": 100})
        >>> plot.send({"type": "epoch", "run_id": "a", "epoch": 1, "step": 10, "loss": 0.5})
        >>> plot.point_count()
        2
    """

    def __init__(self, max_points: int = 2000, min_interval: float = 0.25,
                 static_on_end: bool = True, height: int = 560, title: str | None = None,
                 auto_display: bool = True, width: int | None = None) -> None:
        import plotly.graph_objects as go

        self.max_points = max_points
        self.min_interval = min_interval
        self.static_on_end = static_on_end
        self.auto_display = auto_display
        self._lock = threading.RLock()
        self._runs: dict[str, _RunTraces] = {}
        self._last_flush = 0.0
        self._handle: Any = None
        base = dashboard(runs=[])
        base.update_layout(height=height, title=title, width=width)
        self.figure = go.FigureWidget(base)
        self.update_count = 0

    # --- display ---
    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._handle = display(self.figure, display_id=True)

    def _ensure_shown(self) -> None:
        if self._handle is None and self.auto_display and _in_ipython_kernel():
            self._ipython_display_()
        elif self._handle is not None and self.static_on_end:
            self._handle.update(self.figure)  # back to live for the next run

    # --- the sink protocol ---
    def send(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        run_id = str(event.get("run_id", "run"))
        with self._lock:
            if kind == "run_start" or run_id not in self._runs:
                self._add_run(run_id, event)
            rt = self._runs[run_id]
            if kind == "batch":
                x = float(event.get("step", 0))
                for m in ("loss", "accuracy"):
                    if m in event:
                        rt.series[f"batch_{m}"].append(x, _f(event[m]))
                if event.get("lr") is not None:
                    rt.series["lr"].append(x, _f(event["lr"]))
            elif kind == "epoch":
                x = float(event.get("step", event.get("epoch", 0)))
                for m in ("loss", "val_loss", "accuracy", "val_accuracy"):
                    if m in event:
                        rt.series[m].append(x, _f(event[m]))
                if event.get("lr") is not None:
                    rt.series["lr"].append(x, _f(event["lr"]))
                size = next((event[k] for k in SIZE_KEYS if event.get(k) is not None), None)
                if size is None and rt.params is not None:
                    size = 4.0 * rt.params
                if size is not None:
                    rt.series["size"].append(x, _f(size) / 1000)  # KB, as the axis says
            urgent = kind in ("epoch", "run_start", "run_end")
            if urgent or time.monotonic() - self._last_flush >= self.min_interval:
                self.flush()
        if kind == "run_end" and self.static_on_end and self._handle is not None:
            self._handle.update(self.static_bundle(), raw=True)

    def _add_run(self, run_id: str, event: dict[str, Any]) -> None:
        import plotly.graph_objects as go

        if run_id in self._runs:
            return
        self._ensure_shown()
        i = len(self._runs)
        color = PALETTE[i % len(PALETTE)]
        label = _label(event.get("config") or {}, run_id)
        rt = _RunTraces(len(self.figure.data), self.max_points, event.get("params"))
        with self.figure.batch_update():
            for name, (r, c, line, opacity, mode) in _TRACE_SPECS.items():
                trace_cls = go.Scattergl if name.startswith("batch_") else go.Scatter
                self.figure.add_trace(
                    trace_cls(x=[], y=[], mode=mode, line={"color": color, **line},
                              opacity=opacity, name=f"{label} {name.replace('_', ' ')}",
                              showlegend=name in ("loss", "val_loss"), legendgroup=run_id),
                    row=r, col=c)
        self._runs[run_id] = rt

    def flush(self) -> None:
        """Push buffered points to the figure (one batched update)."""
        with self._lock:
            index: list[int] = []
            xs: list[np.ndarray] = []
            ys: list[np.ndarray] = []
            for rt in self._runs.values():
                for k, name in enumerate(_TRACE_SPECS):
                    s = rt.series[name]
                    if s.dirty:
                        index.append(rt.base + k)
                        xs.append(np.asarray(s.x, dtype="float64"))  # typed arrays: ~8x
                        ys.append(np.asarray(s.y, dtype="float64"))  # cheaper; NaN: a gap
                        s.dirty = False
            if index:  # one restyle message: ~2.5x cheaper than setting each trace's x, y
                self.figure.plotly_restyle({"x": xs, "y": ys}, trace_indexes=index)
            self._last_flush = time.monotonic()
            self.update_count += 1

    # --- inspection and static output ---
    def point_count(self) -> int:
        """Total points currently plotted (all traces, all runs)."""
        with self._lock:
            return sum(len(s) for rt in self._runs.values() for s in rt.series.values())

    def static_figure(self) -> Any:
        """The same dashboard as a static ``go.Figure`` (renders in offline HTML)."""
        import plotly.graph_objects as go

        with self._lock:
            fig = go.Figure(self.figure)
        return fig

    def static_bundle(self) -> dict[str, Any]:
        """The static figure as a display bundle that replaces the live view in place: the
        plotly mimetype, which JupyterLab draws and :func:`workbench.notebooks.to_html` turns
        into a chart with one shared plotly.js (no 4.8 MB copy of plotly.js per chart in the
        notebook)."""
        import json

        import plotly.io as pio

        fig = self.static_figure()
        return {"application/vnd.plotly.v1+json": json.loads(pio.to_json(fig)),
                "text/plain": f"<LivePlot: {len(self._runs)} run(s)>"}

    def close(self) -> None:
        """Sinks may be closed by MetricStream at run end; a LivePlot stays usable."""
        self.flush()


def _label(config: dict[str, Any], run_id: str) -> str:
    """A run's legend entry: its run_name, else what it is ("mlp adam · prune 0.9 · 4 bit")
    and the last part of its id, which the run table and the store share."""
    if config.get("run_name"):
        return str(config["run_name"])
    from workbench.naming import describe

    parts = [" ".join(str(config[k]) for k in ("model", "optimizer") if config.get(k))]
    parts += [describe(k, config[k]) for k in ("prune_ratio", "quant_bits", "cluster_k")
              if config.get(k)]
    short = run_id.rsplit("-", 1)[-1]
    return " · ".join(p for p in parts if p) + f" ({short})" if parts[0] else run_id


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


__all__ = ["BoundedSeries", "LivePlot"]
