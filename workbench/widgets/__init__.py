"""Notebook widgets: the live training dashboard, the control panel and the run comparison.

Importing this package imports plotly; it is loaded on first use of ``wb.widgets``.

Example:
    >>> import workbench as wb
    >>> plot = wb.widgets.LivePlot()
    >>> # wb.run(cfg, sinks=[plot])   or   model.fit(..., callbacks=[
    >>> #     wb.callbacks.MetricStream(sinks=[plot])])
"""

from workbench.widgets.compare import CompareView, compare
from workbench.widgets.compress_view import CompressView
from workbench.widgets.liveplot import BoundedSeries, LivePlot
from workbench.widgets.panel import ControlPanel
from workbench.widgets.search_view import SearchView

__all__ = ["BoundedSeries", "CompareView", "CompressView", "ControlPanel", "LivePlot",
           "SearchView", "compare"]
