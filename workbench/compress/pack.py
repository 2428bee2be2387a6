"""The packed artifact (``.wbz``): sparse positions, quantized codes and codebooks, entropy-coded.

Format, version 1 (all integers little-endian)::

    offset  size  field
    0       3     magic b"WBZ"
    3       1     format version (1)
    4       1     codec: 1 = zlib, 2 = lzma (xz container), 3 = none
    5       4     CRC-32 of the compressed body
    9       8     length of the compressed body in bytes
    17      ...   compressed body

The body, once decompressed, is a 4-byte header length, a UTF-8 JSON header and a blob. The
header holds ``model`` (``model.to_json()``, stock Keras layers only) and ``tensors``: one entry
per weight in ``model.get_weights()`` order, with its shape and encoding:

- ``raw``: the values as ``dtype`` (float32, or float16 when every value is a float16);
  with ``sparse: true`` only the ``count`` nonzero values, positions as below;
- ``grid``: values ``k * scale[g]`` with integer ``k`` (affine quantization): per group ``g``
  (``groups`` trailing channels, ``g = flat_index % groups``) a float32 ``scale`` and an int32
  ``kmin``; ``codes`` hold ``k - kmin`` (uint8, or uint16 when ``code_bytes`` is 2);
- ``codebook``: per group a float32 table (``levels`` entries); ``codes`` index into it.

Tensors with ``sparse: true`` (at least half zeros) store codes only for nonzero values and
their positions as gaps: each gap (zeros skipped before the next nonzero) is written as bytes,
255 meaning "255 more zeros, keep reading". Streams of one kind are stored together (all gaps,
then all codes, then all tables and raw values) because the entropy coder does better on
homogeneous data. Unpacking gives back bit-identical weights, hence identical predictions.

Decoding treats a file as untrusted: the body is decompressed incrementally (the header first,
then exactly the stream bytes the header declares) and refused with an ArtifactError when it
holds more (a decompression bomb), when the header is over ``MAX_HEADER_BYTES`` (64 MiB), when
the tensors declare more than ``MAX_ELEMENTS`` weights (2**28) or streams larger than those
weights can need, or when the lzma decoder would need more than 80 MiB. Memory use is then
bounded by the declared model size.
"""

from __future__ import annotations

import io
import json
import lzma
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from workbench.exceptions import ArtifactError, ConfigError

MAGIC = b"WBZ"
FORMAT_VERSION = 1
CODECS = {"zlib": 1, "lzma": 2, "none": 3}
_PREAMBLE = struct.Struct("<3sBBIQ")
_STREAM_ORDER = ("gaps", "codes", "tables", "raw")


def _compress(data: bytes, codec: str) -> bytes:
    if codec == "lzma":
        # preset 9's 64 MiB dictionary costs ~40 ms to set up on every call; a dictionary
        # as large as the data compresses to the same size (no match can reach further)
        dict_size = min(max(1 << 16, 1 << max(len(data) - 1, 1).bit_length()), 64 << 20)
        return lzma.compress(data, format=lzma.FORMAT_XZ, filters=[{
            "id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME,
            "dict_size": dict_size}])
    if codec == "zlib":
        return zlib.compress(data, 9)
    return data


def _decompress(data: bytes, codec_id: int) -> bytes:
    if codec_id == CODECS["lzma"]:
        return lzma.decompress(data)
    if codec_id == CODECS["zlib"]:
        return zlib.decompress(data)
    if codec_id == CODECS["none"]:
        return data
    raise ArtifactError(f"unknown codec id {codec_id} in the .wbz preamble")


def encode_gaps(positions: np.ndarray) -> bytes:
    """Gap-code sorted flat positions of nonzeros (see the module docstring).

    Example:
        >>> from workbench.compress.pack import encode_gaps, decode_gaps
        >>> import numpy as np
        >>> p = np.array([0, 3, 300, 301])
        >>> decode_gaps(encode_gaps(p), 4).tolist()
        [0, 3, 300, 301]
    """
    gaps = np.diff(np.concatenate([[-1], np.asarray(positions, dtype=np.int64)])) - 1
    full, rest = np.divmod(gaps, 255)
    out = np.empty(int(full.sum() + gaps.size), dtype=np.uint8)
    ends = np.cumsum(full + 1) - 1
    out[:] = 255
    out[ends] = rest
    return out.tobytes()


