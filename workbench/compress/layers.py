"""Compressible twins of Keras's Dense, Conv1D, Conv2D and DepthwiseConv2D layers.

Each twin keeps the stock ``call()`` and only overrides the ``kernel`` property, which returns
the kernel as the forward pass should see it:

- **pruning**: a non-trainable ``wb_mask`` variable; a :class:`MaskConstraint` on the raw kernel
  makes the optimizer re-apply the mask inside the compiled train step after every update, so
  pruned weights stay exactly zero at no measurable cost;
- **quantization-aware training**: the kernel is fake-quantized to ``wb_bits`` (per tensor or per
  output channel) with a straight-through estimator, so gradients reach the float weights;
- **weight sharing**: with ``wb_clusters`` the kernel is ``centroids[assignments]`` (times the
  mask), so fine-tuning trains the k shared values (Han et al. 2016).

:func:`workbench.compress.strip` turns a model of twins back into stock layers whose weights
are the effective (masked, quantized or shared) kernels, so saved models need nothing of ours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench._tf import keras
from workbench.compress.quantizers import quantize_array
from workbench.exceptions import ModelError

ops = keras.ops
_PKG = "workbench"


@keras.saving.register_keras_serializable(_PKG)
class MaskConstraint(keras.constraints.Constraint):
    """Multiply a weight by a (0/1) mask variable after every optimizer step."""

    def __init__(self, mask: Any = None) -> None:
        self.mask = mask

    def __call__(self, w: Any) -> Any:
        return w if self.mask is None else w * ops.cast(self.mask, w.dtype)

    def get_config(self) -> dict[str, Any]:
        return {}  # the mask lives in the layer (``wb_mask``), not in the config


def fake_quant(w: Any, bits: int, axes: tuple[int, ...] | None) -> Any:
    """Fake-quantize ``w`` to ``2**bits`` affine levels over its [min, max] (0 kept exact).

    ``axes`` are the axes reduced to find each group's range (None = whole tensor). The
    gradient passes straight through.
    """
    lo = ops.minimum(ops.min(w, axis=axes, keepdims=axes is not None), 0.0)
    hi = ops.maximum(ops.max(w, axis=axes, keepdims=axes is not None), 0.0)
    lo, hi = ops.stop_gradient(lo), ops.stop_gradient(hi)
    n = float(2 ** bits - 1)
    scale = ops.maximum((hi - lo) / n, 1e-12)
    zero = ops.round(-lo / scale)
    q = ops.clip(ops.round(w / scale) + zero, 0.0, n)
    return w + ops.stop_gradient((q - zero) * scale - w)


class CompressibleMixin:
    """Adds pruning masks, fake quantization and weight sharing to a kernel layer."""

    def __init__(self, *args: Any, wb_prune: str | None = None, wb_bits: int | None = None,
                 wb_granularity: str = "per_channel", wb_clusters: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wb_prune = wb_prune  # None, "unstructured" or "units" (units also masks the bias)
        self.wb_bits = wb_bits
        self.wb_granularity = wb_granularity
        self.wb_clusters = wb_clusters

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        raw = self._kernel
        if self.wb_prune:
            self.wb_mask = self.add_weight(name="wb_mask", shape=raw.shape,
                                           initializer="ones", trainable=False)
            raw.constraint = MaskConstraint(self.wb_mask)
            if self.wb_prune == "units" and self.use_bias:
                self.wb_bias_mask = self.add_weight(name="wb_bias_mask", shape=self.bias.shape,
                                                    initializer="ones", trainable=False)
                self.bias.constraint = MaskConstraint(self.wb_bias_mask)
        if self.wb_clusters:
            self.wb_centroids = self.add_weight(name="wb_centroids", shape=(self.wb_clusters,),
                                                initializer="zeros", trainable=True)
            self.wb_assign = self.add_weight(name="wb_assign", shape=raw.shape,
                                             initializer="zeros", dtype="int32",
                                             trainable=False)
            raw.trainable = False

    @property
    def kernel(self) -> Any:
        k = self._kernel
        if self.wb_clusters:
            k = ops.take(self.wb_centroids, self.wb_assign)
            if self.wb_prune:
                k = k * self.wb_mask
        if self.wb_bits and self.wb_bits < 16:
            k = fake_quant(k, self.wb_bits, quant_axes(self, k.ndim))
        return k

    @kernel.setter
    def kernel(self, value: Any) -> None:  # DepthwiseConv2D.build assigns self.kernel
        self._kernel = value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "wb_prune": self.wb_prune, "wb_bits": self.wb_bits,
                "wb_granularity": self.wb_granularity, "wb_clusters": self.wb_clusters}


def quant_axes(layer: Any, ndim: int, granularity: str | None = None
               ) -> tuple[int, ...] | None:
    """Axes reduced per quantization group: None per tensor, all but the channel axes else.

    ``granularity`` defaults to the twin's own (``per_channel`` for a stock layer).
    """
    if (granularity or getattr(layer, "wb_granularity", "per_channel")) == "per_tensor":
        return None
    keep = channel_axes(layer, ndim)
    return tuple(a for a in range(ndim) if a not in keep)


def kernel_axes(model: Any, granularity: str) -> dict[str, tuple[int, ...] | None]:
    """``{layer: quant_axes}`` of every Dense/Conv layer of ``model`` at ``granularity``."""
    out = {}
    for layer in model.layers:
        if is_compressible(layer):
            k = layer._kernel if is_twin(layer) else layer.kernel
            out[layer.name] = quant_axes(layer, len(k.shape), granularity)
    return out


def channel_axes(layer: Any, ndim: int) -> tuple[int, ...]:
    """The kernel axes that index output channels (depthwise: input channel x multiplier)."""
    if isinstance(layer, keras.layers.DepthwiseConv2D | keras.layers.DepthwiseConv1D):
        return (ndim - 2, ndim - 1)
    return (ndim - 1,)


@keras.saving.register_keras_serializable(_PKG)
class WBDense(CompressibleMixin, keras.layers.Dense):
    """Dense with pruning mask, fake quantization and weight sharing."""


@keras.saving.register_keras_serializable(_PKG)
class WBConv1D(CompressibleMixin, keras.layers.Conv1D):
    """Conv1D with pruning mask, fake quantization and weight sharing."""


@keras.saving.register_keras_serializable(_PKG)
class WBConv2D(CompressibleMixin, keras.layers.Conv2D):
    """Conv2D with pruning mask, fake quantization and weight sharing."""


@keras.saving.register_keras_serializable(_PKG)
class WBDepthwiseConv2D(CompressibleMixin, keras.layers.DepthwiseConv2D):
    """DepthwiseConv2D with pruning mask, fake quantization and weight sharing."""


@keras.saving.register_keras_serializable(_PKG)
class WBDepthwiseConv1D(CompressibleMixin, keras.layers.DepthwiseConv1D):
    """DepthwiseConv1D with pruning mask, fake quantization and weight sharing."""


TWINS: dict[type, type] = {
    keras.layers.Dense: WBDense, keras.layers.Conv1D: WBConv1D, keras.layers.Conv2D: WBConv2D,
    keras.layers.DepthwiseConv2D: WBDepthwiseConv2D,
    keras.layers.DepthwiseConv1D: WBDepthwiseConv1D}
"""Stock layer class -> compressible twin. Only these exact classes are compressed."""
STOCK: dict[type, type] = {v: k for k, v in TWINS.items()}


def is_compressible(layer: Any) -> bool:
    """True for the layer classes we prune and quantize (exact classes or our twins)."""
    return type(layer) in TWINS or type(layer) in STOCK


def is_twin(layer: Any) -> bool:
    return type(layer) in STOCK


def effective_kernel(layer: Any) -> np.ndarray:
    """The kernel the layer computes with, as float32 numpy (masked, shared, quantized)."""
    if not is_twin(layer):
        return np.asarray(ops.convert_to_numpy(layer.kernel), dtype=np.float32)
    if layer.wb_clusters:
        cents = ops.convert_to_numpy(layer.wb_centroids).astype(np.float32)
        k = cents[ops.convert_to_numpy(layer.wb_assign)]
    else:
        k = ops.convert_to_numpy(layer._kernel).astype(np.float32)
    if layer.wb_prune:
        k = k * ops.convert_to_numpy(layer.wb_mask).astype(np.float32)
    if layer.wb_bits and layer.wb_bits < 16:
        k = quantize_array(k, layer.wb_bits, quant_axes(layer, k.ndim), calibrate=False)
    elif layer.wb_bits == 16:
        k = k.astype(np.float16).astype(np.float32)
    return k


# --- inspecting a model's compressible layers ---

def compressible_layers(model: keras.Model) -> list[Any]:
    """The Dense / Conv1D / Conv2D / DepthwiseConv layers (stock or twins), in order."""
    return [layer for layer in model.layers if is_compressible(layer)]


def output_layer_names(model: keras.Model) -> set[str]:
    """Names of layers whose output is a model output (never unit-pruned)."""
    names = set()
    for t in getattr(model, "outputs", None) or []:
        hist = getattr(t, "_keras_history", None)
        if hist is not None:
            names.add(hist.operation.name)
    if not names and model.layers:
        names.add(model.layers[-1].name)
    return names


def kernel_array(layer: Any) -> np.ndarray:
    """The stored kernel of a stock layer or a twin (before masks and rounding), float32."""
    src = layer._kernel if is_twin(layer) else layer.kernel
    return np.asarray(ops.convert_to_numpy(src), dtype=np.float32)


def _activation_at_zero(layer: Any) -> float:
    act = getattr(layer, "activation", None)
    if act is None:
        return 0.0
    return float(ops.convert_to_numpy(act(ops.zeros((1,))))[0])


def unit_prunable(model: keras.Model) -> dict[str, str]:
    """Layer name -> reason it is *not* unit-prunable ('' when it is)."""
    outputs = output_layer_names(model)
    out = {}
    for layer in compressible_layers(model):
        if layer.name in outputs:
            out[layer.name] = "output layer: its units are the classes"
        elif isinstance(layer, keras.layers.DepthwiseConv2D | keras.layers.DepthwiseConv1D):
            out[layer.name] = "depthwise: its channels follow the previous layer's"
        elif _activation_at_zero(layer) != 0.0:
            out[layer.name] = "activation(0) != 0: removed units would still emit a constant"
        else:
            out[layer.name] = ""
    return out


def require_layers(model: Any, what: str) -> list[str]:
    """The compressible layers' names, or ModelError naming ``what`` could not be done."""
    if not isinstance(model, keras.Model):
        raise ModelError(f"{what}() needs a keras.Model, not {type(model).__name__}")
    names = [layer.name for layer in compressible_layers(model)]
    if not names:
        raise ModelError(f"model {model.name!r} has no layer to {what}: only Dense, Conv1D, "
                         f"Conv2D and DepthwiseConv layers are compressed; it has "
                         + ", ".join(type(la).__name__ for la in model.layers))
    return names


def channel_count(layer: Any) -> int:
    """Quantization groups of a per-channel grid: the kernel's output channels."""
    k = layer._kernel if is_twin(layer) else layer.kernel
    return int(np.prod([k.shape[a] for a in channel_axes(layer, len(k.shape))]))
