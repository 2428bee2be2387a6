"""Epoch time of wb.run against the same model compiled and fit with plain Keras.

Fashion-MNIST (full 60k; the validation split is the same 10% in both), LeNet-300-100,
adam, batch 128, 3 epochs, same seed, and the same execution settings (the plain arm gets
what ``wb.run`` resolves: XLA, 16 steps per call); runs alternate A B A B in one process so that
machine noise hits both alike. Epoch times come from the same tiny timing callback in both arms; the
first epoch (graph tracing) is reported but the ratio uses epochs 2..N.
Also measures `import workbench` in fresh processes (target <= 0.3 s).

    .venv/bin/python benchmarks/core_overhead.py [--repeats 2] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import epoch_timer, finish, median, print_table


def import_time(repeats: int = 7) -> float:
    code = "import time; t = time.perf_counter(); import workbench; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(repeats)]
    return median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dataset", default="fashion_mnist")
    args = ap.parse_args()

    imp = import_time()
    import workbench as wb
    from workbench._tf import keras
    from workbench.architectures import build_model
    from workbench.training.execution import apply, resolve
    from workbench.training.experiment import seed_everything, split_data
    from workbench.training.schedules import steps_per_epoch

    cfg = wb.ExperimentConfig(dataset=args.dataset, model="lenet300_100", optimizer="adam",
                              batch_size=128, epochs=args.epochs, seed=0)
    split = split_data(cfg, wb.load_dataset(cfg.dataset))

    def plain_keras() -> tuple[list[float], float]:
        seed_everything(cfg.seed)
        m = build_model(cfg.model, split.dataset.input_shape, split.dataset.num_classes,
                        **cfg.model_options)
        m.compile(keras.optimizers.Adam(cfg.lr),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False)
        # the execution settings wb.run resolves for this model (XLA, steps per call)
        apply(m, resolve(cfg, m, batch_size=128, steps_per_epoch=steps_per_epoch(
            cfg, len(split.x_train))))
        timer = epoch_timer()
        t0 = time.perf_counter()
        m.fit(split.x_train, split.y_train, batch_size=128, epochs=cfg.epochs,
              validation_data=(split.x_val, split.y_val), verbose=0, callbacks=[timer])
        m.evaluate(split.x_test, split.y_test, batch_size=256, verbose=0)
        return timer.times, time.perf_counter() - t0

    def workbench_run() -> tuple[list[float], float]:
        timer = epoch_timer()
        t0 = time.perf_counter()
        wb.run(cfg, store=os.environ.get("BENCH_RUNS", "/tmp/wb-bench-runs"),
               callbacks=[timer], verbose=False)
        return timer.times, time.perf_counter() - t0

    rows, arms = [], {"keras": [], "workbench": []}
    plain_keras()  # warm-up: first use of TF in the process pays one-off costs
    for rep in range(args.repeats):
        for name, fn in (("keras", plain_keras), ("workbench", workbench_run)):
            times, total = fn()
            arms[name].append((times, total))
            rows.append({"rep": rep, "arm": name, "epoch1_s": times[0],
                         "later_epochs_s": median(times[1:]), "total_s": total})
    print_table(f"core overhead: {args.dataset}, lenet300_100, batch 128, {args.epochs} epochs",
                rows)
    k_epoch = median([t for times, _ in arms["keras"] for t in times[1:]])
    w_epoch = median([t for times, _ in arms["workbench"] for t in times[1:]])
    k_total = median([tot for _, tot in arms["keras"]])
    w_total = median([tot for _, tot in arms["workbench"]])
    ratio = w_epoch / k_epoch
    print(f"\nepoch time ratio workbench/keras: {ratio:.3f} (target <= 1.05)")
    print(f"whole-run ratio (incl. model build, store writes, evaluation): {w_total / k_total:.3f}")
    print(f"import workbench: {imp:.3f} s (target <= 0.3 s)")
    finish({"epoch_time_ratio": round(ratio, 4), "whole_run_ratio": round(w_total / k_total, 4),
            "keras_epoch_s": round(k_epoch, 4), "workbench_epoch_s": round(w_epoch, 4),
            "import_time_s": round(imp, 4), "dataset": args.dataset})


if __name__ == "__main__":
    main()
