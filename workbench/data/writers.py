"""Write a data set out in the forms people keep theirs in: an ``.npz``, a folder of PNGs (one
subfolder per class, ``train/`` and ``test/``) and a CSV with a label and a split column.

Each form loads back (``dataset=PATH``) as the same splits: exactly the same arrays for the
``.npz`` and the CSV (floats written with 9 significant digits round-trip float32), and the
same pixels for the folder of an 8-bit image set (in class order, not the original order).

Example:
    >>> import tempfile, workbench as wb
    >>> from workbench.data.writers import to_npz
    >>> ds = wb.load_dataset("moons")
    >>> path = to_npz(ds, tempfile.mkdtemp() + "/moons.npz")
    >>> wb.load_dataset(str(path)).fingerprint["train_hash"] == ds.fingerprint["train_hash"]
    True
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from workbench.data.types import Dataset


def to_npz(ds: Dataset, path: str | Path) -> Path:
    """``x_train, y_train, x_test, y_test`` in one uncompressed ``.npz``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    np.savez(p, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test)
    return p


def to_folder(ds: Dataset, path: str | Path, workers: int = 4) -> Path:
    """One PNG per image under ``train/<class>/`` and ``test/<class>/`` (values in [0, 1] are
    written as 8-bit grey or RGB). Class folders are ``<index>_<name>``, so that they sort in
    the class order and the labels read back unchanged."""
    from PIL import Image

    if len(ds.input_shape) != 3 or ds.input_shape[-1] not in (1, 3):
        raise ValueError(f"to_folder needs images (H, W, 1 or 3), not {ds.input_shape}")
    root = Path(path)
    width = len(str(ds.num_classes - 1))  # "3_Dress": folders sort in class order
    names = [f"{c:0{width}d}" + ("" if n == str(c) else "_" + n.replace("/", "-"))
             for c, n in enumerate(ds.info.class_names)]
    jobs = []
    for split, xs, ys in (("train", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        for c in range(ds.num_classes):
            (root / split / names[c]).mkdir(parents=True, exist_ok=True)
        jobs += [(root / split / names[int(y)] / f"{i:06d}.png", x)
                 for i, (x, y) in enumerate(zip(xs, ys, strict=True))]

    def write(job: tuple[Path, np.ndarray]) -> None:
        target, x = job
        a = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
        Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(target, compress_level=1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, jobs, chunksize=512))
    return root


def to_csv(ds: Dataset, path: str | Path, label_column: str = "label") -> Path:
    """One row per sample: the flattened features (``f0, f1, ...``), the class index in
    ``label_column`` and ``train``/``test`` in a ``split`` column."""
    import pandas as pd

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    x = np.concatenate([ds.x_train.reshape(len(ds.x_train), -1),
                        ds.x_test.reshape(len(ds.x_test), -1)])
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    df[label_column] = np.concatenate([ds.y_train, ds.y_test])
    df["split"] = ["train"] * len(ds.x_train) + ["test"] * len(ds.x_test)
    df.to_csv(p, index=False, float_format="%.9g")
    return p
