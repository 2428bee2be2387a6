"""The Playground's options: its fields, as specs that check values and make its controls."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from workbench.config import FIELDS
from workbench.fields import FieldSpec

TWO_D = ("moons", "circles", "spirals")
REGULARIZATION = ("none", "l1", "l2")
#: Input features computed from a point (x1, x2), the data being scaled to about [-1, 1].
FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1^2": lambda p: p[:, 0] ** 2,
    "x2^2": lambda p: p[:, 1] ** 2,
    "x1*x2": lambda p: p[:, 0] * p[:, 1],
    "sin(x1)": lambda p: np.sin(np.pi * p[:, 0]),
    "sin(x2)": lambda p: np.sin(np.pi * p[:, 1]),
}


def _own(name: str, kind: str, default: Any, help: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, default, help, "playground", **kw)


def _config(name: str, **changes: Any) -> FieldSpec:
    """A config field, as the Playground uses it (same check, its own default)."""
    return dataclasses.replace(FIELDS[name], group="playground", **changes)


#: Every setting of :class:`Playground`: checked by these specs, rendered by the panel's control
#: factory. The training fields are the config's own (same names, same checks).
PLAYGROUND_FIELDS: dict[str, FieldSpec] = {s.name: s for s in (
    _own("dataset", "str", "moons", "The 2-D data set.", choices=TWO_D, label="Data set"),
    _own("noise", "float", None, "The data set's noise (None = its default).", low=0.0,
         high=1.0, optional=True, widget_max=0.5, label="Noise"),
    _own("n_points", "int", 500, "Points generated.", low=20, high=100_000, label="Points"),
    _own("test_fraction", "float", 0.5, "Fraction of the points held out.", low=0.05,
         high=0.9, label="Test fraction"),
    _own("features", "str_list", ("x1", "x2"), "Input features computed from a point.",
         choices=tuple(FEATURES), label="Features"),
    _own("hidden_units", "int_list", (8, 8), "Hidden layer widths, e.g. 8,8 (up to 8 layers; "
         "empty: a linear classifier).", low=1, high=1024, label="Hidden"),
    _config("activation", default="tanh"),
    _config("optimizer"),
    _config("learning_rate", default=0.03, optional=False, widget_max=1.0, label="LR"),
    _config("lr_schedule", label="Schedule"),
    _config("batch_size", default=10, widget_max=100, label="Batch"),
    _config("epochs", default=100),
    _own("regularization", "str", "none", "A penalty on the kernels.", choices=REGULARIZATION,
         label="Regularize"),
    _own("reg_rate", "float", 0.0, "The penalty's rate.", low=0.0, log=True, widget_max=0.1,
         label="Reg. rate"),
    _config("seed"),
)}
