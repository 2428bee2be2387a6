"""The ``.wbz`` format: sparse positions, quantized codes and codebooks, entropy-coded.

This module holds the format and its untrusted-input decoder, and imports neither
TensorFlow nor the compression package (the fuzzer loads it alone);
:mod:`workbench.compress.pack` writes the files and rebuilds Keras models from them.

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

import json
import lzma
import struct
import zlib
from typing import Any

import numpy as np

from workbench.exceptions import ArtifactError

MAGIC = b"WBZ"

FORMAT_VERSION = 1

CODECS = {"zlib": 1, "lzma": 2, "none": 3}

PREAMBLE = struct.Struct("<3sBBIQ")

STREAM_ORDER = ("gaps", "codes", "tables", "raw")


def compress_body(data: bytes, codec: str) -> bytes:
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


def decompress_body(data: bytes, codec_id: int) -> bytes:
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
        >>> from workbench.wbz import encode_gaps, decode_gaps
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


def _read_preamble(data: bytes, where: str) -> tuple[int, bytes]:
    if len(data) < PREAMBLE.size or data[:3] != MAGIC:
        raise ArtifactError(f"{where} is not a .wbz artifact (bad magic or too short)", where)
    _, version, codec_id, crc, length = PREAMBLE.unpack_from(data)
    if version != FORMAT_VERSION:
        raise ArtifactError(f"{where} has .wbz format version {version}; this workbench reads "
                            f"version {FORMAT_VERSION} only", where)
    body = data[PREAMBLE.size:]
    if len(body) != length:
        raise ArtifactError(f"{where} is truncated or has trailing bytes: body is {len(body)} "
                            f"bytes, the preamble says {length}", where)
    if zlib.crc32(body) != crc:
        raise ArtifactError(f"{where} is corrupted: CRC-32 mismatch", where)
    return codec_id, body


MAX_HEADER_BYTES = 64 << 20

MAX_ELEMENTS = 1 << 28

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
