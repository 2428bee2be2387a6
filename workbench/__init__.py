"""nn-workbench: train, compress and compare Keras 3 models from one experiment config.

``import workbench as wb`` is fast and does not import TensorFlow; the names below load their
modules on first use.

Example:
    >>> import workbench as wb
    >>> cfg = wb.ExperimentConfig(dataset="digits", model="mlp", epochs=3)
    >>> result = wb.run(cfg)                     # doctest: +SKIP
    >>> wb.RunStore("runs").table()              # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workbench._version import __version__
from workbench.config import FIELDS, ExperimentConfig, FieldSpec
from workbench.exceptions import (
    ArtifactError,
    ConfigError,
    DataError,
    DatasetUnavailable,
    ModelError,
    RunFailed,
    StoreError,
    UnknownFieldError,
    WorkbenchError,
)

_LAZY_ATTRS = {
    "run": "workbench.training.experiment",
    "RunStore": "workbench.runs",
    "RunResult": "workbench.runs",
    "schedule_preview": "workbench.training.schedules",
    "datasets": "workbench.data",
    "load_dataset": "workbench.data",
    "register_dataset": "workbench.data",
    "from_arrays": "workbench.data",
    "Dataset": "workbench.data",
    "trust": "workbench.data",
    "models": "workbench.architectures",
    "register_model": "workbench.architectures",
    "follow": "workbench.sinks.jsonl",
    "run_notebook": "workbench.notebooks",
    "sweep": "workbench.notebooks",
    "save_results": "workbench.notebooks",
    "report": "workbench.reporting",
    "search": "workbench.hpsearch",
    "SearchSpace": "workbench.search_space",
    "uniform": "workbench.search_space",
    "loguniform": "workbench.search_space",
    "intrange": "workbench.search_space",
}
_LAZY_MODULES = ("callbacks", "sinks", "figures", "widgets", "compress", "cli", "teach")

# a literal list, so that linters see the re-exports; tests/test_packaging.py checks that it
# is exactly the eager names plus _LAZY_ATTRS and _LAZY_MODULES
__all__ = ["FIELDS", "ArtifactError", "ConfigError", "DataError", "Dataset",
           "DatasetUnavailable", "ExperimentConfig", "FieldSpec", "ModelError", "RunFailed",
           "RunResult", "RunStore", "SearchSpace",
           "StoreError", "UnknownFieldError", "WorkbenchError", "__version__", "callbacks", "cli",
           "compress", "datasets", "figures", "follow", "from_arrays", "intrange",
           "load_dataset", "loguniform", "models", "register_dataset", "register_model",
           "report", "run", "run_notebook", "save_results", "schedule_preview", "search",
           "sinks", "sweep", "teach", "trust", "uniform", "widgets"]


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"workbench.{name}")
    else:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from workbench import callbacks, cli, compress, figures, sinks, teach, widgets
    from workbench.architectures import models, register_model
    from workbench.data import (
        Dataset,
        datasets,
        from_arrays,
        load_dataset,
        register_dataset,
        trust,
    )
    from workbench.hpsearch import search
    from workbench.notebooks import run_notebook, save_results, sweep
    from workbench.reporting import report
    from workbench.runs import RunResult, RunStore
    from workbench.search_space import SearchSpace, intrange, loguniform, uniform
    from workbench.sinks.jsonl import follow
    from workbench.training.experiment import run
    from workbench.training.schedules import schedule_preview
