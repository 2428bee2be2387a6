"""Pruning, quantization and weight sharing for any Keras 3 model (Dense and Conv layers).

The functions here work on plain Keras models and return new models; the input is not changed.
Compressed models contain only stock Keras layers (:func:`strip` is applied), so they save,
load, convert to TFLite and pack without any of our code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from workbench._tf import keras
from workbench.callbacks.step_log import steps_in_call
from workbench.compress.layers import (
    STOCK,
    TWINS,
    channel_axes,
    effective_kernel,
    is_compressible,
    is_twin,
    quant_axes,
)
from workbench.compress.quant import quantize_array
from workbench.exceptions import ConfigError, ModelError

ops = keras.ops
_WB_KEYS = ("wb_prune", "wb_bits", "wb_granularity", "wb_clusters")


# --- cloning between stock layers and their compressible twins ---

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


def compressible_layers(model: keras.Model) -> list[Any]:
    """The Dense / Conv1D / Conv2D / DepthwiseConv layers (stock or twins), in order."""
    return [layer for layer in model.layers if is_compressible(layer)]


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
    from workbench.compress.planning import Settings, layer_plan, plan_bits

    _check_bits(bits)
    return plan_bits(layer_plan(model, Settings(quant_bits=bits, quant_bits_conv=conv_bits)))


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


def _kernel_np(layer: Any) -> np.ndarray:
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


# --- pruning masks ---

def polynomial_sparsity(step: int, target: float, begin: int, end: int) -> float:
    """Zhu & Gupta (2017): ``s_t = s_f (1 - (1 - (t - t0) / (t1 - t0))^3)`` inside [t0, t1].

    Example:
        >>> from workbench.compress.core import polynomial_sparsity
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
        >>> from workbench.compress.core import unstructured_masks
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


