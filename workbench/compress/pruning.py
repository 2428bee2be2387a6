"""Magnitude pruning: the sparsity ramp, exact-k masks, and one-shot :func:`prune`.

The masks of a training run are set by :class:`workbench.callbacks.PruningScheduler`, which
calls :func:`apply_masks` along the ramp; the final masks of the what-if engine and of a
compression-only run come from :func:`pooled_masks`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench._tf import keras
from workbench.compress.layers import is_twin, kernel_array, require_layers, unit_prunable
from workbench.compress.shrink import shrink
from workbench.compress.wrap import strip, wrap
from workbench.config import FIELDS
from workbench.exceptions import ModelError

ops = keras.ops


def polynomial_sparsity(step: int, target: float, begin: int, end: int) -> float:
    """Zhu & Gupta (2017): ``s_t = s_f (1 - (1 - (t - t0) / (t1 - t0))^3)`` inside [t0, t1].

    Example:
        >>> from workbench.compress.pruning import polynomial_sparsity
        >>> [round(polynomial_sparsity(t, 0.8, 0, 100), 3) for t in (0, 50, 100, 200)]
        [0.0, 0.7, 0.8, 0.8]
    """
    if step <= begin:
        return 0.0
    if step >= end:
        return float(target)
    frac = (step - begin) / max(end - begin, 1)
    return float(target * (1.0 - (1.0 - frac) ** 3))


def _smallest(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of exactly ``k`` smallest entries (ties at the threshold: lowest index).

    An O(n) partition on the values (several times faster than ``argpartition``, which
    also builds an index array), then exactly the missing ties are added. The entries equal
    to the minimum (the weights a ramp already pruned: zeros, most of a sparse kernel) are
    counted, not partitioned: numpy's partition slows down 5x on that many ties.
    """
    flat = scores.ravel()
    if k >= flat.size:
        return np.ones(scores.shape, dtype=bool)
    if k <= 0:
        return np.zeros(scores.shape, dtype=bool)
    low = flat.min()
    n_low = int(np.count_nonzero(flat == low))
    if np.isnan(low):  # NaN weights (a diverged run): numpy's partition sorts them last
        threshold = np.partition(flat, k - 1)[k - 1]
    elif k <= n_low:
        threshold = low
    else:
        rest = flat[flat > low]
        threshold = np.partition(rest, k - n_low - 1)[k - n_low - 1]
    drop = flat < threshold
    missing = k - int(np.count_nonzero(drop))
    if missing:
        drop[np.flatnonzero(flat == threshold)[:missing]] = True
    return drop.reshape(scores.shape)


def unstructured_masks(kernels: dict[str, np.ndarray], sparsity: float,
                       scope: str = "global") -> dict[str, np.ndarray]:
    """Magnitude masks hitting ``sparsity`` exactly (per layer, or over all layers together).

    ``global`` ranks all weights by magnitude together but always keeps each layer's largest
    1% (at least one weight), so no layer is cut off entirely.

    Example:
        >>> import numpy as np
        >>> from workbench.compress.pruning import unstructured_masks
        >>> ks = {"a": np.arange(1, 101, dtype="float32").reshape(10, 10)}
        >>> int((unstructured_masks(ks, 0.3)["a"] == 0).sum())
        30
    """
    if scope == "layer":
        return {name: (~_smallest(np.abs(k), round(sparsity * k.size))).astype(np.float32)
                for name, k in kernels.items()}
    names = list(kernels)
    scores = []
    for name in names:
        a = np.abs(kernels[name]).ravel().astype(np.float32)
        keep = max(1, math.ceil(0.01 * a.size))
        a[_smallest(-a, keep)] = np.inf  # protected: the layer's `keep` largest
        scores.append(a)
    flat = np.concatenate(scores)
    total = flat.size
    k = min(round(sparsity * total), int(np.isfinite(flat).sum()))
    drop = _smallest(flat, k)
    out, at = {}, 0
    for name in names:
        n = kernels[name].size
        out[name] = (~drop[at: at + n]).reshape(kernels[name].shape).astype(np.float32)
        at += n
    return out


