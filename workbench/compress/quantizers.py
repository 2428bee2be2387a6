"""Affine n-bit quantizers of weight arrays (numpy): the grid every quantization step uses.

A group (a whole tensor, or one output channel) of ``w`` is mapped to ``2**bits`` levels
``(q - z) * s`` with integer ``q`` in ``[0, 2**bits - 1]``, a float32 step ``s`` and an integer
zero point ``z``, so that 0 is exactly representable and pruned weights stay 0. Post-training
quantization *calibrates* each group's range: it tries clipping the [min, max] range at several
fractions and keeps the one with the smallest squared error (outliers otherwise waste levels).

Example:
    >>> import numpy as np

    >>> from workbench.compress.quantizers import quantize_array, distinct_per_group
    >>> w = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    >>> q = quantize_array(w, 3, axes=(0,))
    >>> int(distinct_per_group(q, axes=(0,)).max()) <= 8
    True
"""

from __future__ import annotations

import numpy as np

_CLIPS = np.linspace(0.35, 1.0, 14, dtype=np.float32)


def _grid(lo: np.ndarray, hi: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    n = np.float32(2 ** bits - 1)
    lo = np.minimum(lo, 0).astype(np.float32)
    hi = np.maximum(hi, 0).astype(np.float32)
    scale = np.maximum((hi - lo) / n, np.float32(1e-12)).astype(np.float32)
    zero = np.round(-lo / scale).astype(np.float32)
    return scale, zero


def _apply(w: np.ndarray, scale: np.ndarray, zero: np.ndarray, bits: int) -> np.ndarray:
    n = np.float32(2 ** bits - 1)
    q = np.clip(np.round(w / scale) + zero, 0, n)
    return ((q - zero) * scale).astype(np.float32)


def quantize_array(w: np.ndarray, bits: int, axes: tuple[int, ...] | None,
                   calibrate: bool = True) -> np.ndarray:
    """Return ``w`` rounded to ``2**bits`` affine levels per group (``axes`` reduced).

    ``calibrate`` picks each group's clipping range by least squared error; without it the
    range is the group's [min, max] (what quantization-aware training uses).
    """
    w = np.asarray(w, dtype=np.float32)
    if bits >= 16:
        return w.astype(np.float16).astype(np.float32)
    return _quantize(w, bits, axes, calibrate)[0]


def tensor_grid(w: np.ndarray, bits: int, calibrate: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per-tensor quantization of ``w`` and its whole grid: ``(quantized, levels)``.

    Example:
        >>> import numpy as np
        >>> from workbench.compress.quantizers import tensor_grid
        >>> q, levels = tensor_grid(np.linspace(-1, 1, 101), 2)
        >>> len(levels), bool(np.isin(q, levels).all()), 0.0 in levels
        (4, True, True)
    """
    w = np.asarray(w, dtype=np.float32)
    if not 2 <= bits <= 8:
        raise ValueError(f"bits must be 2..8, not {bits!r}")
    q, scale, zero = _quantize(w, bits, None, calibrate)
    return q, ((np.arange(2 ** bits) - zero) * scale).astype(np.float32)


def _quantize(w: np.ndarray, bits: int, axes: tuple[int, ...] | None,
              calibrate: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(quantized, scale, zero)`` of each group, the clipping chosen as documented above."""
    keep = axes is not None
    lo = w.min(axis=axes, keepdims=keep)
    hi = w.max(axis=axes, keepdims=keep)
    clips = _CLIPS if calibrate else _CLIPS[-1:]
    best = best_err = best_scale = best_zero = None
    for c in clips:
        scale, zero = _grid(lo * c, hi * c, bits)
        q = _apply(w, scale, zero, bits)
        err = np.square(q - w).sum(axis=axes, keepdims=keep)
        if best is None:
            best, best_err, best_scale, best_zero = q, err, scale, zero
        else:
            better = err < best_err
            best = np.where(better, q, best)
            best_err = np.where(better, err, best_err)
            best_scale = np.where(better, scale, best_scale)
            best_zero = np.where(better, zero, best_zero)
    return best.astype(np.float32), best_scale, best_zero


def distinct_per_group(w: np.ndarray, axes: tuple[int, ...] | None) -> np.ndarray:
    """Number of distinct values in each group (a 1-element array per tensor)."""
    w = np.asarray(w)
    if axes is None:
        return np.array([np.unique(w).size])
    keep = [a for a in range(w.ndim) if a not in axes]
    moved = np.moveaxis(w, keep, list(range(len(keep)))).reshape(
        int(np.prod([w.shape[a] for a in keep])), -1)
    return np.array([np.unique(row).size for row in moved])
