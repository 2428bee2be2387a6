"""What the numbers a run emits are called, in which unit, and which way is better.

One table, :data:`METRICS`, for the keys of a run's metrics, its history and a notebook's
results: tables, reports, chart axes and search objectives read their labels and units here
instead of showing raw keys. A key that is not listed shows as itself.

Example:
    >>> from workbench.metrics import METRICS, title, display
    >>> title("size_bytes_packed")
    'Packed size (KB)'
    >>> display("test_accuracy", 0.9722)
    '97.22%'
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its key, what people call it, its unit and which direction is better.

    ``scale`` converts the stored value into the displayed unit (bytes to KB: 1/1000;
    a fraction to percent: 100). ``objective`` marks a key of ``wb.run``'s metrics that a search
    may optimize (``wb.search(objectives=...)``).
    """

    name: str
    label: str
    unit: str = ""
    direction: str = ""  # "max", "min", or "" when neither is better
    scale: float = 1.0
    digits: int = 4  # significant digits shown
    objective: bool = False

    @property
    def title(self) -> str:
        """``label (unit)``, for axes and table headers."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def display(self, value: Any) -> str:
        """The value in this metric's unit, for a table cell or a summary line."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "" if value is None else str(value)
        if not math.isfinite(value):
            return ""
        v = float(value) * self.scale
        if self.unit == "%":
            return f"{v:.2f}%"
        if self.unit == "x":
            return f"{v:.1f}x"
        if self.unit == "KB":
            return f"{v:,.1f} KB"
        if isinstance(value, numbers.Integral) and self.scale == 1.0:
            return f"{int(value):,}"
        return f"{v:.{self.digits}g}" + (f" {self.unit}" if self.unit else "")


def _specs(*specs: MetricSpec) -> dict[str, MetricSpec]:
    return {s.name: s for s in specs}


_ACC = {"unit": "%", "direction": "max", "scale": 100.0}
_KB = {"unit": "KB", "direction": "min", "scale": 1e-3}
_OBJ = {"objective": True}

#: Every key a run (``wb.run``), its history or a compression notebook emits.
METRICS: dict[str, MetricSpec] = _specs(
    MetricSpec("test_accuracy", "Test accuracy", **_ACC, **_OBJ),
    MetricSpec("accuracy", "Training accuracy", **_ACC),
    MetricSpec("val_accuracy", "Validation accuracy", **_ACC),
    MetricSpec("packed_accuracy", "Accuracy of the .wbz", **_ACC, **_OBJ),
    MetricSpec("baseline_accuracy", "Dense accuracy", **_ACC),
    MetricSpec("source_test_accuracy", "Source run's accuracy", **_ACC),
    MetricSpec("one_shot_accuracy", "One-shot accuracy", **_ACC),
    MetricSpec("tflite_int8_accuracy", "TFLite int8 accuracy", **_ACC),
    MetricSpec("test_loss", "Test loss", direction="min", **_OBJ),
    MetricSpec("loss", "Training loss", direction="min"),
    MetricSpec("val_loss", "Validation loss", direction="min"),
    MetricSpec("lr", "Learning rate"),
    MetricSpec("size_bytes_packed", "Packed size", **_KB, **_OBJ),
    MetricSpec("size_bytes_estimate", "Size estimate", **_KB),
    MetricSpec("size_bytes_float32", "Float32 size", **_KB, **_OBJ),
    MetricSpec("tflite_int8_bytes", "TFLite int8 size", **_KB),
    MetricSpec("compression_ratio", "Compression", "x", "max", **_OBJ),
    MetricSpec("sparsity", "Sparsity", "%", scale=100.0, **_OBJ),
    MetricSpec("bits", "Bits", "bits"),
    MetricSpec("params", "Parameters", direction="min", **_OBJ),
    MetricSpec("seconds", "Wall time", "s", "min", digits=3),
    MetricSpec("train_time_s", "Training time", "s", "min", digits=3, **_OBJ),
    MetricSpec("epoch_time_s", "Epoch time", "s", "min", digits=3),
    MetricSpec("steps_per_execution", "Steps per call", "steps"),
    MetricSpec("replicas", "Replicas", "devices"),
    MetricSpec("epoch", "Epoch"),
)


#: The metrics a search can optimize (``METRIC:max|min``; the direction may be left out when
#: the metric has one).
OBJECTIVE_METRICS: tuple[str, ...] = tuple(n for n, s in METRICS.items() if s.objective)

#: The model-size keys of a run's epoch events and metrics, in bytes, best first (a chart of
#: a run's size shows the first one its events carry).
SIZE_KEYS: tuple[str, ...] = tuple(n for n in METRICS if n.startswith("size_bytes_"))


def spec_of(name: str) -> MetricSpec:
    """The spec of a metric key (an unlisted key gets a spec that shows it as it is)."""
    return METRICS.get(name) or MetricSpec(name, name)


def title(name: str) -> str:
    """``Label (unit)`` of a metric key, or of a config field; the key itself if neither."""
    if name in METRICS:
        return METRICS[name].title
    from workbench.config import FIELDS

    return FIELDS[name].title if name in FIELDS else name


def display(name: str, value: Any) -> str:
    """A metric's value in its unit (``97.22%``, ``13.4 KB``, ``15.2x``)."""
    return spec_of(name).display(value)
