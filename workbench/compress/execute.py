"""Carry out a per-layer plan on kernel arrays (numpy): one-shot masks, then PTQ or sharing.

``wb.run``'s final step (``Compression.finalize``) and the what-if engine both call
:func:`apply_plan`, so a what-if answer and ``wb.run(init_from=..., epochs=0)`` compute the
same kernels by the same code.

Example:
    >>> import numpy as np
    >>> from workbench.compress.planning import LayerPlan
    >>> from workbench.compress.execute import apply_plan
    >>> k = {"d": np.random.default_rng(0).normal(size=(16, 4)).astype("float32")}
    >>> p = [LayerPlan("d", "Dense", 68, 64, True, "unstructured", 0.5, "layer", 4)]
    >>> out = apply_plan(k, p, {"d": (0,)})["d"]
    >>> int((out == 0).sum()) >= 32, len(np.unique(out[:, 0])) <= 16
    (True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from workbench.compress.clustering import cluster_array
from workbench.compress.planning import LayerPlan, prune_targets
from workbench.compress.pruning import pooled_masks
from workbench.compress.quantizers import quantize_array


def apply_plan(kernels: Mapping[str, np.ndarray], plans: list[LayerPlan],
               axes: Mapping[str, tuple[int, ...] | None], *, prune: bool = True,
               ptq: bool = True) -> dict[str, np.ndarray]:
    """The compressed kernels of the planned layers (others are not returned).

    ``prune`` applies the plan's magnitude masks at their full targets (one-shot; skip it
    when training already pruned); ``ptq`` rounds to the plan's widths with calibrated
    ranges (skip it after quantization-aware training). Clustering applies when planned.
    ``axes`` are each kernel's reduced axes per quantization group (None = per tensor).
    """
    out = {p.name: np.asarray(kernels[p.name], dtype=np.float32)
           for p in plans if p.compressible and p.name in kernels}
    if prune and any(p.prune == "unstructured" for p in plans):
        sparsity, own = prune_targets(plans)  # the non-`own` layers are the global pool
        pruned = [p for p in plans if p.prune == "unstructured" and p.name in out]
        masks = pooled_masks({p.name: out[p.name] for p in pruned}, sparsity, "global", own)
        for name, mask in masks.items():
            out[name] = out[name] * mask
    for p in plans:
        if p.name not in out:
            continue
        if ptq and p.bits is not None:
            out[p.name] = quantize_array(out[p.name], p.bits, axes[p.name], calibrate=True)
        elif p.cluster_k is not None:
            cents, idx, mask = cluster_array(out[p.name], p.cluster_k)
            out[p.name] = cents[idx] * mask
    return out
