"""workbench on Keras 3 against tfmot on tf_keras, with tfmot's own MNIST-tutorial recipes.

The model of tfmot's pruning and clustering tutorials (conv 12 3x3, pool, dense 10), full
Fashion-MNIST (MNIST is not available offline), the same epochs (4 of training, then 2 of
fine-tuning) in both:

- **prune + PTQ**: tfmot prunes 50% -> 80% (PolynomialDecay) while fine-tuning, strips, and
  converts to TFLite with dynamic-range int8; workbench prunes to 80% (polynomial) over the
  same epochs, quantizes to 8 bits and packs a ``.wbz``.
- **cluster + PTQ**: tfmot clusters into 16 centroids (linear init) and fine-tunes, then
  TFLite int8; workbench clusters with k=16 after the same training and packs.

Bytes are gzip'd bytes of the tfmot TFLite file (the tutorials' own measure) against the
``.wbz`` file (already lzma-coded), plus gzip'd bytes of workbench's own dynamic-range TFLite
export for an apples-to-apples view. Accuracy is each artifact's, on the 10k test images.
Target: workbench's artifact no bigger at no lower accuracy.

tfmot runs in a separate process and needs a benchmark-only extra in the venv
(``make bench-extra``, i.e. ``pip install --no-deps tf-keras==2.21.0`` then
``pip install tensorflow-model-optimization==0.8.1``).

    .venv/bin/python benchmarks/vs_tfmot.py [--base-epochs 4] [--tune-epochs 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, print_table

HERE = Path(__file__).resolve().parent


def tutorial_model(input_shape, num_classes):
    from workbench._tf import keras

    inp = keras.Input(input_shape)
    x = keras.layers.Conv2D(12, 3, activation="relu", name="conv")(inp)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inp, keras.layers.Dense(num_classes, name="logits")(x))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-epochs", type=int, default=4)
    ap.add_argument("--tune-epochs", type=int, default=2)
    args = ap.parse_args()

    import workbench as wb

    ds = wb.load_dataset("fashion_mnist")
    tmp = Path(tempfile.mkdtemp(prefix="vs-tfmot-"))
    np.savez(tmp / "data.npz", x_train=ds.x_train[..., 0], y_train=ds.y_train,
             x_test=ds.x_test[..., 0], y_test=ds.y_test)
    proc = subprocess.run([sys.executable, str(HERE / "_tfmot_arm.py"), str(tmp / "data.npz"),
                           str(args.base_epochs), str(args.tune_epochs)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the tfmot arm failed (is the benchmark extra installed? `make bench-extra`)"
                 f":\n{proc.stderr[-3000:]}")
    tfmot = json.loads(proc.stdout.strip().splitlines()[-1])

    epochs = args.base_epochs + args.tune_epochs
    base = wb.ExperimentConfig(dataset="fashion_mnist", optimizer="adam", epochs=epochs,
                               validation_split=0.1, export=["packed", "tflite_dynamic"])
    recipes = {
        "prune_ptq": base.replace(prune_ratio=0.8, prune_begin=args.base_epochs / epochs,
                                  prune_end=1.0, quant_bits=8),
        "cluster_ptq": base.replace(cluster_k=16)}
    store = wb.RunStore(tmp / "runs")
    rows, out = [], {}
    for name, cfg in recipes.items():
        r = wb.run(cfg, model=tutorial_model, store=store, verbose=False)
        m = r.metrics
        tfl = (r.run_dir / "model_tflite_dynamic.tflite").read_bytes()
        ours = {"wbz_bytes": m["size_bytes_packed"], "accuracy": m["packed_accuracy"],
                "tflite_gzip_bytes": len(gzip.compress(tfl)),
                "tflite_accuracy": m["tflite_dynamic_accuracy"]}
        theirs = tfmot[name]
        out[name] = {"workbench": ours, "tfmot": theirs,
                     "bytes_ratio": theirs["gzip_bytes"] / ours["wbz_bytes"],
                     "accuracy_diff_pt": 100 * (ours["accuracy"] - theirs["accuracy"]),
                     "target_met": ours["wbz_bytes"] <= theirs["gzip_bytes"]
                     and ours["accuracy"] >= theirs["accuracy"]}
        rows.append({"recipe": name, "tfmot gzip B": theirs["gzip_bytes"],
                     "tfmot acc": theirs["accuracy"], "wb .wbz B": ours["wbz_bytes"],
                     "wb acc": ours["accuracy"], "wb tflite gzip B": ours["tflite_gzip_bytes"],
                     "wb tflite acc": ours["tflite_accuracy"],
                     "tfmot/wb bytes": out[name]["bytes_ratio"]})
    print_table(f"tfmot tutorial recipes vs workbench, Fashion-MNIST, {epochs} epochs", rows)
    finish(out)


if __name__ == "__main__":
    main()
