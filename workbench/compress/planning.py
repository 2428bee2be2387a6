"""The per-layer compression plan: what each layer will undergo, decided once, as data.

Every consumer reads the same plan: the preflight table (:func:`plan`), ``wb.run`` (which layers
to wrap for pruning and QAT, at which width, and the one-shot steps after training), the
what-if engine and the panel. The rules live in :func:`layer_plan` and nowhere else:

- only Dense, Conv1D, Conv2D and DepthwiseConv layers are compressed (the rest stay float32);
- pruning: a layer listed in the per-layer ratios is pruned to its own ratio; the others share
  ``prune_ratio``, ranked together (``global``) or each to the ratio (``layer``); ``units``
  pruning skips the output layer, depthwise layers and activations with f(0) != 0;
- quantization: ``quant_bits``, ``quant_bits_conv`` for Conv/DepthwiseConv kernels, or a
  per-layer width; Keras's own mode only touches exact Dense layers;
- clustering: ``cluster_k`` shared values per layer, at most the layer's weight count.

Example:
    >>> import keras, workbench.compress as C
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="c"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(3, name="d")])
    >>> s = C.Settings(prune_ratio=0.5, quant_bits=4, quant_bits_conv=8)
    >>> [(p.name, p.bits, p.prune_pool) for p in C.layer_plan(m, s)]
    [('c', 8, 'global'), ('d', 4, 'global')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.config import FIELDS
from workbench.exceptions import ConfigError, ModelError, did_you_mean

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from workbench.config import ExperimentConfig

_SETTING_FIELDS = ("prune_ratio", "prune_scope", "prune_structure", "prune_schedule",
                   "quant_bits", "quant_bits_conv", "quant_mode", "quant_granularity",
                   "cluster_k")
_LAYER_KEYS = ("prune_ratio", "quant_bits")


@dataclass(frozen=True)
class Settings:
    """The compression settings that act layer by layer (the config's compression fields).

    Each value is checked by its config field's own rule (``FIELDS[name].check``), so an
    error names the field exactly as ``ExperimentConfig`` would. ``layers`` overrides single
    layers: ``{name: {"prune_ratio": r, "quant_bits": b}}``.

    Example:
        >>> import workbench.compress as C
        >>> C.Settings(quant_bits=4, layers={"dense_1": {"prune_ratio": 0.9}}).prunes
        True
    """

    prune_ratio: float = 0.0
    prune_scope: str = "global"
    prune_structure: str = "unstructured"
    prune_schedule: str = "polynomial"
    quant_bits: int | None = None
    quant_bits_conv: int | None = None
    quant_mode: str = "ptq"
    quant_granularity: str = "per_channel"
    cluster_k: int | None = None
    layers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _SETTING_FIELDS:
            object.__setattr__(self, name, FIELDS[name].check(getattr(self, name)))
        if not isinstance(self.layers, Mapping):
            raise ConfigError("layers", self.layers, "a mapping of layer names to "
                              "{'prune_ratio': r, 'quant_bits': b}")
        clean: dict[str, dict[str, Any]] = {}
        for lname, over in self.layers.items():
            if not isinstance(over, Mapping):
                raise ConfigError("layers", {lname: over}, "a mapping of layer names to "
                                  "{'prune_ratio': r, 'quant_bits': b}")
            for key in over:
                if key not in _LAYER_KEYS:
                    raise ConfigError("layers", {lname: dict(over)}, "per-layer settings "
                                      "from: " + ", ".join(_LAYER_KEYS)
                                      + did_you_mean(str(key), _LAYER_KEYS))
            clean[str(lname)] = {k: FIELDS[k].check(v) for k, v in over.items()}
        object.__setattr__(self, "layers", clean)
        if self.cluster_k is not None and (self.quant_bits is not None or any(
                "quant_bits" in o and o["quant_bits"] is not None for o in clean.values())):
            raise ConfigError("cluster_k", self.cluster_k, "None when quant_bits is set: "
                              "clustering is itself a quantization (to k shared values)")
        if clean and self.prune_structure != "unstructured":
            raise ConfigError("prune_layer_ratios", {k: dict(v) for k, v in clean.items()},
                              "None with prune_structure='units'")

    @classmethod
    def from_config(cls, cfg: ExperimentConfig) -> Settings:
        """The settings of a config (``prune_layer_ratios`` become per-layer overrides)."""
        layers = {name: {"prune_ratio": r} for name, r in cfg.prune_layer_ratios or ()}
        return cls(**{n: getattr(cfg, n) for n in _SETTING_FIELDS}, layers=layers)

    @property
    def prunes(self) -> bool:
        return self.prune_ratio > 0 or any(o.get("prune_ratio", 0) > 0
                                           for o in self.layers.values())

    @property
    def quantizes(self) -> bool:
        return self.quant_bits is not None or any(o.get("quant_bits") is not None
                                                  for o in self.layers.values())

    @property
    def active(self) -> bool:
        return self.prunes or self.quantizes or self.cluster_k is not None


@dataclass(frozen=True)
class LayerPlan:
    """What one layer undergoes.

    ``prune`` is ``"unstructured"``, ``"units"`` or None; ``prune_pool`` says how its ratio
    is met: ``"global"`` (ranked together with the other global layers at ``prune_ratio``) or
    ``"layer"`` (on its own); ``bits`` is its kernel width (None = float32); ``note`` says why
    a step is skipped.
    """

    name: str
    type: str
    params: int
    kernel_size: int
    compressible: bool
    prune: str | None = None
    prune_ratio: float = 0.0
    prune_pool: str = ""
    bits: int | None = None
    cluster_k: int | None = None
    note: str = ""


def layer_plan(model: keras.Model, settings: Settings | ExperimentConfig) -> list[LayerPlan]:
    """One :class:`LayerPlan` per layer with weights, in model order (the rules above).

    Raises ConfigError for a per-layer override naming no compressible layer (with a
    did-you-mean) and ModelError when ``units`` pruning finds no layer that can lose units.
    """
    from workbench.compress.layers import is_compressible, unit_prunable

    s = settings if isinstance(settings, Settings) else Settings.from_config(settings)
    layers = [la for la in model.layers if la.weights]
    names = [la.name for la in layers if is_compressible(la)]
    for lname in s.layers:
        if lname not in names:
            field_name = ("prune_layer_ratios" if set(s.layers[lname]) <= {"prune_ratio"}
                          else "layers")
            raise ConfigError(field_name, lname, "a prunable layer of model "
                              f"{model.name!r}: " + (", ".join(names) or "(none)")
                              + did_you_mean(lname, names))
    units = unit_prunable(model) if s.prunes and s.prune_structure == "units" else {}
    if units and not any(not why for why in units.values()):
        raise ModelError("prune_structure='units' but no layer can lose units: "
                         + "; ".join(f"{n}: {why}" for n, why in units.items()))
    out = []
    for layer in layers:
        params = int(sum(int(np.prod(w.shape)) for w in layer.weights))
        kind = type(layer).__name__.removeprefix("WB")
        if not is_compressible(layer):
            out.append(LayerPlan(layer.name, kind, params, 0, False,
                                 note="not a Dense/Conv layer: left float32"))
            continue
        kernel = layer._kernel if hasattr(layer, "_kernel") else layer.kernel
        size = int(np.prod(kernel.shape))
        over = s.layers.get(layer.name, {})
        notes = []
        prune, ratio, pool = None, over.get("prune_ratio", s.prune_ratio), ""
        if ratio > 0:
            if s.prune_structure == "units" and units.get(layer.name):
                notes.append("not unit-pruned: " + units[layer.name])
            else:
                prune = s.prune_structure
                pool = ("layer" if "prune_ratio" in over or s.prune_scope == "layer"
                        or s.prune_structure == "units" else "global")
        bits = over.get("quant_bits", s.quant_bits)
        if bits is not None and "quant_bits" not in over and s.quant_bits_conv is not None \
                and kind != "Dense":
            bits = s.quant_bits_conv
        if bits is not None and s.quant_mode == "keras" and kind != "Dense":
            notes.append("Keras's quantize() skips this layer type: left float32")
            bits = None
        k = None
        if s.cluster_k is not None:
            if s.cluster_k > size:
                notes.append(f"cluster_k={s.cluster_k} exceeds its {size} weights")
            else:
                k = s.cluster_k
        out.append(LayerPlan(layer.name, kind, params, size, True, prune,
                             float(ratio) if prune else 0.0, pool, bits, k, "; ".join(notes)))
    return out


def check_plan(plans: list[LayerPlan], settings: Settings) -> None:
    """Raise for a plan that cannot be carried out (``wb.run`` calls it before training)."""
    if settings.cluster_k is not None:
        for p in plans:
            if p.compressible and p.cluster_k is None:
                raise ConfigError("cluster_k", settings.cluster_k, f"at most the weight count "
                                  f"of every Dense/Conv layer; layer {p.name!r} has "
                                  f"{p.kernel_size}")


def checked_plan(model: keras.Model, settings: Settings) -> list[LayerPlan]:
    """:func:`layer_plan`, then :func:`check_plan`: the plan that will be carried out."""
    plans = layer_plan(model, settings)
    check_plan(plans, settings)
    return plans


def plan_bits(plans: list[LayerPlan]) -> dict[str, int]:
    """``{layer: bits}`` of the layers the plan quantizes."""
    return {p.name: p.bits for p in plans if p.bits is not None}


def widest_bits(plans: list[LayerPlan]) -> int:
    """The widest kernel width the plan leaves (32 = float32 somewhere)."""
    widths = []
    for p in plans:
        if not p.compressible:
            continue
        if p.bits is not None:
            widths.append(p.bits)
        elif p.cluster_k is not None:
            widths.append(max(1, math.ceil(math.log2(p.cluster_k))))
        else:
            widths.append(32)
    return max(widths, default=32)


def prune_targets(plans: list[LayerPlan], progress: float = 1.0
                  ) -> tuple[float, dict[str, float]]:
    """``(global sparsity, {layer: own sparsity})`` at ``progress`` (0..1) of the targets."""
    global_ratio = next((p.prune_ratio for p in plans if p.prune_pool == "global"), 0.0)
    own = {p.name: p.prune_ratio * progress for p in plans if p.prune_pool == "layer"}
    return global_ratio * progress, own


def plan_table(plans: list[LayerPlan], settings: Settings) -> pd.DataFrame:
    """The plan as the preflight table: one row per layer, what it undergoes, in words."""
    import pandas as pd

    rows = []
    for p in plans:
        prune = quant = cluster = ""
        if p.prune:
            how = (f"{p.prune_pool}, {settings.prune_schedule}" if p.prune_pool == "global"
                   else f"layer, {settings.prune_schedule}")
            prune = f"{p.prune} {p.prune_ratio:g} ({how})"
        if p.bits is not None:
            quant = ("float16" if p.bits == 16 else
                     f"{p.bits}-bit {settings.quant_granularity} {settings.quant_mode}")
        if p.cluster_k is not None:
            cluster = f"k={p.cluster_k}"
        rows.append({"layer": p.name, "type": p.type, "params": p.params, "prune": prune,
                     "quantize": quant, "cluster": cluster, "note": p.note})
    return pd.DataFrame(rows, columns=["layer", "type", "params", "prune", "quantize",
                                       "cluster", "note"]).set_index("layer")
