"""Clone a model with its Dense/Conv layers swapped for compressible twins, and back.

:func:`wrap` gives the twins (masks, fake quantization, shared weights) that training and the
one-shot functions act on; :func:`strip` turns them back into stock Keras layers holding the
effective kernels, so a compressed model saves, loads and converts without our code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from workbench._tf import keras
from workbench.compress.layers import STOCK, TWINS, effective_kernel, is_twin

_WB_KEYS = ("wb_prune", "wb_bits", "wb_granularity", "wb_clusters")


def _copy_weights(src: keras.Model, dst: keras.Model, kernels: dict[str, np.ndarray]) -> None:
    for layer in dst.layers:
        if not layer.weights:
            continue
        old = {w.name: w for w in src.get_layer(layer.name).weights}
        for w in layer.weights:
            if layer.name in kernels and w.name == "kernel":
                w.assign(kernels[layer.name])
            elif w.name in old and tuple(old[w.name].shape) == tuple(w.shape):
                w.assign(old[w.name])


def wrap(model: keras.Model, *, prune: str | None = None,
         bits: int | Mapping[str, int] | None = None, granularity: str = "per_channel",
         clusters: int | None = None, layers: Iterable[str] | None = None) -> keras.Model:
    """Clone ``model`` with its Dense/Conv layers replaced by compressible twins.

    ``layers`` limits the twins to those layer names (default: every compressible layer).
    ``bits`` is one width for all, or a width per layer name (see :func:`layer_bits`; a layer
    missing from the mapping is not fake-quantized). The clone starts with the same weights
    and full masks.

    Example:
        >>> import keras, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> type(C.wrap(m, bits=4).layers[-1]).__name__
        'WBDense'
    """
    base = strip(model) if any(is_twin(layer) for layer in model.layers) else model
    chosen = set(layers) if layers is not None else None

    def clone(layer: Any) -> Any:
        cfg = layer.get_config()
        if type(layer) in TWINS and (chosen is None or layer.name in chosen):
            b = bits.get(layer.name) if isinstance(bits, Mapping) else bits
            return TWINS[type(layer)].from_config({
                **cfg, "wb_prune": prune, "wb_bits": b, "wb_granularity": granularity,
                "wb_clusters": clusters})
        return type(layer).from_config(cfg)

    out = keras.models.clone_model(base, clone_function=clone)
    _copy_weights(base, out, {})
    return out


def strip(model: keras.Model) -> keras.Model:
    """Return a stock-Keras copy whose kernels are the effective (compressed) kernels.

    Example:
        >>> import keras, workbench.compress as C
        >>> m = C.wrap(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]), bits=2)
        >>> type(C.strip(m).layers[-1]).__name__
        'Dense'
    """
    kernels = {layer.name: effective_kernel(layer) for layer in model.layers if is_twin(layer)}

    def clone(layer: Any) -> Any:
        cfg = layer.get_config()
        if is_twin(layer):
            cfg = {k: v for k, v in cfg.items() if k not in _WB_KEYS}
            for key in ("kernel_constraint", "depthwise_constraint", "bias_constraint"):
                if key in cfg:
                    cfg[key] = None
            return STOCK[type(layer)].from_config(cfg)
        return type(layer).from_config(cfg)

    out = keras.models.clone_model(model, clone_function=clone)
    _copy_weights(model, out, kernels)
    return out
