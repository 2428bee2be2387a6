"""The data-set registry: names -> loaders + metadata, built-in, registered or installed.

Three ways in, one table (:data:`DATASETS`):

- the built-in sets (:mod:`workbench.data.builtin`);
- :func:`register_dataset` at run time, from a notebook or a package's import;
- the entry-point group ``nn_workbench.datasets``: an installed package that declares
  ``name = "package.module:loader"`` adds ``name`` for every surface (CLI choices and help,
  the panel's dropdown, notebook parameters), read once, on the first look at the table.

A leaf: nothing here imports the config or TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workbench.data.checks import arrays_from_callable, looks_like_path
from workbench.data.types import Arrays, DatasetInfo
from workbench.exceptions import ConfigError, DataError
from workbench.registry import Registry

ENTRY_POINT_GROUP = "nn_workbench.datasets"
ON_CHANGE: list[Callable[[], None]] = []  # what caches loads by name (cleared on a change)
DATASETS: Registry[DatasetInfo] = Registry(ENTRY_POINT_GROUP, lambda n, o: o if isinstance(
    o, DatasetInfo) else _info_from_loader(n, o))
"""Every data set known by name: built-in, registered, and installed plug-ins."""


def _info_from_loader(name: str, loader: Callable[[], Any], description: str = "",
                      class_names: tuple[str, ...] | None = None,
                      recipe: Mapping[str, Any] | None = None) -> DatasetInfo:
    """A :class:`DatasetInfo` whose shapes are read off the loader's arrays (loaded once)."""
    cache: dict[str, Any] = {}

    def load() -> Arrays:
        if "arrays" not in cache:
            cache["arrays"], cache["names"] = arrays_from_callable(loader, name)
        return cache["arrays"]

    xtr, ytr, xte, yte = load()
    k = int(max(ytr.max(), yte.max())) + 1
    names = class_names or cache.get("names") or tuple(str(i) for i in range(k))
    if len(names) != k:
        raise DataError(f"dataset {name!r}: {len(names)} class names for {k} classes")
    return DatasetInfo(name, description or f"registered: {getattr(loader, '__name__', name)}",
                       tuple(xtr.shape[1:]), k, tuple(names), "registered", len(xtr), len(xte),
                       load, recipe=dict(recipe or {}))


def register_dataset(name: str, loader: Callable[[], Any], *, description: str = "",
                     class_names: tuple[str, ...] | list[str] | None = None,
                     recipe: Mapping[str, Any] | None = None, replace: bool = False) -> DatasetInfo:
    """Add a data set that every surface sees by ``name``: the config, the CLI's choices and
    help, ``workbench datasets``, the panel's dropdown, notebook parameters, sweeps, searches.

    ``loader()`` returns ``(x_train, y_train, x_test, y_test)``, ``(x, y)`` (split once,
    20% stratified test set drawn with seed 0, so every run compares on the same test set)
    or a :class:`Dataset`. It is called once now, to read the shapes,
    and its arrays are checked like any user data (NaN, labels). In other processes (a sweep's
    workers) the name exists when the code that registers it has run there too: ship it as a
    package with an ``nn_workbench.datasets`` entry point for that.

    Raises ConfigError for a name already taken (``replace=True`` to redefine your own) and
    DataError, naming the data set, when the loader raises or returns the wrong thing.

    Example:
        >>> import numpy as np, workbench as wb
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(100, 5)).astype("float32"), np.arange(100) % 3
        >>> wb.register_dataset("blobs5", lambda: (x, y), replace=True).num_classes
        3
        >>> wb.ExperimentConfig(dataset="blobs5").dataset
        'blobs5'
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError("name", name, "a data-set name made of letters, digits and _ "
                          "(not starting with a digit)")
    if looks_like_path(name) or name == "arrays":
        raise ConfigError("name", name, "a name that is not a path and not 'arrays'")
    if name in DATASETS and not (replace and DATASETS[name].source == "registered"):
        raise ConfigError("name", name, "a new name: it is taken (built-in data sets cannot be "
                          "replaced; pass replace=True to redefine one you registered)")
    if not callable(loader):
        raise ConfigError("loader", loader, "a callable returning arrays or a wb.Dataset")
    info = _info_from_loader(name, loader, description,
                             tuple(class_names) if class_names else None, recipe)
    DATASETS[name] = info
    for hook in ON_CHANGE:
        hook()
    return info


def datasets() -> dict[str, DatasetInfo]:
    """The registered data sets, by name (built-in, registered and installed plug-ins).

    Example:
        >>> import workbench as wb
        >>> {"digits", "fashion_mnist", "mnist1d"} <= set(wb.datasets())
        True
    """
    return dict(DATASETS.items())


def recommended_text(recommended: Mapping[str, Any]) -> str:
    """``cfg.recommended`` as the console and the panel show it.

    Example:
        >>> from workbench.data import recommended_text
        >>> recommended_text({"batch_size": 100, "learning_rate": 0.01})
        'batch_size 100, learning_rate 0.01'
    """
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in recommended.items())
