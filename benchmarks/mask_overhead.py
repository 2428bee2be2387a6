"""Cost of pruning masks (and of fake quantization) per training epoch, side by side.

Fashion-MNIST (full 60k), LeNet-300-100, adam, batch 128: ``wb.run`` with prune_ratio 0 against
prune_ratio 0.9 (polynomial ramp over the first half of training, then fine-tuning with fixed
masks), and 4-bit QAT for information. Two ratios: over every epoch but the first (graph
tracing), which includes the ramp's mask updates (~15 ms each, about 50 of them); and over the
fixed-mask epochs only, the cost of enforcing the masks (a kernel constraint the optimizer
applies inside the compiled train step). Arms alternate in one process so that machine noise
hits all alike; on a shared machine identical epochs vary by up to 2x, so the fastest epoch of
each arm is printed too (the least noise-inflated estimate). Target: pruned / dense <= 1.05.

    .venv/bin/python benchmarks/mask_overhead.py [--repeats 2] [--epochs 6]
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
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--model", default="lenet300_100")
    args = ap.parse_args()

    import workbench as wb

    base = wb.ExperimentConfig(dataset="fashion_mnist", model=args.model, optimizer="adam",
                               batch_size=128, epochs=args.epochs, export=[])
    arms = {"dense": base, "pruned_0.9": base.replace(prune_ratio=0.9),
            "qat_4bit": base.replace(quant_bits=4, quant_mode="qat")}
    fixed_from = int(base.prune_end * args.epochs) + 1  # first epoch after the ramp (1-based)
    times: dict[str, list[float]] = {k: [] for k in arms}
    fixed: dict[str, list[float]] = {k: [] for k in arms}
    for _ in range(args.repeats):
        for name, cfg in arms.items():
            t = wb.run(cfg, store=False, verbose=False).history["epoch_time_s"].tolist()
            times[name].extend(t[1:])
            fixed[name].extend(t[fixed_from - 1:])
    med = {k: median(v) for k, v in times.items()}
    medf = {k: median(v) for k, v in fixed.items()}
    rows = [{"arm": k, "median epoch s (2..N)": med[k], "ratio vs dense": med[k] / med["dense"],
             f"median epoch s ({fixed_from}..N)": medf[k],
             "ratio, fixed masks": medf[k] / medf["dense"]} for k in arms]
    print_table(f"{args.model} on Fashion-MNIST, batch 128, {args.epochs} epochs x "
                f"{args.repeats}", rows)
    best = {k: min(v) for k, v in fixed.items()}  # min: the least noise-inflated epoch
    print(f"fixed-mask epochs, fastest of each arm: dense {best['dense']:.3f} s, pruned "
          f"{best['pruned_0.9']:.3f} s, ratio {best['pruned_0.9'] / best['dense']:.3f}")
    finish({"mask_ratio": med["pruned_0.9"] / med["dense"],
            "mask_ratio_fixed_masks_min": best["pruned_0.9"] / best["dense"],
            "mask_ratio_fixed_masks": medf["pruned_0.9"] / medf["dense"],
            "qat_ratio": med["qat_4bit"] / med["dense"], "dense_epoch_s": med["dense"]})


if __name__ == "__main__":
    main()
