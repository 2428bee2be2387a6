"""What ``wb.run`` does with the compression fields, in Deep Compression's order.

``prepare`` (before training: wrap Dense/Conv layers in twins with masks and fake quantization,
every check that can fail) -> training with :class:`PruningScheduler` -> ``finalize`` (strip,
remove pruned units, post-training quantization or clustering) -> ``export`` (packed ``.wbz``,
TFLite variants, each measured on its own artifact).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.compress.execute import apply_plan
from workbench.compress.layers import compressible_layers, kernel_array, kernel_axes, require_layers
from workbench.compress.planning import (
    LayerPlan,
    Settings,
    checked_plan,
    layer_plan,
    plan_bits,
    prune_targets,
    widest_bits,
)
from workbench.compress.pruning import apply_masks
from workbench.compress.pruning_scheduler import PruningScheduler
from workbench.compress.shrink import shrink
from workbench.compress.sizes import telemetry
from workbench.compress.wrap import strip, wrap
from workbench.config import ExperimentConfig
from workbench.exceptions import WorkbenchError


@dataclass
class Compression:
    """The compression steps of one run, from its config, carried out from one layer plan.

    ``prepare`` computes the plan (:func:`workbench.compress.planning.layer_plan`) on the model
    to train and wraps the layers it prunes or fake-quantizes; ``finalize`` carries out the
    rest of the same plan (:func:`workbench.compress.execute.apply_plan`). With
    ``epochs=0`` pruning is one-shot, in ``finalize``.
    """

    cfg: ExperimentConfig
    plans: list[LayerPlan] | None = None

    def __post_init__(self) -> None:
        self.settings = Settings.from_config(self.cfg)

    @property
    def prunes(self) -> bool:
        return self.cfg.prunes

    @property
    def qat(self) -> bool:
        return self.cfg.quant_mode == "qat" and self.cfg.quant_bits is not None

    @property
    def active(self) -> bool:
        return self.settings.active

    @property
    def one_shot(self) -> bool:
        """No training: the plan is carried out on the weights as they are."""
        return self.cfg.epochs == 0

    def plan(self, net: Any) -> list[LayerPlan]:
        """The per-layer plan for ``net`` (every check that can fail, before training)."""
        require_layers(net, "compress")
        return checked_plan(net, self.settings)

    def prepare(self, net: Any) -> Any:
        """Plan, then return the model to train (twins where training prunes or uses QAT)."""
        if not self.active:
            return net
        self.plans = self.plan(net)
        c = self.cfg
        wrap_prune = self.prunes and not (self.one_shot and c.prune_structure == "unstructured")
        if not wrap_prune and not self.qat:
            return net
        wrapped = wrap(net, prune=c.prune_structure if wrap_prune else None,
                            bits=plan_bits(self.plans) if self.qat else None,
                            granularity=c.quant_granularity,
                            layers=[p.name for p in self.plans if p.compressible])
        planned = {p.name: p for p in self.plans}
        for layer in compressible_layers(wrapped):
            if planned[layer.name].prune is None:
                layer.wb_prune = None  # e.g. the output layer under units pruning
        return wrapped

    def callbacks(self, student: Any, total_steps: int) -> list[Any]:
        if not self.prunes or self.one_shot or not self.plans:
            return []
        c = self.cfg
        begin = round(c.prune_begin * total_steps)
        end = max(begin + 1, round(c.prune_end * total_steps))
        _, own = prune_targets(self.plans)
        return [PruningScheduler(c.prune_ratio, begin, end, schedule=c.prune_schedule,
                                      scope=c.prune_scope, structure=c.prune_structure,
                                      model=student, layer_ratios=own)]

    def extras(self, student: Any) -> Any:
        if not self.active:
            return None
        return lambda _model: telemetry(student)

    def finalize(self, net: Any) -> Any:
        """Turn the trained model into the compressed plain-Keras model (a new model)."""
        c = self.cfg
        if not self.active:
            return net
        plans = self.plans if self.plans is not None else self.plan(net)
        if self.one_shot and self.prunes and c.prune_structure == "units":
            apply_masks(net, c.prune_ratio, "layer", "units")
        final = strip(net)  # stock layers holding the effective kernels; always a copy
        if self.prunes and c.prune_structure == "units":
            final = shrink(final)
        if c.quant_mode == "keras" and c.quant_bits is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                final.quantize("int8" if c.quant_bits == 8 else "int4")
            return final
        kernels = {la.name: kernel_array(la) for la in compressible_layers(final)}
        prune_now = self.one_shot and self.prunes and c.prune_structure == "unstructured"
        new = apply_plan(kernels, plans, kernel_axes(final, c.quant_granularity),
                         prune=prune_now, ptq=c.quant_mode == "ptq")
        for name, k in new.items():
            final.get_layer(name).kernel.assign(k)
        return final


def compression_metrics(cfg: ExperimentConfig, final: Any, dense_bytes: int,
                        packed_bytes: int | None) -> dict[str, Any]:
    """``sparsity``, ``bits``, ``size_bytes_packed`` and ``compression_ratio`` of a run."""
    keras_mode = cfg.quant_mode == "keras" and cfg.quant_bits is not None
    settings = Settings.from_config(cfg)
    t = telemetry(final) if not keras_mode else {}
    bits = (cfg.quant_bits if keras_mode else
            widest_bits(layer_plan(final, settings)) if settings.active else 32)
    out: dict[str, Any] = {"sparsity": t.get("sparsity", 0.0), "bits": bits}
    if packed_bytes:
        out["size_bytes_packed"] = int(packed_bytes)
        out["compression_ratio"] = dense_bytes / packed_bytes
    return out


#: Where an artifact's bytes go: ``save(kind, data) -> path`` (the run store names the file).
Save = Callable[[str, bytes], Path]


def export_all(cfg: ExperimentConfig, final: Any, save: Save | None, x_train: np.ndarray,
               x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """Make the artifacts listed in ``cfg.export``, hand each to ``save``, and measure each on
    the file it was saved as.

    Packed bytes are always measured (``size_bytes_packed``); the ``.wbz`` is saved (and its
    accuracy measured on the unpacked file) when ``packed`` is listed and ``save`` is given.
    An export that fails is reported as ``<kind>_error`` and the run keeps its other results.
    """
    from workbench.compress.export import evaluate_tflite, export_tflite
    from workbench.compress.pack import encode, unpack
    from workbench.exports import TFLITE_KINDS

    out: dict[str, Any] = {}
    keras_quantized = cfg.quant_mode == "keras" and cfg.quant_bits is not None
    if keras_quantized:  # not packable: its artifact is the .keras file Keras writes
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            final.save(path)
            out["size_bytes_packed"] = path.stat().st_size
    else:
        data, _ = encode(final)
        out["size_bytes_packed"] = len(data)
        if "packed" in cfg.export and save is not None:
            restored = unpack(save("packed", data))
            # eager calls: a tf.function per restored model would retrace (and warn) each run
            pred = np.concatenate([np.asarray(restored(x_test[i: i + 1024], training=False))
                                   for i in range(0, len(x_test), 1024)])
            out["packed_accuracy"] = float(np.mean(pred.argmax(-1) == y_test))
    for kind in cfg.export:
        if kind not in TFLITE_KINDS:
            continue
        try:
            flat = export_tflite(final, None, kind, representative_data=x_train)
            if save is not None:
                save(kind, flat)
            ev = evaluate_tflite(flat, x_test, y_test)
        except WorkbenchError as e:
            warnings.warn(f"export {kind} failed: {e}", RuntimeWarning, stacklevel=2)
            out[f"{kind}_error"] = str(e)
            continue
        out[f"{kind}_bytes"] = len(flat)
        out[f"{kind}_accuracy"] = ev["accuracy"]
        out[f"{kind}_latency_ms"] = ev["latency_ms"]
    return out
