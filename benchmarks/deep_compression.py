"""Deep Compression (Han et al. 2016, Table 1) on Fashion-MNIST with workbench on Keras 3.

For each model, both arms as the mean of ``--seeds`` seeds: a dense control (the same
architecture, optimizer, learning-rate schedule and total number of epochs as the compression
pipeline, so fine-tuning is not credited to compression) and the full pipeline (gradual global
magnitude pruning -> quantization-aware training -> the packed ``.wbz`` artifact, whose
accuracy is measured after unpacking it). The recipe is ``workbench.compress.recipes.
deep_compression_configs``, which ``notebooks/21_deep_compression.ipynb`` runs too. Bytes are
split per stage like Han's table:

- ``float32``: every parameter as float32;
- ``pruned``: sparse positions (gap bytes) + float32 nonzero values, no entropy coding;
- ``+quantized``: sparse positions + n-bit codes (one byte each) + grids, no entropy coding;
- ``+entropy``: the same streams lzma-coded: the ``.wbz`` file itself (header included).

Anchor: Deep Compression reached 40x (LeNet-300-100) and 39x (LeNet-5) on MNIST with no
accuracy loss. Target here: >= 40x at <= 0.5 point accuracy drop against the dense control,
both means of 3 seeds.

    .venv/bin/python benchmarks/deep_compression.py [--models lenet300_100,lenet5] [--seeds 3]

The last line is JSON: {"lenet300_100": {"dense_accuracy", "accuracy", "ratio", ...}, ...}.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="lenet300_100,lenet5")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    ap.add_argument("--max-train-samples", type=int, default=None, help="for a quick try")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a recipe field, e.g. --set prune_ratio=0.9")
    args = ap.parse_args()

    import workbench as wb
    from workbench.compress.recipes import deep_compression_configs

    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = wb.config.FIELDS[key].check(wb.config.FIELDS[key].parse(value))
    if args.epochs:
        overrides["epochs"] = args.epochs
    if args.max_train_samples:
        overrides["max_train_samples"] = args.max_train_samples
    out, rows, stages = {}, [], []
    store = wb.RunStore(tempfile.mkdtemp(prefix="deep-compression-"))
    for name in args.models.split(","):
        dense_accs, accs, ratios, t_dense, t_pipe = [], [], [], 0.0, 0.0
        for seed in range(args.seeds):
            dense, packed = deep_compression_configs(name, seed, **overrides)
            t0 = time.perf_counter()
            dense_accs.append(wb.run(dense.replace(export=[]), store=False, verbose=False)
                              .metrics["test_accuracy"])
            t_dense += time.perf_counter() - t0
            t0 = time.perf_counter()
            r = wb.run(packed, store=store, verbose=False)
            t_pipe += time.perf_counter() - t0
            m = r.metrics
            st = wb.compress.stage_sizes(r.model)
            assert st["+entropy"] == m["size_bytes_packed"]
            accs.append(m["packed_accuracy"])
            ratios.append(m["compression_ratio"])
        dense_acc, acc, ratio = (statistics.mean(v) for v in (dense_accs, accs, ratios))
        drop = 100 * (dense_acc - acc)
        out[name] = {"dense_accuracy": dense_acc, "dense_accuracies": dense_accs,
                     "accuracy": acc, "accuracies": accs, "drop_pt": drop, "ratio": ratio,
                     "ratios": ratios, "bytes_float32": m["size_bytes_float32"],
                     "bytes_packed_last_seed": m["size_bytes_packed"],
                     "sparsity": m["sparsity"], "bits": m["bits"], "epochs": packed.epochs,
                     "seeds": args.seeds, "target_met": ratio >= 40 and drop <= 0.5}
        rows.append({"model": name, "dense acc": dense_acc, "packed acc": acc, "drop pt": drop,
                     "ratio": ratio, "sparsity": m["sparsity"], "bits": m["bits"],
                     "dense s": t_dense, "pipeline s": t_pipe})
        for stage, n in st.items():
            stages.append({"model": name, "stage": stage, "bytes": n,
                           "ratio": st["float32"] / n})
        print_table(f"{name}: per layer (last seed)", [
            {"layer": i, **row} for i, row in
            wb.compress.size_report(r.model).reset_index().to_dict("index").items()])
    print_table(f"Deep Compression on Fashion-MNIST (mean of {args.seeds} seeds; accuracy of "
                "the unpacked .wbz)", rows)
    print_table("Bytes per stage, last seed (Han et al. Table 1 style)", stages)
    finish(out)


if __name__ == "__main__":
    main()