def decode_gaps(data: bytes, count: int) -> np.ndarray:
    """Inverse of :func:`encode_gaps`."""
    b = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    terminal = b != 255
    if int(terminal.sum()) != count:
        raise ArtifactError("corrupted .wbz: sparse positions do not match the code count")
    totals = np.cumsum(b)[np.flatnonzero(terminal)]  # bytes summed up to each terminal byte
    gaps = np.diff(np.concatenate([[0], totals]))
    return np.cumsum(gaps + 1) - 1


def _find_grid(vals: np.ndarray, u: np.ndarray | None = None
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
        grids = [_find_grid(v, u) for v, u in zip(per_group, uniques, strict=True)]
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
    from workbench.compress.core import strip
    from workbench.compress.layers import is_twin

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
    streams: dict[str, list[bytes]] = {k: [] for k in _STREAM_ORDER}
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
    for kind in _STREAM_ORDER:
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
    packed = _compress(body, codec)
    return _PREAMBLE.pack(MAGIC, FORMAT_VERSION, CODECS[codec], zlib.crc32(packed),
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
        from workbench.runs import atomic_write_bytes

        atomic_write_bytes(Path(path), data)
    return len(data)


def _read_preamble(data: bytes, where: str) -> tuple[int, bytes]:
    if len(data) < _PREAMBLE.size or data[:3] != MAGIC:
        raise ArtifactError(f"{where} is not a .wbz artifact (bad magic or too short)", where)
    _, version, codec_id, crc, length = _PREAMBLE.unpack_from(data)
    if version != FORMAT_VERSION:
        raise ArtifactError(f"{where} has .wbz format version {version}; this workbench reads "
                            f"version {FORMAT_VERSION} only", where)
    body = data[_PREAMBLE.size:]
    if len(body) != length:
        raise ArtifactError(f"{where} is truncated or has trailing bytes: body is {len(body)} "
                            f"bytes, the preamble says {length}", where)
    if zlib.crc32(body) != crc:
        raise ArtifactError(f"{where} is corrupted: CRC-32 mismatch", where)
    return codec_id, body


MAX_HEADER_BYTES = 64 << 20
"""The largest JSON header a ``.wbz`` may declare (a model's JSON is kilobytes)."""
MAX_ELEMENTS = 1 << 28
"""The most weights (all tensors together) a ``.wbz`` may declare: 268M, 1 GiB as float32."""


_LZMA_MEMLIMIT = 80 << 20


class _BoundedStream:
    """Decompress ``body`` incrementally, never more than asked for (a bomb stays packed)."""

    def __init__(self, body: bytes, codec_id: int) -> None:
        if codec_id == CODECS["lzma"]:  # our encoder's dictionary is at most 64 MiB
            self._d: Any = lzma.LZMADecompressor(memlimit=_LZMA_MEMLIMIT)
        elif codec_id == CODECS["zlib"]:
            self._d = zlib.decompressobj()
        elif codec_id == CODECS["none"]:
            self._d = None
        else:
            raise ArtifactError(f"unknown codec id {codec_id} in the .wbz preamble")
        self._pending = body  # compressed input not handed to the decompressor yet
        self._raw_at = 0

    def read(self, n: int) -> bytes:
        """Up to ``n`` decompressed bytes (fewer only at the end of the data)."""
        if self._d is None:
            out = self._pending[self._raw_at: self._raw_at + n]
            self._raw_at += len(out)
            return bytes(out)
        parts, got = [], 0
        while got < n:
            if isinstance(self._d, lzma.LZMADecompressor):
                if self._d.eof:
                    break
                chunk = self._d.decompress(self._pending, max_length=n - got)
                self._pending = b""
                if not chunk and self._d.needs_input:
                    break
            else:
                if self._d.eof and not self._d.unconsumed_tail:
                    break
                chunk = self._d.decompress(self._pending, n - got)
                self._pending = self._d.unconsumed_tail
                if not chunk and not self._pending:
                    break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)


def _declared_sizes(header: Any, max_elements: int) -> tuple[int, int]:
    """``(total elements, blob bytes)`` the header declares, every shape and stream checked."""
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), list):
        raise ArtifactError("corrupted .wbz: the header has no tensor list")
    total, blob_end = 0, 0
    for e in header["tensors"]:
        shape = e.get("shape") if isinstance(e, dict) else None
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ArtifactError("corrupted .wbz: a tensor shape is not a list of sizes >= 0")
        size = 1
        for d in shape:
            size *= d
        total += size
        if total > max_elements:
            raise ArtifactError(f".wbz declares more than {max_elements:,} weights (limit "
                                f"workbench.compress.pack.MAX_ELEMENTS); refused")
        for key in ("codes", "table", "gaps", "data"):
            if key in e:
                ref = e[key]
                if not (isinstance(ref, list) and len(ref) == 2 and all(
                        isinstance(v, int) and not isinstance(v, bool) and v >= 0
                        for v in ref)):
                    raise ArtifactError("corrupted .wbz: a stream reference is not two "
                                        "sizes >= 0")
                blob_end = max(blob_end, ref[0] + ref[1])
    # each value takes at most 8 bytes in any encoding, plus gap bytes and group tables
    if blob_end > 9 * total + (1 << 20):
        raise ArtifactError(f"corrupted .wbz: its streams ({blob_end:,} bytes) are larger "
                            f"than {total:,} weights can need")
    return total, blob_end


