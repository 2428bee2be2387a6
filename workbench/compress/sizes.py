"""Size accounting (:func:`size_report`), the preflight (:func:`plan`) and per-epoch telemetry."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from workbench._tf import keras
from workbench.compress.layers import effective_kernel, is_compressible, is_twin, quant_axes
from workbench.compress.quantizers import distinct_per_group

ops = keras.ops


def _bits_of(layer: Any, kernel: np.ndarray, axes: tuple[int, ...] | None,
             distinct: int) -> int:
    """Bits per stored kernel value: the twin's own width, else that of the integer grid the
    values lie on (a 4-bit grid is 4 bits even where pruning left 8 of its 16 levels in use),
    else of the distinct values (a k-means codebook)."""
    if is_twin(layer) and layer.wb_bits:
        return int(layer.wb_bits)
    if is_twin(layer) and layer.wb_clusters:
        return max(1, math.ceil(math.log2(layer.wb_clusters)))
    if distinct > 256:
        return 32
    from workbench.compress.pack import find_grid

    keep = [a for a in range(kernel.ndim) if a not in (axes or ())] if axes else []
    rows = (np.moveaxis(kernel, keep, list(range(len(keep)))).reshape(
        int(np.prod([kernel.shape[a] for a in keep])), -1) if keep else kernel.reshape(1, -1))
    levels = 0
    for row in rows:
        grid = find_grid(row)
        if grid is None:
            levels = distinct
            break
        levels = max(levels, int(grid[1].max() - grid[1].min()) + 1)
    return max(1, math.ceil(math.log2(max(levels, 2))))


def size_report(model: keras.Model, codec: str = "lzma") -> pd.DataFrame:
    """One row per layer with weights, plus ``total``: what the model costs, and where.

    Columns: ``type``, ``params``, ``nonzeros``, ``sparsity``, ``bits`` (bits per stored
    kernel value: 32 for float, else the width needed for the distinct values),
    ``distinct_values`` (the most in any quantization group of the kernel), ``bytes_float32``,
    ``bytes_packed`` (that layer's streams entropy-coded on their own). The ``total`` row's
    ``bytes_packed`` is the byte count of the whole ``.wbz`` artifact, header included, and
    its ``sparsity`` is over the compressible kernels.

    Example:
        >>> import keras, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="d")])
        >>> int(C.size_report(m).loc["d", "params"])
        144
    """
    from workbench.compress.pack import encode
    from workbench.compress.wrap import strip
    from workbench.wbz import compress_body

    data, entries = encode(model, codec)
    blob = _blob_of(data)  # once, not once per layer
    plain = strip(model) if any(is_twin(la) for la in model.layers) else model
    rows = []
    kern_total = kern_zero = 0
    for layer, plain_layer in zip(model.layers, plain.layers, strict=True):
        if not layer.weights:
            continue
        values = [np.asarray(ops.convert_to_numpy(w)) for w in plain_layer.weights]
        params = int(sum(v.size for v in values))
        nonzeros = int(sum(np.count_nonzero(v) for v in values))
        if is_compressible(layer):
            k = effective_kernel(layer)
            axes = quant_axes(layer, k.ndim)
            distinct = int(distinct_per_group(k, axes).max())
            bits = _bits_of(layer, k, axes, distinct)
            kern_total += k.size
            kern_zero += int(k.size - np.count_nonzero(k))
        else:
            distinct = int(max((np.unique(v).size for v in values), default=0))
            bits = 32
        packed = len(compress_body(_layer_streams(blob, entries, layer.name), codec))
        rows.append({"layer": layer.name, "type": type(plain_layer).__name__, "params": params,
                     "nonzeros": nonzeros, "sparsity": 1 - nonzeros / params if params else 0.0,
                     "bits": bits, "distinct_values": distinct, "bytes_float32": params * 4,
                     "bytes_packed": packed})
    df = pd.DataFrame(rows).set_index("layer")
    total = {"type": "", "params": int(df["params"].sum()),
             "nonzeros": int(df["nonzeros"].sum()),
             "sparsity": kern_zero / kern_total if kern_total else 0.0,
             "bits": int(df["bits"].max()) if len(df) else 32,
             "distinct_values": int(df["distinct_values"].max()) if len(df) else 0,
             "bytes_float32": int(df["bytes_float32"].sum()), "bytes_packed": len(data)}
    df.loc["total"] = total
    return df


def _blob_of(data: bytes) -> bytes:
    """The data streams of ``.wbz`` bytes (decompressed body after its JSON header)."""
    from workbench.wbz import PREAMBLE, decompress_body

    raw = decompress_body(data[PREAMBLE.size:], data[4])
    (hlen,) = np.frombuffer(raw[:4], dtype="<u4")
    return raw[4 + int(hlen):]


def _layer_streams(blob: bytes, entries: list[dict[str, Any]], layer: str) -> bytes:
    parts = []
    for e in entries:
        if e["layer"] == layer:
            for key in ("gaps", "codes", "table", "data"):
                if key in e:
                    off, n = e[key]
                    parts.append(blob[off: off + n])
    return b"".join(parts)


def telemetry(model: keras.Model) -> dict[str, Any]:
    """Cheap per-epoch compression figures for the live view: sparsity, bits, estimated bytes.

    ``size_bytes_estimate`` is an entropy bound of the packed artifact: for each kernel, the
    positions (binary entropy of its density) plus ``bits`` per nonzero; float32 for the rest.
    """
    kern_total = kern_zero = 0
    est_bits = 0.0
    bits_seen = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if is_compressible(layer):
            k = effective_kernel(layer)
            n, nz = k.size, int(np.count_nonzero(k))
            kern_total += n
            kern_zero += n - nz
            bits = (layer.wb_bits if is_twin(layer) and layer.wb_bits else
                    math.ceil(math.log2(layer.wb_clusters)) if is_twin(layer)
                    and layer.wb_clusters else 32)
            bits_seen.append(bits)
            p = nz / n if n else 0.0
            h = 0.0 if p in (0.0, 1.0) else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
            est_bits += n * h + nz * bits
            rest = sum(int(np.prod(w.shape)) for w in layer.weights
                       if w.name not in ("kernel", "wb_mask", "wb_bias_mask", "wb_centroids",
                                         "wb_assign"))
            est_bits += rest * 32
        else:
            est_bits += 32 * sum(int(np.prod(w.shape)) for w in layer.weights)
    return {"sparsity": kern_zero / kern_total if kern_total else 0.0,
            "bits": max(bits_seen) if bits_seen else 32,
            "size_bytes_estimate": int(est_bits / 8)}


def plan(model: keras.Model, cfg: Any = None) -> pd.DataFrame:
    """Preflight: for every layer, what ``cfg`` will do to it (prune, quantize, cluster), or why
    it is left alone. ``cfg`` is an ExperimentConfig or :class:`Settings` (None = defaults).

    The table renders :func:`layer_plan`, the same plan ``wb.run`` carries out.

    Example:
        >>> import keras, workbench as wb, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="d"),
        ...                       keras.layers.BatchNormalization(name="bn")])
        >>> p = C.plan(m, wb.ExperimentConfig(prune_ratio=0.5, quant_bits=4))
        >>> p.loc["d", "quantize"], p.loc["bn", "note"]
        ('4-bit per_channel ptq', 'not a Dense/Conv layer: left float32')
    """
    from workbench.compress.planning import Settings, layer_plan, plan_table

    if cfg is None:
        settings = Settings()
    elif isinstance(cfg, Settings):
        settings = cfg
    else:
        settings = Settings.from_config(cfg)
    return plan_table(layer_plan(model, settings), settings)
