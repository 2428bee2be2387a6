"""Pure plotly figure builders from metric events or DataFrames.

Each builder first extracts plain data (``*_data`` functions, testable without plotly), then
draws it. The same builders serve the live ``wb.widgets.LivePlot``, static reports and tests.
Non-finite values are drawn as gaps and marked with an ``x`` where they occur.

Example:
    >>> import workbench as wb
    >>> events = [{"type": "epoch", "epoch": 1, "step": 10, "loss": 1.0, "val_loss": 1.2},
    ...           {"type": "epoch", "epoch": 2, "step": 20, "loss": 0.5, "val_loss": 0.7}]
    >>> fig = wb.figures.training_curves(events, "loss")
    >>> [t.name for t in fig.data]
    ['train loss', 'validation loss']
"""

from workbench.figures._compare import (
    metric_vs_param,
    overlay,
    pareto,
    pareto_front,
    sensitivity,
)
from workbench.figures._curves import (
    DASHBOARD_PANELS,
    PALETTE,
    CurveData,
    curve_data,
    curve_traces,
    dashboard,
    lr_axis,
    lr_curve,
    lr_data,
    size_curve,
    size_data,
    training_curves,
)

__all__ = [
    "CurveData",
    "DASHBOARD_PANELS",
    "PALETTE",
    "curve_data",
    "curve_traces",
    "dashboard",
    "lr_axis",
    "lr_curve",
    "lr_data",
    "metric_vs_param",
    "overlay",
    "pareto",
    "pareto_front",
    "sensitivity",
    "size_curve",
    "size_data",
    "training_curves",
]
