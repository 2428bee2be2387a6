"""Coverage-guided fuzzing of the .wbz decoder (atheris / libFuzzer).

Any exception other than ``ArtifactError`` is a finding; so is memory past libFuzzer's
``-rss_limit_mb``. The decoder module is loaded on its own, without TensorFlow, so the
fuzzer runs thousands of inputs a second.

    .venv/bin/python tests/fuzz/fuzz_wbz.py -max_total_time=600 -rss_limit_mb=1024 \\
        /tmp/corpus tests/fuzz/corpus

The first folder receives new inputs; ``tests/fuzz/corpus`` holds the seeds: real artifacts
of every encoding, made by ``tests/fuzz/make_corpus.py``. ``WBZ_FUZZ_RSS_MB=1024`` with
``-rss_limit_mb=0`` checks the current resident size instead of the inherited peak, as the
test does.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import zlib
from pathlib import Path

import atheris

from workbench.exceptions import ArtifactError  # light: no TensorFlow

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("wbz", ROOT / "workbench" / "wbz.py")
pack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack)


def _repaired(data: bytes) -> bytes:
    """The same body behind a valid preamble (CRC and length fixed, codec kept), so that
    mutations reach the header and tensor decoding instead of dying at the CRC check."""
    body = data[pack.PREAMBLE.size:]
    codec = data[4] % 3 + 1
    return pack.PREAMBLE.pack(pack.MAGIC, pack.FORMAT_VERSION, codec, zlib.crc32(body),
                               len(body)) + body


_RSS_LIMIT_MB = int(os.environ.get("WBZ_FUZZ_RSS_MB", "0"))  # 0: libFuzzer's own check
_PAGE = os.sysconf("SC_PAGE_SIZE")
_calls = 0


def _check_memory() -> None:
    """The current resident size (libFuzzer's -rss_limit_mb reads the peak, which Linux
    carries over from the parent process across fork and exec: a fuzzer started by a large
    pytest process would 'start' above any limit)."""
    with open("/proc/self/statm") as f:
        rss_mb = int(f.read().split()[1]) * _PAGE / 2**20
    if rss_mb > _RSS_LIMIT_MB:
        print(f"==wbz-fuzz== resident memory {rss_mb:.0f} MB is over {_RSS_LIMIT_MB} MB",
              flush=True)
        os._exit(3)


def test_one_input(data: bytes) -> None:
    global _calls
    _calls += 1
    if _RSS_LIMIT_MB and _calls % 256 == 0:
        _check_memory()
    for candidate in (data, _repaired(data)) if len(data) > pack.PREAMBLE.size else (data,):
        try:
            pack.decode_weights(candidate, "fuzz.wbz", max_elements=1 << 22)
        except ArtifactError:
            pass


if __name__ == "__main__":
    atheris.instrument_all()  # after loading: the decoder and what it calls
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
