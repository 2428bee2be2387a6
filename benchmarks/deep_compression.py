"""Deep Compression (Han et al. 2016, Table 1) on Fashion-MNIST with workbench on Keras 3.

For each model, a dense control (the same architecture, optimizer, learning-rate schedule and
total number of epochs as the whole compression pipeline, so fine-tuning is not credited to
compression; mean of ``--seeds`` seeds) against one ``wb.run`` of the full pipeline: gradual
global magnitude pruning -> quantization-aware training -> the packed ``.wbz`` artifact, whose
accuracy is measured after unpacking it. Bytes are split per stage like Han's table:

- ``float32``: every parameter as float32;
- ``pruned``: sparse positions (gap bytes) + float32 nonzero values, no entropy coding;
- ``+quantized``: sparse positions + n-bit codes (one byte each) + grids, no entropy coding;
- ``+entropy``: the same streams lzma-coded: the ``.wbz`` file itself (header included).

Anchor: Deep Compression reached 40x (LeNet-300-100) and 39x (LeNet-5) on MNIST with no
accuracy loss. Target here: >= 40x at <= 0.5 point accuracy drop against the dense control.

    .venv/bin/python benchmarks/deep_compression.py [--models lenet300_100,lenet5] [--seeds 3]

The last line is JSON: {"lenet300_100": {"baseline_accuracy", "accuracy", "ratio", ...}, ...}.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, print_table

# The pipeline settings per model (what a user would put in an ExperimentConfig).
RECIPES = {
    "lenet300_100": dict(epochs=30, prune_ratio=0.92, quant_bits=4, quant_mode="qat",
                         quant_granularity="per_tensor"),
    "lenet5": dict(epochs=30, prune_ratio=0.925, quant_bits=5, quant_mode="qat",
                   quant_granularity="per_tensor"),
}
COMMON = dict(dataset="fashion_mnist", optimizer="adam", learning_rate=1e-3,
              lr_schedule="cosine", batch_size=128, validation_split=0.0, prune_scope="global",
              prune_schedule="polynomial", prune_begin=0.0, prune_end=0.6, export=["packed"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="lenet300_100,lenet5")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=None, help="override the recipes' epochs")
    ap.add_argument("--max-train-samples", type=int, default=None, help="for a quick try")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a recipe field, e.g. --set prune_ratio=0.9")
    args = ap.parse_args()

    import workbench as wb

    out, rows, stages = {}, [], []
    store = wb.RunStore(tempfile.mkdtemp(prefix="deep-compression-"))
    for name in args.models.split(","):
        recipe = dict(RECIPES[name])
        for item in args.set:
            key, value = item.split("=", 1)
            recipe[key] = wb.config.FIELDS[key].check(wb.config.FIELDS[key].parse(value))
        if args.epochs:
            recipe["epochs"] = args.epochs
        base = wb.ExperimentConfig(**COMMON, model=name, epochs=recipe["epochs"],
                                   max_train_samples=args.max_train_samples)
        t0 = time.perf_counter()
        base_accs = [wb.run(base.replace(seed=s), store=False, verbose=False)
                     .metrics["test_accuracy"] for s in range(args.seeds)]
        t_base = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = wb.run(base.replace(**recipe), store=store, verbose=False)
        t_pipe = time.perf_counter() - t0
        m = r.metrics
        st = wb.compress.stage_sizes(r.model)
        assert st["+entropy"] == m["size_bytes_packed"]
        baseline = statistics.mean(base_accs)
        out[name] = {"baseline_accuracy": baseline, "baseline_accuracies": base_accs,
                     "accuracy": m["packed_accuracy"], "drop_pt": 100 * (baseline -
                                                                        m["packed_accuracy"]),
                     "ratio": m["compression_ratio"], "bytes_float32": m["size_bytes_float32"],
                     "bytes_packed": m["size_bytes_packed"], "sparsity": m["sparsity"],
                     "bits": m["bits"], "epochs": recipe["epochs"],
                     "target_met": m["compression_ratio"] >= 40 and
                     100 * (baseline - m["packed_accuracy"]) <= 0.5}
        rows.append({"model": name, "baseline acc": baseline, "packed acc": m["packed_accuracy"],
                     "drop pt": out[name]["drop_pt"], "ratio": m["compression_ratio"],
                     "sparsity": m["sparsity"], "bits": m["bits"],
                     "baseline s": t_base, "pipeline s": t_pipe})
        for stage, n in st.items():
            stages.append({"model": name, "stage": stage, "bytes": n,
                           "ratio": st["float32"] / n})
        print_table(f"{name}: per layer", [
            {"layer": i, **row} for i, row in
            wb.compress.size_report(r.model).reset_index().to_dict("index").items()])
    print_table("Deep Compression on Fashion-MNIST (accuracy of the unpacked .wbz)", rows)
    print_table("Bytes per stage (Han et al. Table 1 style)", stages)
    finish(out)


if __name__ == "__main__":
    main()
