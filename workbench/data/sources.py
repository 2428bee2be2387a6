"""What ``dataset`` may name, and loading it: a registered name, a path, ``module:function``,
or ``arrays`` (data handed over in memory).

- ``digits``, ``fashion_mnist``, ... or a name from :func:`workbench.register_dataset` or an
  installed plug-in;
- a ``.npz`` file (``x_train, y_train, x_test, y_test``, or ``x, y``);
- a folder of images, one subfolder per class (optional ``train/`` and ``test/``);
- a ``.csv`` or ``.parquet`` table with a label column;
- ``package.module:function``: a callable returning arrays or a :class:`Dataset`. That is
  code: it is imported when you name it yourself, but a name read from a run folder, sweep or
  study (``init_from``, ``WhatIf`` on a run id, ``RunResult.load_data``) is imported only with
  ``trust=True`` or once its module is trusted (:func:`trust`, or ``WORKBENCH_TRUST=pkg,...``).

Every form is checked the same way (shapes, NaN/inf, labels) and the :class:`Dataset` records
a fingerprint (:attr:`Dataset.fingerprint`) that a reload must match.
"""

from __future__ import annotations

import importlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.data.checks import (
    ARRAYS,
    _checked,
    arrays_from_callable,
    from_arrays,
    is_callable_spec,
    looks_like_path,
)
from workbench.data.files import (
    labels_to_classes,
    read_folder,
    read_npz,
    read_table,
    split_stratified,
)
from workbench.data.registry import DATASETS, ON_CHANGE
from workbench.data.types import Dataset, DatasetInfo
from workbench.exceptions import ConfigError, DataError, DatasetUnavailable, did_you_mean

_TRUSTED: set[str] = set()
DATA_MAP_ENV = "WORKBENCH_DATA_MAP"
"""JSON ``{path as named: local copy}``: where a Dask worker put the data that travelled with
its run; the run reads the copy and records the name."""
DATASET_PATHS = ("a path to a .npz, .csv or .parquet file or a folder of images; or "
                 "package.module:function")
DEFAULT_OPTIONS = {"test_split": 0.2, "image_size": None, "image_mode": "auto",
                   "label_column": "label"}


def local_copy(spec: str) -> Path:
    """The file or folder to read for a path ``spec``: its local copy on a Dask worker
    (:data:`DATA_MAP_ENV`), else the path itself."""
    mapping = os.environ.get(DATA_MAP_ENV)
    if mapping:
        try:
            found = json.loads(mapping).get(spec)
        except ValueError:
            found = None
        if found:
            return Path(found)
    return Path(spec).expanduser()


def kind_of(spec: str) -> str:
    """``name``, ``arrays``, ``callable``, ``npz``, ``folder`` or ``table``; ConfigError (with a
    did-you-mean over the names) for text that is none of them.

    Example:
        >>> from workbench.data import kind_of
        >>> kind_of("digits"), kind_of("data/cats.npz"), kind_of("mypkg.data:load")
        ('name', 'npz', 'callable')
    """
    if not isinstance(spec, str) or not spec:
        raise ConfigError("dataset", spec, allowed_text())
    if spec in DATASETS:
        return "name"
    if spec == ARRAYS:
        return "arrays"
    if is_callable_spec(spec):
        return "callable"
    if looks_like_path(spec):
        suffix = Path(spec).suffix.lower()
        if suffix == ".npz":
            return "npz"
        if suffix in (".csv", ".parquet"):
            return "table"
        if Path(spec).expanduser().is_file():
            raise ConfigError("dataset", spec, "a .npz, .csv or .parquet file or a folder of "
                              f"images (a {suffix or 'suffix-less'} file is none of them)")
        return "folder"
    raise ConfigError("dataset", spec, allowed_text() + did_you_mean(spec, DATASETS))


def short_name(spec: str) -> str:
    """A path's stem or a callable's name: what a run's label shows of ``dataset``/``model``.

    Example:
        >>> from workbench.data.sources import short_name
        >>> short_name("/data/cats.npz"), short_name("lab.data:load_cells"), short_name("mlp")
        ('cats', 'load_cells', 'mlp')
    """
    if ":" in spec and is_callable_spec(spec):
        return spec.rsplit(":", 1)[1]
    return Path(spec).stem if "/" in spec or "\\" in spec or "." in spec else spec


def allowed_text() -> str:
    return "one of: " + ", ".join(DATASETS) + "; or " + DATASET_PATHS


def check_spec(spec: Any) -> str:
    """The config's check of ``dataset``: syntax only (a path is looked at when loaded)."""
    kind_of(spec)
    return spec


