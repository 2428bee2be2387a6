"""n-bit quantization of a model's Dense/Conv kernels, one shot (post-training).

The grids are :mod:`workbench.compress.quantizers`'; quantization-aware training is the twins'
fake quantization (:mod:`workbench.compress.layers`).
"""

from __future__ import annotations

from collections.abc import Mapping

from workbench._tf import keras
from workbench.compress.layers import compressible_layers, kernel_array, quant_axes, require_layers
from workbench.compress.planning import Settings, layer_plan, plan_bits
from workbench.compress.quantizers import quantize_array
from workbench.compress.wrap import strip, wrap
from workbench.config import FIELDS
from workbench.exceptions import ModelError


def layer_bits(model: keras.Model, bits: int, conv_bits: int | None = None) -> dict[str, int]:
    """The bit-width of every Dense/Conv layer: ``conv_bits`` for Conv and DepthwiseConv
    layers (when given), ``bits`` for the rest (mixed precision as in Deep Compression:
    8-bit conv, 5-bit fully connected). The rule is the plan's (:func:`layer_plan`).

    Example:
        >>> import keras, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="c"),
        ...                       keras.layers.Flatten(), keras.layers.Dense(3, name="d")])
        >>> C.layer_bits(m, 5, conv_bits=8)
        {'c': 8, 'd': 5}
    """
    FIELDS["quant_bits"].require(bits)
    return plan_bits(layer_plan(model, Settings(quant_bits=bits, quant_bits_conv=conv_bits)))


def quantize(model: keras.Model, bits: int | Mapping[str, int], *,
             granularity: str = "per_channel", calibrate: bool = True) -> keras.Model:
    """Post-training quantization of Dense/Conv kernels to ``bits`` (2..8) or float16 (16).

    Each group (tensor or output channel) then holds at most ``2**bits`` distinct values, 0
    included exactly (pruned weights stay pruned). Biases and other layers stay float32.
    ``bits`` may also map layer names to widths (mixed precision, see :func:`layer_bits`);
    layers missing from the mapping stay float32.

    Example:
        >>> import keras, numpy as np, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="d")])
        >>> q = C.quantize(m, 4, granularity="per_tensor")
        >>> len(np.unique(q.get_layer("d").kernel.numpy())) <= 16
        True
    """

    FIELDS["quant_granularity"].check(granularity)
    names = require_layers(model, "quantize")
    if isinstance(bits, Mapping):
        unknown = sorted(set(bits) - set(names))
        if unknown:
            raise ModelError(f"quantize(): no Dense/Conv layer named {unknown[0]!r}; the "
                             f"model's are {', '.join(names)}")
        for b in bits.values():
            FIELDS["quant_bits"].require(b)
        widths = dict(bits)
    else:
        FIELDS["quant_bits"].require(bits)
        widths = dict.fromkeys(names, bits)
    twin = wrap(model, granularity=granularity)
    for layer in compressible_layers(twin):
        if layer.name not in widths:
            continue
        k = kernel_array(layer)
        layer._kernel.assign(quantize_array(k, widths[layer.name], quant_axes(layer, k.ndim),
                                            calibrate))
    return strip(twin)
