"""Write the fuzzer's seeds: small real .wbz files of every encoding (raw, sparse, grid,
codebook, float16) with each codec. Run once; the files are committed.

    .venv/bin/python tests/fuzz/make_corpus.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def main() -> None:
    import workbench.compress as C
    from workbench._tf import keras
    from workbench.compress.pack import encode

    out = Path(__file__).resolve().parent / "corpus"
    out.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    dense = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(3, 3, name="c"),
                              keras.layers.DepthwiseConv2D(2, name="dw"),
                              keras.layers.BatchNormalization(name="bn"),
                              keras.layers.Flatten(), keras.layers.Dense(5, name="d")])
    models = {"raw": dense, "sparse": C.prune(dense, 0.7),
              "grid": C.quantize(C.prune(dense, 0.6), 4),
              "codebook": C.cluster(dense, 4), "float16": C.quantize(dense, 16),
              "grid_per_tensor": C.quantize(dense, 3, granularity="per_tensor")}
    for name, model in models.items():
        for codec in ("lzma", "zlib", "none"):
            data, _ = encode(model, codec)
            (out / f"{name}-{codec}.wbz").write_bytes(data)
    print(f"{len(list(out.iterdir()))} seeds in {out}, "
          f"{sum(p.stat().st_size for p in out.iterdir()):,} bytes; "
          f"float16 check: {np.unique(models['float16'].get_layer('d').kernel.numpy()).dtype}")


if __name__ == "__main__":
    main()