def unit_masks(layers: list[Any], sparsity: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per layer: (kernel mask, bias mask) removing the ``sparsity`` fraction of its units
    (Dense units or Conv filters) with the smallest L2 norm, keeping at least one."""
    out = {}
    for layer in layers:
        k = _kernel_np(layer)
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
    from workbench.compress.execute import pooled_masks

    layers = [lay for lay in model.layers if is_twin(lay) and lay.wb_prune]
    if structure == "units":
        for layer in layers:
            if layer.wb_prune != "units":
                continue
            km, bm = unit_masks([layer], sparsity)[layer.name]
            layer.wb_mask.assign(km)
            layer._kernel.assign(_kernel_np(layer) * km)
            if hasattr(layer, "wb_bias_mask"):
                layer.wb_bias_mask.assign(bm)
                layer.bias.assign(ops.convert_to_numpy(layer.bias) * bm)
        return
    kernels = {lay.name: _kernel_np(lay) * ops.convert_to_numpy(lay.wb_mask) for lay in layers}
    if scope == "layer":
        own = {**dict.fromkeys(kernels, sparsity), **(own or {})}
    masks = pooled_masks(kernels, sparsity, "global", own)
    for layer in layers:
        layer.wb_mask.assign(masks[layer.name])
        layer._kernel.assign(kernels[layer.name] * masks[layer.name])


class PruningScheduler(keras.callbacks.Callback):
    """Raise the sparsity of a wrapped model's masks along a schedule during ``fit``.

    ``model`` is the wrapped model whose masks change (default: the model being fit; pass the
    student when fitting a distiller). The masks are updated about 50 times over the pruning
    window (each time the scheduled sparsity has grown by 1/50 of the target) and at the
    window's end, where the target is reached exactly (with several steps per call, at the
    start of the call that reaches it; ``wb.run`` keeps calls short enough for the 50
    updates); an update costs ~6 ms for
    LeNet-300-100's 266k weights. Fewer, coarser updates gave a bigger artifact at equal
    sparsity: 16 updates 8,697 B vs 50 updates 7,765 B (tfmot tutorial CNN, 80%, 8 bits).
    Between updates the :class:`MaskConstraint` keeps pruned weights at zero inside the
    compiled train step.
    """

    multi_step_aware = True  # right with several steps per call (steps_per_execution)

    def __init__(self, target: float, begin_step: int, end_step: int, *,
                 schedule: str = "polynomial", scope: str = "global",
                 structure: str = "unstructured", model: Any = None,
                 layer_ratios: Mapping[str, float] | None = None) -> None:
        super().__init__()
        self.target_model = model  # the wrapped model; None = the model being fit
        self.target = float(target)
        self.layer_ratios = dict(layer_ratios or {})  # layers with their own target
        self.begin_step, self.end_step = int(begin_step), int(end_step)
        self.schedule, self.scope, self.structure = schedule, scope, structure
        self.current = 0.0  # progress towards the targets, 0..1
        self.step = 0

    def progress_at(self, step: int) -> float:
        """The fraction of every target reached at ``step`` (0..1)."""
        if self.schedule == "constant":
            return 1.0 if step >= self.begin_step else 0.0
        return polynomial_sparsity(step, 1.0, self.begin_step, self.end_step)

    def sparsity_at(self, step: int) -> float:
        return self.target * self.progress_at(step)

    def on_train_begin(self, logs: Any = None) -> None:
        self.step = int(ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        p = self.progress_at(self.step)
        if p > self.current and (p - self.current >= 1 / 50 or p == 1.0):
            own = {name: r * p for name, r in self.layer_ratios.items()}
            apply_masks(self.target_model or self.model, self.target * p, self.scope,
                        self.structure, own)
            self.current = p
        calls = int(getattr(self.model, "steps_per_execution", 1) or 1)
        self.step += steps_in_call(self, batch, batch + calls - 1)


# --- structured pruning: rebuild a smaller model ---

def shrink(model: keras.Model) -> keras.Model:
    """Rebuild a unit-pruned model without its all-zero units and filters.

    A unit is removed when its kernel column and bias are all zero (what ``units`` pruning
    leaves) and its activation maps 0 to 0, so the smaller model computes the same function.
    Works for models whose layers form a chain (each layer has one input).

    Example:
        >>> import keras, numpy as np, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
        ...                       keras.layers.Dense(2)])
        >>> w = m.layers[0].get_weights(); w[0][:, :3] = 0; w[1][:3] = 0
        >>> m.layers[0].set_weights(w)
        >>> C.shrink(m).count_params() < m.count_params()
        True
    """
    model = strip(model) if any(is_twin(layer) for layer in model.layers) else model
    prunable = unit_prunable(model)
    kept_units: dict[str, np.ndarray] = {}
    for layer in compressible_layers(model):
        if prunable.get(layer.name):
            continue
        k = _kernel_np(layer)
        alive = np.abs(k).reshape(-1, k.shape[-1]).sum(axis=0) > 0
        if layer.use_bias:
            alive |= ops.convert_to_numpy(layer.bias) != 0
        if not alive.any():
            alive[0] = True
        if not alive.all():
            kept_units[layer.name] = np.flatnonzero(alive)
    if not kept_units:
        return model

    config = model.get_config()
    by_name = {lc["config"]["name"]: lc for lc in config["layers"]}
    for lc in config["layers"]:
        lc.pop("build_config", None)  # shapes change: let Keras infer them again
    for name, kept in kept_units.items():
        lc = by_name[name]["config"]
        lc["units" if "units" in lc else "filters"] = len(kept)
    new = model.__class__.from_config(config)

    kept_in: np.ndarray | None = None  # kept channels of the current tensor's last axis
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inbound = layer._inbound_nodes[0].parent_nodes if layer._inbound_nodes else []
        if len(inbound) > 1:
            raise ModelError(f"units pruning needs a chain of layers; layer {layer.name!r} has "
                             f"{len(inbound)} inputs")
        weights = [np.asarray(ops.convert_to_numpy(w)) for w in layer.weights]
        target = new.get_layer(layer.name)
        if isinstance(layer, keras.layers.Flatten):
            if kept_in is not None:
                shape = layer.input.shape[1:]
                channels = shape[-1]
                positions = int(np.prod(shape[:-1]))
                kept_in = (np.arange(positions)[:, None] * channels + kept_in[None, :]).ravel()
            continue
        if is_compressible(layer) and not isinstance(
                layer, keras.layers.DepthwiseConv2D | keras.layers.DepthwiseConv1D):
            k = weights[0]
            if kept_in is not None:
                k = np.take(k, kept_in, axis=k.ndim - 2)
            out_kept = kept_units.get(layer.name)
            if out_kept is not None:
                k = np.take(k, out_kept, axis=-1)
            rest = [np.take(w, out_kept, axis=-1) if out_kept is not None else w
                    for w in weights[1:]]
            target.set_weights([k, *rest])
            kept_in = out_kept
        elif weights:
            if kept_in is not None:
                if isinstance(layer, keras.layers.DepthwiseConv2D | keras.layers.DepthwiseConv1D):
                    mult = weights[0].shape[-1]
                    k = np.take(weights[0], kept_in, axis=weights[0].ndim - 2)
                    kept_in = (kept_in[:, None] * mult + np.arange(mult)[None, :]).ravel()
                    rest = [np.take(w, kept_in, axis=-1) for w in weights[1:]]
                    target.set_weights([k, *rest])
                    continue
                if not all(w.ndim == 1 for w in weights):
                    raise ModelError(f"units pruning cannot follow channels through layer "
                                     f"{layer.name!r} ({type(layer).__name__})")
                target.set_weights([np.take(w, kept_in, axis=0) for w in weights])
            else:
                target.set_weights(weights)
        elif kept_in is not None and isinstance(layer, keras.layers.Reshape):
            raise ModelError(f"units pruning cannot follow channels through Reshape layer "
                             f"{layer.name!r}")
    return new


# --- one-shot functions on plain models ---

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
    from workbench.config import FIELDS

    _check_ratio(ratio)
    FIELDS["prune_structure"].check(structure)
    FIELDS["prune_scope"].check(scope)
    names = _require_layers(model, "prune")
    if structure == "units":
        names = [n for n, why in unit_prunable(model).items() if not why]
        if not names:
            raise ModelError("no layer can lose units: " + "; ".join(
                f"{n}: {why}" for n, why in unit_prunable(model).items()))
    wrapped = wrap(model, prune=structure, layers=names)
    apply_masks(wrapped, ratio, scope, structure)
    out = strip(wrapped)
    return shrink(out) if structure == "units" else out


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
    from workbench.config import FIELDS

    FIELDS["quant_granularity"].check(granularity)
    names = _require_layers(model, "quantize")
    if isinstance(bits, Mapping):
        unknown = sorted(set(bits) - set(names))
        if unknown:
            raise ModelError(f"quantize(): no Dense/Conv layer named {unknown[0]!r}; the "
                             f"model's are {', '.join(names)}")
        for b in bits.values():
            _check_bits(b)
        widths = dict(bits)
    else:
        _check_bits(bits)
        widths = dict.fromkeys(names, bits)
    twin = wrap(model, granularity=granularity)
    for layer in compressible_layers(twin):
        if layer.name not in widths:
            continue
        k = _kernel_np(layer)
        layer._kernel.assign(quantize_array(k, widths[layer.name], quant_axes(layer, k.ndim),
                                            calibrate))
    return strip(twin)


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
    from workbench.config import FIELDS

    if k is None or not isinstance(k, int):
        raise ConfigError("cluster_k", k, "an integer >= 2 and <= 256")
    FIELDS["cluster_k"].check(k)
    layers = _require_layers(model, "cluster")
    for layer in compressible_layers(model):
        n = int(np.prod(layer.kernel.shape))
        if k > n:
            raise ConfigError("cluster_k", k, f"at most the weight count of every layer; layer "
                              f"{layer.name!r} has only {n} weights")
    from workbench.compress.execute import cluster_array

    twin = wrap(model, prune="unstructured", clusters=k, layers=layers)
    for layer in compressible_layers(twin):
        cents, idx, mask = cluster_array(_kernel_np(layer), k)
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


def _check_ratio(ratio: Any) -> None:
    from workbench.config import FIELDS

    FIELDS["prune_ratio"].check(ratio)


def _check_bits(bits: Any, field: str = "quant_bits") -> None:
    from workbench.config import FIELDS

    if bits is None:
        raise ConfigError(field, bits, FIELDS[field].describe_allowed().removesuffix(", or None"))
    FIELDS[field].check(bits)


def _require_layers(model: Any, what: str) -> list[str]:
    if not isinstance(model, keras.Model):
        raise ModelError(f"{what}() needs a keras.Model, not {type(model).__name__}")
    names = [layer.name for layer in compressible_layers(model)]
    if not names:
        raise ModelError(f"model {model.name!r} has no layer to {what}: only Dense, Conv1D, "
                         f"Conv2D and DepthwiseConv layers are compressed; it has "
                         + ", ".join(type(la).__name__ for la in model.layers))
    return names


def channel_count(layer: Any) -> int:
    k = layer._kernel if is_twin(layer) else layer.kernel
    return int(np.prod([k.shape[a] for a in channel_axes(layer, len(k.shape))]))