def trust(*modules: str) -> None:
    """Allow ``module:function`` data sets and models from these modules (and their
    submodules) to be imported when a run folder, sweep or study names them.

    Example:
        >>> import workbench as wb
        >>> wb.trust("mylab.datasets")
    """
    _TRUSTED.update(modules)


def _trusted(module: str) -> bool:
    env = {m.strip() for m in os.environ.get("WORKBENCH_TRUST", "").split(",") if m.strip()}
    return any(module == m or module.startswith(m + ".") for m in _TRUSTED | env)


def import_callable(spec: str, field: str, trusted: bool) -> Any:
    """The object ``package.module:function`` names, imported only when ``trusted`` (or its
    module is trusted); ConfigError naming ``field`` when it does not import."""
    module, _, name = spec.partition(":")
    if not trusted and not _trusted(module):
        raise ConfigError(field, spec, message=f"{field}={spec!r} names code, and it was read "
                          f"from a run, sweep or study, so it is not imported: pass trust=True "
                          f"(--trust on the command line) or call wb.trust({module!r}) if you "
                          f"trust it")
    try:
        mod = importlib.import_module(module)
    except Exception as e:
        raise ConfigError(field, spec, message=f"{field}={spec!r}: module {module!r} does not "
                          f"import ({type(e).__name__}: {e})") from None
    fn = getattr(mod, name, None)
    if fn is None or not callable(fn):
        raise ConfigError(field, spec, message=f"{field}={spec!r}: module {module!r} has no "
                          f"callable {name!r}" + did_you_mean(name, [n for n in dir(mod)
                                                                     if not n.startswith("_")]))
    return fn


def options_of(cfg: Any) -> dict[str, Any]:
    """The config's data options (``test_split``, ``image_size``, ``image_mode``,
    ``label_column``), as :func:`load_dataset` takes them."""
    return {k: getattr(cfg, k, v) for k, v in DEFAULT_OPTIONS.items()}


def load_for(cfg: Any, trust: bool = True) -> Dataset:
    """The data set ``cfg`` names, loaded with its data options.

    Example:
        >>> import workbench as wb
        >>> from workbench.data.sources import load_for
        >>> load_for(wb.ExperimentConfig(dataset="moons")).input_shape
        (2,)
    """
    return load_dataset(cfg.dataset, **options_of(cfg), trust=trust)


def load_dataset(spec: str, *, test_split: float = 0.2, image_size: int | None = None,
                 image_mode: str = "auto", label_column: str = "label",
                 trust: bool = True) -> Dataset:
    """Load what ``dataset`` names (cached per process; arrays are read-only).

    The options are the config's data fields; each form reads only its own (``test_split``
    when the data has no test split of its own, ``image_size`` and ``image_mode`` for
    folders, ``label_column`` for tables). ``trust`` says whether a ``module:function`` may
    be imported (see the module).

    Raises ConfigError for an unknown name or a missing path, DatasetUnavailable when a known
    set cannot be had here, and DataError naming the file and what is wrong with it.

    Example:
        >>> import workbench as wb
        >>> ds = wb.load_dataset("digits")
        >>> ds.x_train.shape, ds.x_test.shape
        ((1437, 8, 8, 1), (360, 8, 8, 1))
    """
    kind = kind_of(spec)
    if kind == "callable":
        import_callable(spec, "dataset", trust)  # refused before the cache can answer
    if kind in ("npz", "folder", "table"):
        path = local_copy(spec)
        if not path.exists():
            raise ConfigError("dataset", spec, "an existing file or folder (no such path"
                              + (f"; {path.parent} does not exist" if not path.parent.exists()
                                 else "") + ")")
        st = path.stat()
        stamp: Any = (st.st_size, st.st_mtime_ns) if path.is_file() else None
    else:
        stamp = None
    keep = {"npz": ("test_split",), "table": ("test_split", "label_column"),
            "folder": ("test_split", "image_size", "image_mode"), "callable": ()}.get(kind, ())
    opts = {"test_split": test_split, "image_size": image_size, "image_mode": image_mode,
            "label_column": label_column}
    return _load_spec(spec, tuple((k, opts[k]) for k in keep), stamp)


