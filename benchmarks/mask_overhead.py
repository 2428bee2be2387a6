"""Cost of pruning masks (and of fake quantization) per training epoch, side by side.

Fashion-MNIST (full 60k), LeNet-300-100, adam, batch 128: ``wb.run`` with prune_ratio 0 against
prune_ratio 0.9 (masks enforced by a kernel constraint inside the compiled train step, plus the
schedule's mask updates), and 4-bit QAT for information. Arms alternate in one process so that
machine noise hits all alike; the first epoch (graph tracing) is left out of the ratio.
Target: pruned / dense epoch time <= 1.05.

    .venv/bin/python benchmarks/mask_overhead.py [--repeats 2] [--epochs 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, median, print_table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--model", default="lenet300_100")
    args = ap.parse_args()

    import workbench as wb

    base = wb.ExperimentConfig(dataset="fashion_mnist", model=args.model, optimizer="adam",
                               batch_size=128, epochs=args.epochs, export=[])
    arms = {"dense": base, "pruned_0.9": base.replace(prune_ratio=0.9),
            "qat_4bit": base.replace(quant_bits=4, quant_mode="qat")}
    times: dict[str, list[float]] = {k: [] for k in arms}
    for _ in range(args.repeats):
        for name, cfg in arms.items():
            r = wb.run(cfg, store=False, verbose=False)
            times[name].extend(r.history["epoch_time_s"].iloc[1:].tolist())
    med = {k: median(v) for k, v in times.items()}
    rows = [{"arm": k, "median epoch s": med[k], "ratio vs dense": med[k] / med["dense"],
             "epochs timed": len(times[k])} for k in arms]
    print_table(f"{args.model} on Fashion-MNIST, batch 128", rows)
    finish({"mask_ratio": med["pruned_0.9"] / med["dense"],
            "qat_ratio": med["qat_4bit"] / med["dense"],
            "dense_epoch_s": med["dense"]})


if __name__ == "__main__":
    main()