def pooled_masks(kernels: Mapping[str, np.ndarray], sparsity: float, scope: str,
                 own: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Magnitude masks: layers in ``own`` each to their own sparsity, the rest together
    (``scope="global"``) or each (``"layer"``) to ``sparsity``.

    Example:
        >>> import numpy as np
        >>> from workbench.compress.pruning import pooled_masks
        >>> ks = {"a": np.arange(1, 101, dtype="float32"), "b": np.ones(10, "float32")}
        >>> m = pooled_masks(ks, 0.0, "global", {"a": 0.3})
        >>> int((m["a"] == 0).sum()), int((m["b"] == 0).sum())
        (30, 0)
    """
    own = own or {}
    rest = {n: k for n, k in kernels.items() if n not in own}
    masks = unstructured_masks(rest, sparsity, scope) if rest and sparsity > 0 else {
        n: np.ones(k.shape, np.float32) for n, k in rest.items()}
    for name, s in own.items():
        if name in kernels:
            masks[name] = unstructured_masks({name: kernels[name]}, s, "layer")[name]
    return masks


def unit_masks(layers: list[Any], sparsity: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per layer: (kernel mask, bias mask) removing the ``sparsity`` fraction of its units
    (Dense units or Conv filters) with the smallest L2 norm, keeping at least one."""
    out = {}
    for layer in layers:
        k = kernel_array(layer)
        norms = np.sqrt(np.square(k).reshape(-1, k.shape[-1]).sum(axis=0))
        n_units = k.shape[-1]
        drop = min(round(sparsity * n_units), n_units - 1)
        unit_keep = (~_smallest(norms, drop)).astype(np.float32)
        out[layer.name] = (np.broadcast_to(unit_keep, k.shape).copy(), unit_keep)
    return out


def apply_masks(model: keras.Model, sparsity: float, scope: str = "global",
                structure: str = "unstructured", own: Mapping[str, float] | None = None) -> None:
    """Set the masks of ``model``'s pruning twins for ``sparsity`` and zero the pruned weights.

    ``own`` gives some layers their own sparsity (``prune_layer_ratios``); the others are
    pruned to ``sparsity``, ranked together (``global``) or each on its own (``layer``).
    """
    layers = [lay for lay in model.layers if is_twin(lay) and lay.wb_prune]
    if structure == "units":
        for layer in layers:
            if layer.wb_prune != "units":
                continue
            km, bm = unit_masks([layer], sparsity)[layer.name]
            layer.wb_mask.assign(km)
            layer._kernel.assign(kernel_array(layer) * km)
            if hasattr(layer, "wb_bias_mask"):
                layer.wb_bias_mask.assign(bm)
                layer.bias.assign(ops.convert_to_numpy(layer.bias) * bm)
        return
    kernels = {lay.name: kernel_array(lay) * ops.convert_to_numpy(lay.wb_mask) for lay in layers}
    if scope == "layer":
        own = {**dict.fromkeys(kernels, sparsity), **(own or {})}
    masks = pooled_masks(kernels, sparsity, "global", own)
    for layer in layers:
        layer.wb_mask.assign(masks[layer.name])
        layer._kernel.assign(kernels[layer.name] * masks[layer.name])


def prune(model: keras.Model, ratio: float, *, structure: str = "unstructured",
          scope: str = "global") -> keras.Model:
    """Magnitude-prune a model's Dense/Conv kernels to exactly ``ratio`` sparsity (one shot).

    Returns a stock-Keras model. With ``structure="units"`` the smallest-norm units/filters of
    each hidden layer are removed and a smaller model is built (:func:`shrink`). To keep the
    zeros while fine-tuning, train ``wrap(model, prune="unstructured")`` instead.

    Example:
        >>> import keras, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16),
        ...                       keras.layers.Dense(4)])
        >>> p = C.prune(m, 0.75, scope="layer")
        >>> float(C.size_report(p).loc["total", "sparsity"])
        0.75
    """
    FIELDS["prune_ratio"].check(ratio)
    FIELDS["prune_structure"].check(structure)
    FIELDS["prune_scope"].check(scope)
    names = require_layers(model, "prune")
    if structure == "units":
        names = [n for n, why in unit_prunable(model).items() if not why]
        if not names:
            raise ModelError("no layer can lose units: " + "; ".join(
                f"{n}: {why}" for n, why in unit_prunable(model).items()))
    wrapped = wrap(model, prune=structure, layers=names)
    apply_masks(wrapped, ratio, scope, structure)
    out = strip(wrapped)
    return shrink(out) if structure == "units" else out
