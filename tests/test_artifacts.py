"""Artifacts from strangers: the .wbz decoder refuses bombs and absurd headers at once."""

from __future__ import annotations

import json
import lzma
import struct
import sys
import time
import tracemalloc
import zlib

import pytest

import workbench as wb


def _pack_module():
    import workbench.compress  # noqa: F401  (the package binds `pack` to the function)

    return sys.modules["workbench.compress.pack"]


def _tiny_artifact() -> bytes:
    from workbench._tf import keras

    m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    return _pack_module().encode(m)[0]


def _with_body(body: bytes, codec: int = 2) -> bytes:
    pk = _pack_module()
    return pk._PREAMBLE.pack(pk.MAGIC, pk.FORMAT_VERSION, codec, zlib.crc32(body),
                             len(body)) + body


def _bomb(padding_mib: int) -> bytes:
    """A valid preamble and CRC whose lzma body is a real artifact followed by zeros."""
    raw = lzma.decompress(_tiny_artifact()[17:])
    c = lzma.LZMACompressor(preset=9)
    parts = [c.compress(raw)]
    zeros = bytes(16 << 20)
    parts += [c.compress(zeros) for _ in range(padding_mib // 16)]
    parts.append(c.flush())
    return _with_body(b"".join(parts))


def _refused_fast(data: bytes, match: str) -> float:
    pk = _pack_module()
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(wb.ArtifactError, match=match):
            pk.decode_weights(data, "bomb.wbz")
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < 1.0
    assert peak < 100 << 20, f"decoding took {peak / 2**20:.0f} MiB"
    return seconds


def test_a_small_bomb_is_refused_unread():
    _refused_fast(_bomb(16), "more data than its header declares")


@pytest.mark.slow
def test_the_157_kb_gibibyte_bomb_is_refused_in_under_a_second():
    bomb = _bomb(1024)
    assert len(bomb) < 200_000  # the 157 KB file expanding to 1 GiB
    _refused_fast(bomb, "decompression bomb")


def _with_header(mutate) -> bytes:
    raw = lzma.decompress(_tiny_artifact()[17:])
    (hlen,) = struct.unpack_from("<I", raw)
    header = json.loads(raw[4: 4 + hlen])
    mutate(header)
    text = json.dumps(header).encode()
    return _with_body(lzma.compress(struct.pack("<I", len(text)) + text + raw[4 + hlen:]))


def test_absurd_shapes_and_streams_are_refused_before_allocating():
    def huge(h):
        h["tensors"][0]["shape"] = [1 << 20, 1 << 12]

    _refused_fast(_with_header(huge), "MAX_ELEMENTS")

    def negative(h):
        h["tensors"][0]["shape"] = [-1, 4]

    _refused_fast(_with_header(negative), "shape")

    def far(h):
        h["tensors"][0]["data"] = [0, 1 << 40]

    _refused_fast(_with_header(far), "larger than")


def test_an_oversized_header_length_is_refused():
    raw = struct.pack("<I", 1 << 31) + b"{}"
    _refused_fast(_with_body(lzma.compress(raw)), "header")
    _refused_fast(_with_body(zlib.compress(struct.pack("<I", 1 << 31)), codec=1), "header")


def test_a_truncated_body_and_a_good_file_still_behave(tmp_path):
    pk = _pack_module()
    good = _tiny_artifact()
    _, weights = pk.decode_weights(good)
    assert [list(w.shape) for w in weights] == [[8, 4], [4]]
    raw = lzma.decompress(good[17:])
    with pytest.raises(wb.ArtifactError, match="shorter"):
        pk.decode_weights(_with_body(lzma.compress(raw[:-3])))
    for codec, compress in ((1, zlib.compress), (3, bytes)):
        assert len(pk.decode_weights(_with_body(compress(raw), codec))[1]) == 2
