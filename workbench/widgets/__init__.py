"""Notebook widgets: the live training dashboard (and, as they land, the control panel).

Importing this package imports plotly; it is loaded on first use of ``wb.widgets``.

Example:
    >>> import workbench as wb
    >>> plot = wb.widgets.LivePlot()
    >>> # wb.run(cfg, sinks=[plot])   or   model.fit(..., callbacks=[
    >>> #     wb.callbacks.MetricStream(sinks=[plot])])
"""

from workbench.widgets.liveplot import BoundedSeries, LivePlot

__all__ = ["BoundedSeries", "LivePlot"]
