"""Structured pruning's last step: rebuild a model without its all-zero units and filters."""

from __future__ import annotations

import numpy as np

from workbench._tf import keras
from workbench.compress.layers import (
    compressible_layers,
    is_compressible,
    is_twin,
    kernel_array,
    unit_prunable,
)
from workbench.compress.wrap import strip
from workbench.exceptions import ModelError

ops = keras.ops


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
        k = kernel_array(layer)
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