def decode_weights(data: bytes, where: str = "artifact", *,
                   max_elements: int = MAX_ELEMENTS) -> tuple[dict[str, Any],
                                                              list[np.ndarray]]:
    """Parse ``.wbz`` bytes into (header, weights) with every integrity check.

    The body is decompressed incrementally: the header first, then exactly the bytes its
    tensors declare. A body that holds more (a decompression bomb), a header over
    :data:`MAX_HEADER_BYTES` or more than ``max_elements`` weights is an ArtifactError
    before anything large is allocated.
    """
    codec_id, body = _read_preamble(data, where)
    try:
        stream = _BoundedStream(body, codec_id)
        head = stream.read(4)
        if len(head) < 4:
            raise ArtifactError("corrupted .wbz: the body ends before its header")
        (hlen,) = struct.unpack("<I", head)
        if hlen > MAX_HEADER_BYTES:
            raise ArtifactError(f".wbz header of {hlen:,} bytes is over the "
                                f"{MAX_HEADER_BYTES:,}-byte limit; refused")
        text = stream.read(hlen)
        if len(text) < hlen:
            raise ArtifactError("corrupted .wbz: the body ends inside its header")
        header = json.loads(text)
        _, blob_len = _declared_sizes(header, max_elements)
        blob = stream.read(blob_len)
        if len(blob) < blob_len:
            raise ArtifactError("corrupted .wbz: the body is shorter than its header declares")
        if stream.read(1):
            raise ArtifactError("corrupted .wbz: the body holds more data than its header "
                                "declares (refused unread: it may be a decompression bomb)")
        view = memoryview(blob)
        weights = [_decode_tensor(e, view) for e in header["tensors"]]
    except ArtifactError as e:
        if where in str(e):
            raise
        raise ArtifactError(f"{where}: {e}", where) from None
    except Exception as e:
        raise ArtifactError(f"{where} is corrupted: {type(e).__name__}: {e}", where) from None
    return header, weights


def _slice(blob: memoryview, ref: list[int]) -> bytes:
    off, n = ref
    if off + n > len(blob):
        raise ArtifactError("corrupted .wbz: a stream points past the end of the data")
    return bytes(blob[off: off + n])


def _decode_tensor(e: dict[str, Any], blob: memoryview) -> np.ndarray:
    shape = tuple(e["shape"])
    size = int(np.prod(shape)) if shape else 1
    if e["encoding"] == "raw":
        arr = np.frombuffer(_slice(blob, e["data"]), dtype=e["dtype"])
        arr = arr.astype(np.float32) if arr.dtype == np.float16 else arr.copy()
        if not e.get("sparse"):
            return arr.reshape(shape)
        out = np.zeros(size, dtype=arr.dtype)
        out[decode_gaps(_slice(blob, e["gaps"]), arr.size)] = arr
        return out.reshape(shape)
    groups, count = int(e["groups"]), int(e["count"])
    code_dtype = np.uint8 if e["code_bytes"] == 1 else np.uint16
    codes = np.frombuffer(_slice(blob, e["codes"]), dtype=code_dtype).astype(np.int64)
    if codes.size != count:
        raise ArtifactError("corrupted .wbz: code stream has the wrong length")
    pos = decode_gaps(_slice(blob, e["gaps"]), count) if e["sparse"] else np.arange(size)
    gid = pos % groups
    table = _slice(blob, e["table"])
    if e["encoding"] == "grid":
        scales = np.frombuffer(table[: 4 * groups], dtype=np.float32)
        kmins = np.frombuffer(table[4 * groups:], dtype=np.int32).astype(np.int64)
        vals = (codes + kmins[gid]).astype(np.float32) * scales[gid]
    else:
        tab = np.frombuffer(table, dtype=np.float32).reshape(groups, int(e["levels"]))
        vals = tab[gid, codes]
    out = np.zeros(size, dtype=np.float32)
    out[pos] = vals
    return out.reshape(shape)


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
