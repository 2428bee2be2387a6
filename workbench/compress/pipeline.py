"""What ``wb.run`` does with the compression fields, in Deep Compression's order.

``prepare`` (before training: wrap Dense/Conv layers in twins with masks and fake quantization,
every check that can fail) -> training with :class:`PruningScheduler` -> ``finalize`` (strip,
remove pruned units, post-training quantization or clustering) -> ``export`` (packed ``.wbz``,
TFLite variants, each measured on its own artifact).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.compress import core
from workbench.compress.report import telemetry
from workbench.config import ExperimentConfig
from workbench.exceptions import ConfigError, ModelError, WorkbenchError


@dataclass
class Compression:
    """The compression steps of one run, from its config."""

    cfg: ExperimentConfig

    @property
    def prunes(self) -> bool:
        return self.cfg.prune_ratio > 0

    @property
    def qat(self) -> bool:
        return self.cfg.quant_mode == "qat" and self.cfg.quant_bits is not None

    @property
    def active(self) -> bool:
        c = self.cfg
        return self.prunes or c.quant_bits is not None or c.cluster_k is not None

    def bits(self, model: Any) -> int:
        """The widest weight bit-width of ``model``'s Dense/Conv layers (32 = float32)."""
        c = self.cfg
        if c.quant_bits is not None:
            if c.quant_bits_conv is None:
                return int(c.quant_bits)
            return max(core.layer_bits(model, c.quant_bits, c.quant_bits_conv).values())
        if c.cluster_k is not None:
            return max(1, math.ceil(math.log2(c.cluster_k)))
        return 32

    def prepare(self, net: Any) -> Any:
        """Check the model against the config and return the model to train (twins if needed)."""
        c = self.cfg
        if not self.active:
            return net
        names = core._require_layers(net, "compress")
        if c.cluster_k is not None:
            for layer in core.compressible_layers(net):
                n = int(np.prod(layer.kernel.shape))
                if c.cluster_k > n:
                    raise ConfigError("cluster_k", c.cluster_k, f"at most the weight count of "
                                      f"every Dense/Conv layer; layer {layer.name!r} has {n}")
        prune = None
        if self.prunes:
            prune = c.prune_structure
            if c.prune_structure == "units":
                why = core.unit_prunable(net)
                units = [n for n, reason in why.items() if not reason]
                if not units:
                    raise ModelError("prune_structure='units' but no layer can lose units: "
                                     + "; ".join(f"{n}: {r}" for n, r in why.items()))
        if prune is None and not self.qat:
            return net
        bits = core.layer_bits(net, c.quant_bits, c.quant_bits_conv) if self.qat else None
        wrapped = core.wrap(net, prune=prune, bits=bits,
                            granularity=c.quant_granularity, layers=names)
        if prune == "units":  # only hidden layers lose units; the rest still get quantized
            why = core.unit_prunable(wrapped)
            for layer in core.compressible_layers(wrapped):
                if why.get(layer.name):
                    layer.wb_prune = None
        return wrapped

    def callbacks(self, student: Any, total_steps: int) -> list[Any]:
        if not self.prunes:
            return []
        c = self.cfg
        begin = round(c.prune_begin * total_steps)
        end = max(begin + 1, round(c.prune_end * total_steps))
        return [core.PruningScheduler(c.prune_ratio, begin, end, schedule=c.prune_schedule,
                                      scope=c.prune_scope, structure=c.prune_structure,
                                      model=student)]

    def extras(self, student: Any) -> Any:
        if not self.active:
            return None
        return lambda _model: telemetry(student)

    def finalize(self, net: Any) -> Any:
        """Turn the trained model into the compressed plain-Keras model."""
        c = self.cfg
        if not self.active:
            return net
        final = core.strip(net) if any(core.is_twin(la) for la in net.layers) else net
        if self.prunes and c.prune_structure == "units":
            final = core.shrink(final)
        if c.quant_bits is not None and c.quant_mode == "ptq":
            final = core.quantize(final, core.layer_bits(final, c.quant_bits, c.quant_bits_conv),
                                  granularity=c.quant_granularity)
        elif c.quant_mode == "keras" and c.quant_bits is not None:
            final = core.strip(final)  # a fresh copy: quantize() changes the model in place
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                final.quantize("int8" if c.quant_bits == 8 else "int4")
        elif c.cluster_k is not None:
            final = core.cluster(final, c.cluster_k)
        return final


def compression_metrics(cfg: ExperimentConfig, final: Any, dense_bytes: int,
                        packed_bytes: int | None) -> dict[str, Any]:
    """``sparsity``, ``bits``, ``size_bytes_packed`` and ``compression_ratio`` of a run."""
    t = telemetry(final) if cfg.quant_mode != "keras" or cfg.quant_bits is None else {}
    out: dict[str, Any] = {"sparsity": t.get("sparsity", 0.0),
                           "bits": Compression(cfg).bits(final)}
    if packed_bytes:
        out["size_bytes_packed"] = int(packed_bytes)
        out["compression_ratio"] = dense_bytes / packed_bytes
    return out


def export_all(cfg: ExperimentConfig, final: Any, run_dir: Path | None, x_train: np.ndarray,
               x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """Write the artifacts listed in ``cfg.export`` and measure each on its own file.

    Packed bytes are always measured (``size_bytes_packed``); the ``.wbz`` file is written
    when ``packed`` is listed. An export that fails is reported as ``<kind>_error`` and the
    run keeps its other results.
    """
    from workbench.compress.export import TFLITE_KINDS, evaluate_tflite, export_tflite
    from workbench.compress.pack import encode, unpack

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
        if "packed" in cfg.export and run_dir is not None:
            from workbench.runs import atomic_write_bytes

            path = run_dir / "model.wbz"
            atomic_write_bytes(path, data)
            restored = unpack(path)
            # eager calls: a tf.function per restored model would retrace (and warn) each run
            pred = np.concatenate([np.asarray(restored(x_test[i: i + 1024], training=False))
                                   for i in range(0, len(x_test), 1024)])
            out["packed_accuracy"] = float(np.mean(pred.argmax(-1) == y_test))
    for kind in cfg.export:
        if kind not in TFLITE_KINDS:
            continue
        try:
            path = run_dir / f"model_{kind}.tflite" if run_dir is not None else None
            flat = export_tflite(final, path, kind, representative_data=x_train)
            ev = evaluate_tflite(flat, x_test, y_test)
        except WorkbenchError as e:
            warnings.warn(f"export {kind} failed: {e}", RuntimeWarning, stacklevel=2)
            out[f"{kind}_error"] = str(e)
            continue
        out[f"{kind}_bytes"] = len(flat)
        out[f"{kind}_accuracy"] = ev["accuracy"]
        out[f"{kind}_latency_ms"] = ev["latency_ms"]
    return out
