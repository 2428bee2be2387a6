"""Cost of live telemetry: MetricStream + LivePlot against a plain fit, and update cost.

(1) Epoch time with MetricStream + LivePlot (a FigureWidget updated in-process) against without,
    interleaved inside one ``fit``: odd epochs forward every hook to the stream, even epochs do
    not, so both arms share the process, the model and the machine's moment (this machine's
    epoch times drift by 2x between runs; separate fits compared A B A B could not resolve a
    few percent). Cases: fashion_mnist mlp batch 128 and digits small_cnn batch 32.
    Target: ratio <= 1.03, the ratio being the median over pairs of adjacent epochs (live,
    then plain) of their time ratio; ``best_ratio`` is the fastest live epoch over the fastest
    plain one. A control fit runs the same method with a do-nothing callback on the odd
    epochs: its ratios are what this machine's noise gives for no cost (here 0.95-1.06 when
    the machine is busy), so read the two ratios against it. Also the time spent inside the
    stream's hooks, measured directly (per call, and as a share of the epoch), which resolves
    below that noise: the overhead the training thread pays,
    since the TensorFlow backend runs batch-end callbacks synchronously (keras
    ``IS_THREAD_SAFE`` is False for TensorFlow: no callback list is dispatched asynchronously).
    Both arms run as ``wb.run`` trains (``fit_arrays``, several steps per call): the stream's
    in-graph step recorder, installed for the whole fit, runs in both arms, so its cost is
    not in this ratio; ``train_speed.py``'s ``wb.run`` vs plain ``fit`` ratio has it.
(2) Time of one live update (LivePlot.flush after a batch) at step 1,000 and at step 100,000:
    bounded traces make them about equal.

    .venv/bin/python benchmarks/live_overhead.py [--epochs N]
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
    ap.add_argument("--epochs", type=int, default=None, help="per case (odd: live, even: not); "
                    "default 41 for the mlp, 201 for digits, whose 85 ms epochs need more "
                    "pairs to resolve a few percent")
    args = ap.parse_args()

    u1k, u100k = update_cost(1000), update_cost(100_000)
    print_table("one live update (LivePlot.flush)", [
        {"steps": 1000, "ms": u1k * 1e3}, {"steps": 100_000, "ms": u100k * 1e3}])

    import workbench as wb
    from workbench._tf import keras
    from workbench.architectures import build_model
    from workbench.training.execution import apply, resolve
    from workbench.training.experiment import seed_everything, split_data
    from workbench.training.loop import fit_arrays
    from workbench.training.schedules import steps_per_epoch

    class Alternate(keras.callbacks.Callback):
        """Forward every hook to ``inner`` on odd epochs only, timing the forwarded calls."""

        def __init__(self, inner):
            super().__init__()
            self.inner, self.on, self.hook_s, self.batches = inner, False, 0.0, 0

        def set_model(self, model):
            super().set_model(model)
            self.inner.set_model(model)

        def set_params(self, params):
            super().set_params(params)
            self.inner.set_params(params)

        def _timed(self, fn, *a):
            t = time.perf_counter()
            fn(*a)
            self.hook_s += time.perf_counter() - t

        def on_train_begin(self, logs=None):
            self.inner.on_train_begin(logs)

        def on_epoch_begin(self, epoch, logs=None):
            self.on = epoch % 2 == 1
            if self.on:
                self._timed(self.inner.on_epoch_begin, epoch, logs)

        def on_train_batch_end(self, batch, logs=None):
            if self.on:
                self.batches += 1
                self._timed(self.inner.on_train_batch_end, batch, logs)

        def on_epoch_end(self, epoch, logs=None):
            if self.on:
                self._timed(self.inner.on_epoch_end, epoch, logs)

        def on_train_end(self, logs=None):
            self.inner.on_train_end(logs)

    cases = [("fashion_mnist", "mlp", 128, 41), ("digits", "small_cnn", 32, 201)]
    rows, figures = [], {}
    def interleaved(dataset: str, model: str, batch: int, epochs: int,
                    inner) -> tuple[list, list, Alternate]:
        """One fit whose odd epochs forward every hook to ``inner``: (odd, even) epoch times."""
        cfg = wb.ExperimentConfig(dataset=dataset, model=model, batch_size=batch,
                                  epochs=epochs, hidden_units=[256, 128])
        split = split_data(cfg, wb.load_dataset(dataset))
        seed_everything(0)
        m = build_model(model, split.dataset.input_shape, split.dataset.num_classes,
                        **cfg.model_options)
        m.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False)
        apply(m, resolve(cfg, m, batch_size=batch, steps_per_epoch=steps_per_epoch(
            cfg, len(split.x_train))))  # wb.run's defaults: XLA (mlp), 16-64 steps per call
        if inner == "stream":
            inner = wb.callbacks.MetricStream(
                sinks=[wb.widgets.LivePlot(auto_display=False)], batch_size=batch,
                num_samples=len(split.x_train))
        alt, timer = Alternate(inner), epoch_timer()
        fit_arrays(m, split.x_train, split.y_train, batch_size=batch, epochs=epochs,
                   validation_data=(split.x_val, split.y_val), callbacks=[alt, timer])
        times = timer.times[1:]  # epoch 0 (tracing) is neither arm
        return times[0::2], times[1::2], alt  # epochs 1, 3, 5... forwarded to inner

    def ratios(odd: list, even: list) -> tuple[float, float]:
        # each odd epoch against the even epoch right after it: slow drift cancels; and
        # the fastest of each (stalls only ever add time)
        return median([a / b for a, b in zip(odd, even, strict=False)]), min(odd) / min(even)

    for dataset, model, batch, epochs in cases:
        epochs = args.epochs or epochs
        live, plain, alt = interleaved(dataset, model, batch, epochs, "stream")
        ratio, best = ratios(live, plain)
        # the control: the same method with a do-nothing callback on the odd epochs, so
        # the ratios can be read against what this machine's noise gives for no cost
        control, control_best = ratios(*interleaved(dataset, model, batch, epochs,
                                                    keras.callbacks.Callback())[:2])
        share = alt.hook_s / sum(live)
        key = f"{dataset}_{model}_b{batch}"
        rows.append({"case": key, "epochs_each": len(live), "plain_epoch_s": median(plain),
                     "live_epoch_s": median(live), "paired_ratio": ratio, "best_ratio": best,
                     "control_paired": control, "control_best": control_best,
                     "hook_us_per_call": alt.hook_s / max(alt.batches, 1) * 1e6,
                     "hook_share_of_epoch": share})
        figures[key] = {"ratio": round(ratio, 4), "best_ratio": round(best, 4),
                        "control_ratio": round(control, 4),
                        "control_best_ratio": round(control_best, 4),
                        "hook_share": round(share, 4),
                        "hook_us_per_call": round(alt.hook_s / max(alt.batches, 1) * 1e6, 1)}
    print_table("fit with MetricStream + LivePlot vs without, interleaved epochs of one fit",
                rows)
    finish({"update_ms_1k_steps": round(u1k * 1e3, 3), "update_ms_100k_steps":
            round(u100k * 1e3, 3), **figures})


if __name__ == "__main__":
    main()
