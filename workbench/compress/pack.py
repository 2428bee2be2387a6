"""Write the packed artifact (``.wbz``, see :mod:`workbench.wbz` for the format) from a Keras
model, and rebuild the model from one."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from workbench._io import atomic_write_bytes
from workbench.exceptions import ArtifactError, ConfigError
from workbench.wbz import (
    CODECS,
    FORMAT_VERSION,
    MAGIC,
    PREAMBLE,
    STREAM_ORDER,
    compress_body,
    decode_weights,
    encode_gaps,
)


def find_grid(vals: np.ndarray, u: np.ndarray | None = None
               ) -> tuple[np.float32, np.ndarray] | None:
    """Return (scale, k) with ``float32(k) * scale == vals`` exactly, or None.

    ``u`` is ``np.unique(vals)`` when the caller has it already."""
    u = np.unique(vals) if u is None else u
    nz = u[u != 0]
    if nz.size == 0:
        return np.float32(1.0), np.zeros(vals.shape, dtype=np.int64)
    scale = np.float32(abs(nz[0]) if nz.size == 1 else np.min(np.diff(u)))
    for div in (1, 2, 3, 4, 5, 6, 7, 8):
        s0 = np.float32(scale / div)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # no grid: checked
            k = np.round(u.astype(np.float64) / s0).astype(np.int64)
        j = int(np.argmax(np.abs(k)))
        if k[j] == 0:
            continue
        s = np.float32(u[j] / np.float32(k[j]))
        for cand in (s, np.nextafter(s, np.float32(np.inf)), np.nextafter(s, np.float32(0))):
            if np.array_equal(k.astype(np.float32) * cand, u) and np.abs(k).max() < 2 ** 15:
                lookup = np.searchsorted(u, vals)
                return np.float32(cand), k[lookup]
    return None


def _groups_of(layer_kind: str, shape: tuple[int, ...], granular: bool) -> int:
    if not granular or not shape:
        return 1
    if layer_kind == "depthwise" and len(shape) >= 2:
        return int(shape[-1] * shape[-2])
    return int(shape[-1])


def _encode_tensor(w: np.ndarray, groups: int, streams: dict[str, list[bytes]],
                   entry: dict[str, Any], codes: bool = True) -> None:
    flat = w.ravel()

    def put(kind: str, data: bytes, key: str) -> None:
        entry[key] = [kind, sum(len(x) for x in streams[kind]), len(data)]
        streams[kind].append(data)

    zeros = float(np.mean(flat == 0)) if flat.size else 0.0
    sparse = flat.size >= 64 and zeros >= 0.5
    if sparse:
        pos = np.flatnonzero(flat)
        vals = flat[pos]
        gid = pos % groups
    else:
        pos, vals = None, flat
        gid = np.arange(flat.size) % groups
    if groups > 1:  # each group's values in their order: one stable sort, not one pass each
        order = np.argsort(gid, kind="stable")
        bounds = np.cumsum(np.bincount(gid, minlength=groups))[:-1]
        members = np.split(order, bounds)
        per_group = [vals[m] for m in members]
    else:
        members, per_group = [slice(None)], [vals]
    uniques = [np.unique(v) for v in per_group]
    distinct = max((u.size for u in uniques), default=0)
    if codes and flat.size >= 16 and distinct <= 256 and np.isfinite(vals).all():
        grids = [find_grid(v, u) for v, u in zip(per_group, uniques, strict=True)]
        if all(g is not None for g in grids):
            ks = np.zeros(vals.size, dtype=np.int64)
            scales = np.zeros(groups, dtype=np.float32)
            kmins = np.zeros(groups, dtype=np.int32)
            for g, (scale, k) in enumerate(grids):
                kmins[g] = int(k.min()) if k.size else 0
                ks[members[g]] = k - kmins[g]
                scales[g] = scale
            code_dtype = np.uint8 if ks.max(initial=0) < 256 else np.uint16
            entry.update(encoding="grid", groups=groups, sparse=sparse, count=int(vals.size),
                         code_bytes=int(np.dtype(code_dtype).itemsize))
            put("codes", ks.astype(code_dtype).tobytes(), "codes")
            put("tables", scales.tobytes() + kmins.tobytes(), "table")
        else:
            tables = uniques
            levels = max(t.size for t in tables)
            table = np.zeros((groups, levels), dtype=np.float32)
            codes = np.zeros(vals.size, dtype=np.uint8)
            for g, t in enumerate(tables):
                table[g, : t.size] = t
                codes[members[g]] = np.searchsorted(t, per_group[g])
            entry.update(encoding="codebook", groups=groups, sparse=sparse, count=int(vals.size),
                         levels=int(levels), code_bytes=1)
            put("codes", codes.tobytes(), "codes")
            put("tables", table.tobytes(), "table")
        if sparse:
            put("gaps", encode_gaps(pos), "gaps")
        return
    half = vals.astype(np.float16)
    data = half if np.array_equal(half.astype(np.float32), vals) else vals
    entry.update(encoding="raw", dtype=str(data.dtype), sparse=sparse, count=int(vals.size))
    put("raw", np.ascontiguousarray(data).tobytes(), "data")
    if sparse:
        put("gaps", encode_gaps(pos), "gaps")


def layer_kinds(model: Any) -> list[tuple[str, str, bool]]:
    """(layer name, kind, is compressible kernel) for every weight in get_weights() order."""
    from workbench._tf import keras
    from workbench.compress.layers import is_compressible

    out = []
    for layer in model.layers:
        for w in layer.weights:
            depthwise = isinstance(layer, keras.layers.DepthwiseConv2D
                                   | keras.layers.DepthwiseConv1D)
            kernel = is_compressible(layer) and w.name == "kernel"
            out.append((layer.name, "depthwise" if depthwise else "kernel", kernel))
    return out


def encode(model: Any, codec: str = "lzma", *,
           codes: bool = True) -> tuple[bytes, list[dict[str, Any]]]:
    """Return the ``.wbz`` bytes of a (stripped) model and its tensor entries.

    ``codes=False`` stores every value as a float (sparse positions still used): the "pruning
    only" stage of Deep Compression's accounting.
    """
    from workbench.compress.layers import is_twin
    from workbench.compress.wrap import strip

    if codec not in CODECS:
        raise ConfigError("codec", codec, "one of: " + ", ".join(CODECS))
    if any(is_twin(layer) for layer in model.layers):
        model = strip(model)
    return encode_arrays(model.get_weights(), layer_kinds(model), model_json(model), codec,
                         codes=codes)


def model_json(model: Any) -> str:
    """The architecture as stored in a ``.wbz``: ``model.to_json()`` without the training
    set-up (``compile_config``: optimizer, loss), which inference does not need."""
    spec = json.loads(model.to_json())
    spec.pop("compile_config", None)
    return json.dumps(spec, separators=(",", ":"))


def encode_arrays(weights: list[np.ndarray], kinds: list[tuple[str, str, bool]],
                  model_json: str, codec: str = "lzma", *,
                  codes: bool = True) -> tuple[bytes, list[dict[str, Any]]]:
    """The ``.wbz`` bytes of a model given as its weights (``get_weights()`` order), their
    :func:`layer_kinds` and its :func:`model_json`: what :func:`encode` writes, without a model
    (the what-if engine encodes arrays it computed)."""
    if codec not in CODECS:
        raise ConfigError("codec", codec, "one of: " + ", ".join(CODECS))
    if len(kinds) != len(weights):
        raise ArtifactError("cannot pack: the model's weights do not map to its layers")
    streams: dict[str, list[bytes]] = {k: [] for k in STREAM_ORDER}
    entries = []
    for w, (layer_name, kind, is_kernel) in zip(weights, kinds, strict=True):
        w = np.asarray(w)
        entry: dict[str, Any] = {"layer": layer_name, "shape": list(w.shape)}
        if w.dtype != np.float32:
            entry.update(encoding="raw", dtype=str(w.dtype))
            entry["data"] = ["raw", sum(len(x) for x in streams["raw"]), w.nbytes]
            streams["raw"].append(np.ascontiguousarray(w).tobytes())
        else:
            _encode_tensor(w, _groups_of(kind, w.shape, is_kernel), streams, entry, codes)
        entries.append(entry)
    base, blob = {}, io.BytesIO()
    for kind in STREAM_ORDER:
        base[kind] = blob.tell()
        for part in streams[kind]:
            blob.write(part)
    for e in entries:
        for key in ("codes", "table", "gaps", "data"):
            if key in e:
                kind, off, n = e[key]
                e[key] = [base[kind] + off, n]
    from workbench._tf import keras

    header = json.dumps({"format": "wbz", "version": FORMAT_VERSION,
                         "keras_version": keras.__version__, "model": model_json,
                         "tensors": entries}, separators=(",", ":")).encode()
    body = struct.pack("<I", len(header)) + header + blob.getvalue()
    packed = compress_body(body, codec)
    return PREAMBLE.pack(MAGIC, FORMAT_VERSION, CODECS[codec], zlib.crc32(packed),
                          len(packed)) + packed, entries


def stage_sizes(model: Any) -> dict[str, int]:
    """Bytes of a compressed model after each Deep Compression stage (Han et al., Table 1).

    ``float32``: every parameter as float32; ``pruned``: sparse positions + float values;
    ``+quantized``: sparse positions + integer codes + grids/codebooks; ``+entropy``: the same,
    lzma-coded (the ``.wbz`` file). No stage is entropy-coded except the last.

    Example:
        >>> import keras, workbench.compress as C
        >>> m = C.quantize(C.prune(keras.Sequential([keras.Input((64,)),
        ...                                          keras.layers.Dense(64)]), 0.9), 4)
        >>> s = C.stage_sizes(m)
        >>> s["float32"] > s["pruned"] > s["+quantized"] > s["+entropy"]
        True
    """
    dense = sum(int(np.asarray(w).size) for w in model.get_weights()) * 4
    return {"float32": dense, "pruned": len(encode(model, "none", codes=False)[0]),
            "+quantized": len(encode(model, "none")[0]), "+entropy": len(encode(model)[0])}


def pack(model: Any, path: str | Path | None = None, *, codec: str = "lzma") -> int:
    """Write ``model`` as a ``.wbz`` artifact (atomically) and return its size in bytes.

    With ``path=None`` nothing is written and only the size is returned.

    Example:
        >>> import keras, os, tempfile, numpy as np, workbench.compress as C
        >>> m = C.quantize(keras.Sequential([keras.Input((8,)), keras.layers.Dense(64)]), 4)
        >>> p = os.path.join(tempfile.mkdtemp(), "m.wbz")
        >>> C.pack(m, p) < 64 * 9 * 4
        True
        >>> x = np.ones((2, 8), "float32")
        >>> bool((C.unpack(p).predict_on_batch(x) == m.predict_on_batch(x)).all())
        True
    """
    data, _ = encode(model, codec)
    if path is not None:
        atomic_write_bytes(Path(path), data)
    return len(data)


def unpack(path: str | Path) -> Any:
    """Load a ``.wbz`` artifact back into a ``keras.Model`` (bit-identical weights).

    Raises ArtifactError for a missing, truncated, corrupted or unknown-version file.
    """
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"{str(path)!r} does not exist", str(path))
    header, weights = decode_weights(p.read_bytes(), str(path))
    from workbench._tf import keras

    try:
        model = keras.models.model_from_json(header["model"])
        model.set_weights(weights)
    except Exception as e:
        raise ArtifactError(f"{str(path)!r}: the model in the artifact cannot be rebuilt: "
                            f"{type(e).__name__}: {e}", str(path)) from None
    return model
