"""Cost of live telemetry: MetricStream + LivePlot against a plain fit, and update cost.

(1) Epoch time of `fit` with MetricStream + LivePlot (a FigureWidget updated in-process)
    against plain `fit`, same seed and data, alternating A B A B:
    fashion_mnist mlp batch 128, and digits small_cnn batch 32. Target: ratio <= 1.03.
    Also the per-batch cost of the callback in microseconds (its hooks timed directly).
(2) Time of one live update (LivePlot.flush after a batch) at step 1,000 and at step 100,000:
    bounded traces make them about equal.

    .venv/bin/python benchmarks/live_overhead.py [--repeats 3] [--epochs 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import epoch_timer, finish, median, print_table


def update_cost(steps: int, reps: int = 30) -> float:
    import workbench as wb

    plot = wb.widgets.LivePlot(min_interval=1e9)  # flush by hand only
    plot.send({"type": "run_start", "run_id": "r", "params": 1000})
    for i in range(1, steps + 1):
        plot.send({"type": "batch", "run_id": "r", "step": i, "loss": 1.0 / i,
                   "accuracy": 0.5, "lr": 0.1})
        if i % 1000 == 0:
            plot.send({"type": "epoch", "run_id": "r", "step": i, "epoch": i // 1000,
                       "loss": 1.0 / i, "val_loss": 1.0 / i, "accuracy": 0.5,
                       "val_accuracy": 0.5, "lr": 0.1})
    plot.flush()
    times = []
    for k in range(reps):
        plot.send({"type": "batch", "run_id": "r", "step": steps + k + 1, "loss": 0.1,
                   "accuracy": 0.5, "lr": 0.1})
        t = time.perf_counter()
        plot.flush()
        times.append(time.perf_counter() - t)
    return median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()

    u1k, u100k = update_cost(1000), update_cost(100_000)
    print_table("one live update (LivePlot.flush)", [
        {"steps": 1000, "ms": u1k * 1e3}, {"steps": 100_000, "ms": u100k * 1e3}])

    import workbench as wb
    from workbench._tf import keras
    from workbench.architectures import build_model
    from workbench.training.experiment import seed_everything, split_data

    class TimedStream(wb.callbacks.MetricStream):
        """MetricStream whose per-batch hook time is accumulated."""

        def on_train_batch_end(self, batch, logs=None):
            t = time.perf_counter()
            super().on_train_batch_end(batch, logs)
            self.hook_s = getattr(self, "hook_s", 0.0) + time.perf_counter() - t
            self.hook_n = getattr(self, "hook_n", 0) + 1

    cases = [("fashion_mnist", "mlp", 128), ("digits", "small_cnn", 32)]
    rows, figures = [], {}
    for dataset, model, batch in cases:
        cfg = wb.ExperimentConfig(dataset=dataset, model=model, batch_size=batch,
                                  epochs=args.epochs, hidden_units=[256, 128])
        split = split_data(cfg, wb.load_dataset(dataset))

        def fit(live: bool, model=model, split=split, cfg=cfg, batch=batch):
            seed_everything(0)
            m = build_model(model, split.dataset.input_shape, split.dataset.num_classes, cfg)
            m.compile(keras.optimizers.Adam(1e-3),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], jit_compile=False)
            timer = epoch_timer()
            cbs = [timer]
            stream = None
            if live:
                stream = TimedStream(sinks=[wb.widgets.LivePlot()], batch_size=batch,
                                     num_samples=len(split.x_train))
                cbs.append(stream)
            m.fit(split.x_train, split.y_train, batch_size=batch, epochs=cfg.epochs,
                  validation_data=(split.x_val, split.y_val), verbose=0, callbacks=cbs)
            per_batch = stream.hook_s / stream.hook_n * 1e6 if stream else None
            return timer.times[1:], per_batch

        fit(False)  # warm-up
        plain, live, hooks = [], [], []
        for _ in range(args.repeats):
            plain += fit(False)[0]
            t, h = fit(True)
            live += t
            hooks.append(h)
        ratio = median(live) / median(plain)
        key = f"{dataset}_{model}_b{batch}"
        rows.append({"case": key, "plain_epoch_s": median(plain), "live_epoch_s": median(live),
                     "ratio": ratio, "callback_us_per_batch": median(hooks)})
        figures[key] = {"ratio": round(ratio, 4),
                        "callback_us_per_batch": round(median(hooks), 1)}
    print_table("fit with MetricStream + LivePlot vs plain fit (epochs 2..N, A B A B)", rows)
    finish({"update_ms_1k_steps": round(u1k * 1e3, 3), "update_ms_100k_steps":
            round(u100k * 1e3, 3), **figures})


if __name__ == "__main__":
    main()
