"""Weight sharing (Deep Compression's clustering): k-means on each kernel's weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench._tf import keras
from workbench.compress.layers import compressible_layers, kernel_array, require_layers
from workbench.compress.wrap import strip, wrap
from workbench.config import FIELDS
from workbench.exceptions import ConfigError


def kmeans_1d(values: np.ndarray, k: int, iters: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on 1-D data with linear initialization (best in Han et al. 2016).

    Returns ``(centroids, assignment)``; fewer than ``k`` centroids when there are fewer
    distinct values. ``iters`` defaults to a single refinement: each Lloyd step moves the
    centroids toward where the weights are dense, which spreads the codes more evenly and so
    raises their entropy (a bigger packed artifact). Measured on the tfmot tutorial CNN on
    Fashion-MNIST, k=16: 0 steps 8,429 B at 87.07%; 1 step 8,741 B at 87.88%; 3 steps 9,113 B
    at 88.47%; 30 steps 10,137 B at 88.02%.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    uniq = np.unique(v)
    if uniq.size <= k:
        return uniq.astype(np.float32), np.searchsorted(uniq, v).astype(np.int32)
    cents = np.linspace(v.min(), v.max(), k)
    for _ in range(iters):
        edges = (cents[1:] + cents[:-1]) / 2
        assign = np.searchsorted(edges, v)
        sums = np.bincount(assign, weights=v, minlength=k)
        counts = np.bincount(assign, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), cents)
        if np.allclose(new, cents):
            break
        cents = np.sort(new)
    edges = (cents[1:] + cents[:-1]) / 2
    return cents.astype(np.float32), np.searchsorted(edges, v).astype(np.int32)


def cluster_array(w: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weight sharing of one kernel: ``(centroids[k], assignment, nonzero mask)``.

    The kernel it stands for is ``centroids[assignment] * mask`` (zeros stay zero).
    """
    nz = w != 0
    cents, assign = kmeans_1d(w[nz], k)
    full = np.zeros(k, dtype=np.float32)
    full[: cents.size] = cents
    idx = np.zeros(w.shape, dtype=np.int32)
    idx[nz] = assign
    return full, idx, nz.astype(np.float32)


def cluster(model: keras.Model, k: int, *, fine_tune: tuple[Any, Any] | None = None,
            epochs: int = 1, learning_rate: float = 1e-3, batch_size: int = 64) -> keras.Model:
    """Weight sharing: replace each Dense/Conv kernel's nonzero weights by ``k`` centroids.

    Centroids come from 1-D k-means with linear initialization; zeros (pruned weights) stay
    zero. With ``fine_tune=(x, y)`` the centroids themselves are trained for ``epochs``
    (gradients of all weights sharing a centroid are summed, as in Deep Compression).

    Example:
        >>> import keras, numpy as np, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="d")])
        >>> c = C.cluster(m, 4)
        >>> len(np.unique(c.get_layer("d").kernel.numpy())) <= 4
        True
    """
    if k is None or not isinstance(k, int):
        raise ConfigError("cluster_k", k, "an integer >= 2 and <= 256")
    FIELDS["cluster_k"].check(k)
    layers = require_layers(model, "cluster")
    for layer in compressible_layers(model):
        n = int(np.prod(layer.kernel.shape))
        if k > n:
            raise ConfigError("cluster_k", k, f"at most the weight count of every layer; layer "
                              f"{layer.name!r} has only {n} weights")
    twin = wrap(model, prune="unstructured", clusters=k, layers=layers)
    for layer in compressible_layers(twin):
        cents, idx, mask = cluster_array(kernel_array(layer), k)
        layer.wb_centroids.assign(cents)
        layer.wb_assign.assign(idx)
        layer.wb_mask.assign(mask)
    if fine_tune is not None:
        from workbench.architectures import outputs_probabilities

        x, y = fine_tune
        twin.compile(optimizer=keras.optimizers.Adam(learning_rate),
                     loss=keras.losses.SparseCategoricalCrossentropy(
                         from_logits=not outputs_probabilities(twin)))
        twin.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return strip(twin)
