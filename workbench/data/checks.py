"""The checks every form of user data goes through (shapes, NaN/inf, labels), and what a
``dataset`` text looks like (a path, ``module:function``). A leaf of the data package."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.files import labels_to_classes, split_stratified
from workbench.data.types import Arrays, Dataset, DatasetInfo
from workbench.exceptions import DataError

ARRAYS = "arrays"
"""The ``dataset`` of a run whose data was handed over in memory (``wb.run(data=...)``)."""
FILE_SUFFIXES = (".npz", ".csv", ".parquet")
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
def is_callable_spec(spec: str) -> bool:
    """True for ``package.module:function``."""
    return bool(_CALLABLE.match(spec)) and not Path(spec).exists()


def looks_like_path(spec: str) -> bool:
    """True for text that names a file or folder rather than a registered name."""
    return ("/" in spec or "\\" in spec or spec.startswith(("~", "."))
            or spec.lower().endswith(FILE_SUFFIXES) or Path(spec).is_dir())


def arrays_from_callable(fn: Any, where: str) -> tuple[Arrays, tuple[str, ...] | None]:
    """Call a loader and check what it returns: 4 arrays, ``(x, y)`` or a :class:`Dataset`."""
    try:
        out = fn()
    except Exception as e:
        raise DataError(f"dataset={where!r}: its loader raised {type(e).__name__}: {e}",
                        field="dataset") from None
    if isinstance(out, Dataset):
        return (out.x_train, out.y_train, out.x_test, out.y_test), out.info.class_names
    if isinstance(out, list | tuple) and len(out) == 2:
        x, y = _checked(out[0], out[1], where, "")
        y, names, _ = labels_to_classes(y, where)
        return split_stratified(x, y, 0.2, where), names
    if isinstance(out, list | tuple) and len(out) == 4:
        ds = from_arrays(out, where)
        return (ds.x_train, ds.y_train, ds.x_test, ds.y_test), None
    raise DataError(f"dataset={where!r}: the loader must return (x_train, y_train, x_test, "
                    f"y_test), (x, y) or a wb.Dataset, not {type(out).__name__}"
                    + (f" of {len(out)}" if isinstance(out, list | tuple) else ""),
                    field="dataset")


def _checked(x: Any, y: Any, where: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``x`` float32 and ``y`` int32 class indices, or a DataError naming ``where``: ``data``
    (arrays handed over) or the ``dataset`` that names a file or loader."""
    tag = f"_{split}" if split else ""
    field = "data" if where == "data" else "dataset"
    where = where if where == "data" else f"dataset={where!r}:"

    def fail(message: str) -> DataError:
        return DataError(f"{where} {message}", field=field)

    arrs = []
    for n, a in ((f"x{tag}", x), (f"y{tag}", y)):
        if hasattr(a, "to_numpy"):
            a = a.to_numpy()
        try:
            a = np.asarray(a)
        except Exception as e:
            raise fail(f"{n} cannot be converted to an array: {e}") from None
        if a.dtype == object or not np.issubdtype(a.dtype, np.number):
            raise fail(f"{n} must be numeric, got dtype {a.dtype}")
        arrs.append(a)
    x, y = arrs
    if x.ndim < 2:
        raise fail(f"x{tag} must have a sample axis and features, got shape "
                        f"{x.shape}")
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(-1)
    y = y.reshape(len(y)) if y.size == len(y) else y
    if len(x) != len(y):
        raise fail(f"x{tag} has {len(x)} samples but y{tag} has {len(y)}")
    if len(x) == 0:
        raise fail(f"x{tag} is empty")
    bad = int(np.count_nonzero(~np.isfinite(x))) if x.dtype.kind == "f" else 0
    if bad:
        raise fail(f"x{tag} holds {bad} NaN or inf values: clean or impute them")
    if y.dtype.kind == "f" and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
        raise fail(f"y{tag} must hold class indices 0..K-1 (or one-hot rows), "
                        "not fractions")
    if y.min() < 0:
        raise fail(f"y{tag} must hold class indices 0..K-1 (or one-hot rows)")
    return x.astype(np.float32, copy=False), y.astype(np.int32)


def from_arrays(data: Any, name: str = "data") -> Dataset:
    """Wrap user data ``(x_train, y_train, x_test, y_test)`` (numpy or pandas) as a Dataset.

    Labels may be integer classes or one-hot rows. Raises DataError naming what is wrong
    (shapes, lengths, NaN/inf in the features, fractional labels).

    Example:
        >>> import numpy as np
        >>> from workbench.data import from_arrays
        >>> x = np.random.rand(20, 4); y = np.arange(20) % 3
        >>> from_arrays((x, y, x, y)).num_classes
        3
    """
    if not isinstance(data, list | tuple) or len(data) != 4:
        raise DataError("data must be a tuple (x_train, y_train, x_test, y_test) of numpy "
                        f"arrays or pandas objects, not {type(data).__name__}")
    xtr, ytr = _checked(data[0], data[1], name, "train")
    xte, yte = _checked(data[2], data[3], name, "test")
    if xtr.shape[1:] != xte.shape[1:]:
        raise DataError(f"{name} x_train samples have shape {xtr.shape[1:]} but x_test samples "
                        f"have shape {xte.shape[1:]}")
    k = int(max(ytr.max(), yte.max())) + 1
    info = DatasetInfo(ARRAYS, "arrays handed over in memory", tuple(xtr.shape[1:]), k,
                       tuple(str(i) for i in range(k)), "memory", len(xtr), len(xte),
                       loader=lambda: (xtr, ytr, xte, yte))
    return Dataset(xtr, ytr, xte, yte, info, spec=ARRAYS)
