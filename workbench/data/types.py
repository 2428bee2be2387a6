"""What a data set is: its metadata (:class:`DatasetInfo`) and its loaded arrays
(:class:`Dataset`, with the fingerprint a run records). A leaf."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a registered data set.

    Example:
        >>> import workbench as wb
        >>> wb.datasets()["digits"].num_classes
        10
    """

    name: str
    description: str
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: tuple[str, ...]
    source: str
    n_train: int
    n_test: int
    loader: Callable[[], Arrays] = field(repr=False, compare=False)
    availability: Callable[[], tuple[bool, str]] = field(repr=False, compare=False,
                                                         default=lambda: (True, "bundled"))
    #: Training settings that work on this data set, used for the fields a config leaves
    #: unset (``batch_size``, ``epochs``, ``lr_schedule``), and ``lr_scale``: multiples of
    #: the optimizer's recommended learning rate, ``{"adaptive": a, "other": b}`` (Adam and
    #: its kin, then the rest), used when ``learning_rate`` is unset.
    recipe: dict[str, Any] = field(default_factory=dict, compare=False)
    #: What loading did to the source (resized, channels, label mapping): shown by
    #: ``workbench datasets --check`` and the panel's Data tab.
    conversions: tuple[str, ...] = field(default=(), compare=False)

    def available(self) -> tuple[bool, str]:
        """``(True, where)`` if it loads offline here, else ``(False, how to get it)``."""
        return self.availability()


@dataclass(frozen=True)
class Dataset:
    """Loaded arrays and their metadata.

    ``x_train``/``y_train`` are the full training set; the experiment carves its validation
    split out of them. ``spec`` is what the config names it by (a registered name, a path, a
    ``module:function``, or ``arrays`` for data handed over in memory).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: DatasetInfo
    spec: str = ""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    @cached_property
    def fingerprint(self) -> dict[str, Any]:
        """What the run records of its data: the spec, shapes, classes and a content hash
        per split (BLAKE2b of the arrays' bytes, as loaded), so a later reload can prove it
        has the same data (:func:`workbench.data.check_fingerprint`).

        Example:
            >>> import workbench as wb
            >>> fp = wb.load_dataset("digits").fingerprint
            >>> fp["n_train"], fp["num_classes"], len(fp["train_hash"])
            (1437, 10, 32)
        """
        return {"dataset": self.spec or self.info.name,
                "input_shape": list(self.input_shape), "num_classes": self.num_classes,
                "class_names": list(self.info.class_names), "n_train": len(self.x_train),
                "n_test": len(self.x_test),
                "train_hash": _hash(self.x_train, self.y_train),
                "test_hash": _hash(self.x_test, self.y_test)}


def _hash(x: np.ndarray, y: np.ndarray) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()
