"""A look at a data set before training on it: ``workbench datasets --check DATA`` and the
panel's Data tab. Plain data first (:func:`summary`), then text (:func:`describe`).

Example:
    >>> from workbench.data.describe import describe
    >>> print(describe("moons"))                        # doctest: +ELLIPSIS
    data set: moons (Two interleaving half circles (2-D, teaching))
    train 800 samples, test 200 samples; input shape 2; 2 classes
    ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.data.types import Dataset

_RAMP = " .:-=+*#%@"


def summary(ds: Dataset, n_samples: int = 3) -> dict[str, Any]:
    """Splits, shape, class counts, conversions and a few samples of a loaded data set."""
    k = ds.num_classes
    tr = np.bincount(ds.y_train, minlength=k)
    te = np.bincount(ds.y_test, minlength=k)
    picks = [int(np.flatnonzero(ds.y_train == c)[0]) for c in range(k) if tr[c]][:n_samples]
    return {"name": ds.spec or ds.info.name, "description": ds.info.description,
            "n_train": len(ds.x_train), "n_test": len(ds.x_test),
            "input_shape": tuple(ds.input_shape), "classes": list(ds.info.class_names),
            "train_counts": tr.tolist(), "test_counts": te.tolist(),
            "conversions": list(ds.info.conversions),
            "range": (float(ds.x_train.min()), float(ds.x_train.max())),
            "samples": [(ds.info.class_names[int(ds.y_train[i])], ds.x_train[i]) for i in picks],
            "fingerprint": ds.fingerprint}


def is_image(shape: tuple[int, ...]) -> bool:
    return (len(shape) == 3 and shape[-1] in (1, 3)) or (len(shape) == 2 and min(shape) >= 4)


def ascii_image(x: np.ndarray, width: int = 14) -> list[str]:
    """A grayscale thumbnail in characters (two characters per pixel column)."""
    img = x.mean(-1) if x.ndim == 3 else x
    h, w = img.shape
    step = max(1, int(np.ceil(w / width)))
    small = img[::step * 2 if h > 2 * width else step, ::step]
    lo, hi = float(small.min()), float(small.max())
    norm = (small - lo) / (hi - lo) if hi > lo else np.zeros_like(small)
    idx = np.minimum((norm * (len(_RAMP) - 1)).round().astype(int), len(_RAMP) - 1)
    return ["".join(_RAMP[i] * 2 for i in row) for row in idx]


def describe(spec: str, **options: Any) -> str:
    """The text of ``workbench datasets --check``: load ``spec`` with the data options
    (``test_split``, ``image_size``, ``image_mode``, ``label_column``) and describe it."""
    from workbench.data.sources import load_dataset

    s = summary(load_dataset(spec, **options))
    shape = "x".join(map(str, s["input_shape"]))
    lines = [f"data set: {s['name']} ({s['description']})",
             f"train {s['n_train']} samples, test {s['n_test']} samples; input shape {shape}; "
             f"{len(s['classes'])} classes",
             f"values from {s['range'][0]:.4g} to {s['range'][1]:.4g}",
             "classes (train / test):"]
    width = max(len(c) for c in s["classes"])
    lines += [f"  {c:<{width}s} {a:6d} / {b}"
              for c, a, b in zip(s["classes"], s["train_counts"], s["test_counts"], strict=True)]
    lines.append("converted: " + ("; ".join(s["conversions"]) or "nothing (arrays as stored)"))
    lines.append("samples:")
    if is_image(s["input_shape"]):
        thumbs = [(c, ascii_image(x)) for c, x in s["samples"]]
        rows = max(len(t) for _, t in thumbs)
        cols = max(len(t[0]) for _, t in thumbs)
        lines.append("  " + "  ".join(f"{c[:cols]:<{cols}s}" for c, _ in thumbs))
        for r in range(rows):
            lines.append("  " + "  ".join((t[r] if r < len(t) else "").ljust(cols)
                                          for _, t in thumbs))
    else:
        for c, x in s["samples"]:
            flat = np.ravel(x)
            vals = ", ".join(f"{v:.3g}" for v in flat[:8]) + (" ..." if flat.size > 8 else "")
            lines.append(f"  {c}: [{vals}]")
    fp = s["fingerprint"]
    lines.append(f"fingerprint: train {fp['train_hash'][:12]}, test {fp['test_hash'][:12]}")
    return "\n".join(lines)
