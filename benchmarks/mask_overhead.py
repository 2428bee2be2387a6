"""Cost of pruning masks (and of fake quantization) per training epoch, side by side.

Fashion-MNIST (full 60k), LeNet-300-100, adam, batch 128. Three models train in one process,
one epoch each in turn (the order rotating every round), so adjacent epochs of the arms see
the same moment of this shared machine, whose epoch times drift by up to 2x between runs:

- ``dense``: the plain Keras model;
- ``pruned_0.9``: the same model wrapped for pruning (``workbench.compress.wrap``) with 90%
  masks applied: the cost of enforcing masks, a kernel constraint the optimizer applies inside
  the compiled train step (what ``wb.run`` does between mask updates);
- ``qat_4bit``: wrapped for 4-bit quantization-aware training (fake quantization), for
  information.

Every arm trains as ``wb.run`` does (``fit_arrays``), with the execution settings ``wb.run``
resolves for it (``auto``: XLA, 16 steps per call). The ratio is the median over rounds of (arm
epoch / dense epoch in the same round); 30 rounds, because with 11 the same code measured
anywhere from 1.033 to 1.063 here. The gradual schedule's mask updates are timed separately:
~50 updates per run (PruningScheduler), reported as a share of a whole 30-epoch run, and added
to the fixed-mask ratio for the whole run's estimate (``run_ratio_estimate``). Target: pruned /
dense <= 1.05.

    .venv/bin/python benchmarks/mask_overhead.py [--epochs 31]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import epoch_timer, finish, median, print_table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=31, help="epochs per arm (the first is "
                    "tracing and not counted)")
    ap.add_argument("--model", default="lenet300_100")
    args = ap.parse_args()

    import workbench as wb
    import workbench.compress as C
    from workbench._tf import keras
    from workbench.architectures import build_model
    from workbench.compress.pruning import apply_masks
    from workbench.training.execution import apply, resolve
    from workbench.training.experiment import seed_everything, split_data
    from workbench.training.loop import fit_arrays
    from workbench.training.schedules import steps_per_epoch

    cfg = wb.ExperimentConfig(dataset="fashion_mnist", model=args.model, batch_size=128)
    split = split_data(cfg, wb.load_dataset("fashion_mnist"))
    seed_everything(0)
    dense = build_model(args.model, split.dataset.input_shape, split.dataset.num_classes,
                        **cfg.model_options)
    pruned = C.wrap(dense, prune="unstructured")
    apply_masks(pruned, 0.9)
    arms = {"dense": dense, "pruned_0.9": pruned, "qat_4bit": C.wrap(dense, bits=4)}
    for m in arms.values():
        m.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False)
        # wb.run's defaults for each arm (XLA: none of them has a convolution; 16 steps/call)
        apply(m, resolve(cfg, m, batch_size=128, steps_per_epoch=steps_per_epoch(
            cfg, len(split.x_train))))
    names = list(arms)
    times: dict[str, list[float]] = {k: [] for k in names}
    for epoch in range(args.epochs):
        k = epoch % len(names)
        for name in names[k:] + names[:k]:  # rotate who goes first
            timer = epoch_timer()
            fit_arrays(arms[name], split.x_train, split.y_train, batch_size=128, epochs=1,
                       seed=epoch, callbacks=[timer])
            times[name].append(timer.times[-1])
    ratio = {n: median([a / b for a, b in zip(times[n][1:], times["dense"][1:], strict=True)])
             for n in names}
    sparsity = float(C.size_report(pruned).loc["total", "sparsity"])
    t0 = time.perf_counter()
    for s in (0.3, 0.5, 0.7, 0.9, 0.9):
        apply_masks(pruned, s)
    update_s = (time.perf_counter() - t0) / 5
    run_s = 30 * median(times["dense"][1:])  # a 30-epoch run, as in deep_compression
    ramp_share = 50 * update_s / run_s
    rows = [{"arm": n, "median epoch s": median(times[n][1:]), "paired ratio vs dense":
             ratio[n]} for n in names]
    print_table(f"{args.model} on Fashion-MNIST, batch 128, {args.epochs - 1} rounds of one "
                f"epoch per arm (sparsity of the pruned arm {sparsity:.3f})", rows)
    print(f"mask update: {update_s * 1e3:.1f} ms; 50 updates = {ramp_share:.2%} of a 30-epoch "
          f"run; whole run with 90% pruning vs dense: {ratio['pruned_0.9'] + ramp_share:.3f}")
    finish({"mask_ratio_fixed_masks": round(ratio["pruned_0.9"], 4),
            "qat_ratio": round(ratio["qat_4bit"], 4), "mask_update_ms": round(update_s * 1e3, 2),
            "ramp_share_of_30_epoch_run": round(ramp_share, 4),
            "run_ratio_estimate": round(ratio["pruned_0.9"] + ramp_share, 4),
            "dense_epoch_s": round(median(times["dense"][1:]), 3)})


if __name__ == "__main__":
    main()