@lru_cache(maxsize=8)
def _load_spec(spec: str, options: tuple[tuple[str, Any], ...], _stamp: Any) -> Dataset:
    opts = {**DEFAULT_OPTIONS, **dict(options)}
    kind = kind_of(spec)
    conversions: tuple[str, ...] = ()
    names: tuple[str, ...] | None = None
    if kind == "arrays":
        raise DataError("dataset='arrays' was handed over in memory: pass the arrays again "
                        "with data=(x_train, y_train, x_test, y_test)", field="dataset")
    if kind == "name":
        info = DATASETS[spec]
        ok, how = info.available()
        if not ok:
            raise DatasetUnavailable(spec, how)
        arrays = info.loader()
        ds = Dataset(*arrays, info=info, spec=spec)
    else:
        path = local_copy(spec)
        if kind == "npz":
            raw, _keys = read_npz(path)
            if len(raw) == 2:
                x, y = _checked(raw[0], raw[1], spec, "")
                y, names, conv = labels_to_classes(y, spec)
                arrays = split_stratified(x, y, opts["test_split"], spec)
                conversions = (*conv, f"test set: {len(arrays[2])} samples "
                               f"({opts['test_split']:g}, stratified, seed 0)")
            else:
                given = from_arrays(raw, spec)
                arrays = (given.x_train, given.y_train, given.x_test, given.y_test)
        elif kind == "folder":
            *arrays, names, conversions = read_folder(path, opts["image_size"],
                                                      opts["image_mode"], opts["test_split"])
        elif kind == "table":
            *arrays, names, conversions = read_table(path, opts["label_column"],
                                                     opts["test_split"])
        else:
            fn = import_callable(spec, "dataset", True)
            arrays, names = arrays_from_callable(fn, spec)
        xtr, ytr, xte, yte = arrays
        k = int(max(ytr.max(), yte.max())) + 1
        names = names if names and len(names) == k else tuple(str(i) for i in range(k))
        source = {"npz": ".npz file", "folder": "image folder", "table": "table",
                  "callable": "loader function"}[kind]
        info = DatasetInfo(spec, f"{source} {spec}", tuple(xtr.shape[1:]), k, names, kind,
                           len(xtr), len(xte), loader=lambda: (xtr, ytr, xte, yte),
                           conversions=conversions)
        ds = Dataset(xtr, ytr, xte, yte, info, spec=spec)
    for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        a.setflags(write=False)
    return ds


def data_of_run(cfg: Any, run_id: str, data: Any, record: dict[str, Any] | None,
                trust: bool) -> Dataset:
    """A run's data: ``data`` (arrays or a Dataset) when given, else what ``cfg.dataset``
    names, reloaded; checked against the run's fingerprint ``record`` either way."""
    if data is not None:
        ds = data if isinstance(data, Dataset) else from_arrays(data)
    elif cfg.dataset == ARRAYS:
        raise DataError(f"run {run_id!r} was trained on arrays handed over in memory "
                        "(dataset='arrays'): pass them with data=(x_train, y_train, x_test, "
                        "y_test)", field="dataset")
    else:
        ds = load_for(cfg, trust=trust)
    check_fingerprint(ds, record, f"run {run_id!r}")
    return ds


def test_hash(x: Any, y: Any) -> str:
    """The fingerprint's hash of a test split given as arrays (as a run would load them)."""
    from workbench.data.types import _hash

    xs, ys = _checked(x, y, "data", "test")
    return _hash(xs, ys)


def check_fingerprint(ds: Dataset, recorded: dict[str, Any] | None, where: str) -> None:
    """Raise DataError naming ``dataset`` and what differs when ``ds`` is not the data that
    ``recorded`` (a run's fingerprint) describes; nothing to check for runs that predate it.

    Example:
        >>> import workbench as wb
        >>> from workbench.data import check_fingerprint
        >>> ds = wb.load_dataset("digits")
        >>> check_fingerprint(ds, ds.fingerprint, "run r1")
    """
    if not recorded:
        return
    now = ds.fingerprint
    diffs = []
    for key in ("input_shape", "num_classes", "n_train", "n_test", "class_names"):
        then, cur = recorded.get(key), now[key]
        then = list(then) if isinstance(then, list | tuple) else then
        if key in recorded and then != cur:
            diffs.append(f"{key} {then} then, {cur} now")
    for key in ("train_hash", "test_hash"):
        if not diffs and key in recorded and recorded[key] != now[key]:
            diffs.append(f"the {key.split('_')[0]} split's contents changed (hash "
                         f"{recorded[key][:8]}... then, {now[key][:8]}... now)")
    if diffs:
        raise DataError(f"dataset={recorded.get('dataset', ds.spec)!r} is not the data {where} "
                        f"was trained on: " + "; ".join(diffs), field="dataset")


ON_CHANGE.append(_load_spec.cache_clear)
setattr(load_dataset, "cache_clear", _load_spec.cache_clear)  # noqa: B010 (a function attribute)
