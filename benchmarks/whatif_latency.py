"""What-if latency: one compression question about a trained model, answered and measured.

Per model, 30 random settings (pruning ratio and scope, bits, conv bits, granularity, now and
then clustering), three arms measured in the same process on the same trained weights:

- ``whatif``: ``WhatIf.evaluate`` (accuracy on the whole test set + the real ``.wbz`` bytes);
- ``composed``: today's functions chained by hand: ``C.prune``, ``C.quantize`` (or
  ``C.cluster``), a prediction over the test set and ``pack``'s encoder;
- ``run``: ``wb.run(init_from=..., epochs=0)`` with the same settings (fewer settings: it
  loads the source and writes a run folder each time).

The two arms give the same numbers (checked here on every setting); the ratios are medians
of per-setting times. Targets (median of ``whatif``, 2 cores): digits ``small_cnn`` <= 0.08 s,
Fashion-MNIST ``lenet300_100`` <= 0.25 s, ``lenet5`` <= 0.5 s.

    .venv/bin/python benchmarks/whatif_latency.py [--settings 30] [--models ...]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, median, print_table

MODELS = {"small_cnn": ("digits", 10, 0.08), "lenet300_100": ("fashion_mnist", 2, 0.25),
          "lenet5": ("fashion_mnist", 2, 0.5)}


def random_setting(rng: random.Random) -> dict:
    s = {"prune_ratio": rng.choice([0.0, rng.uniform(0.3, 0.97)]),
         "prune_scope": rng.choice(["global", "layer"]),
         "quant_granularity": rng.choice(["per_channel", "per_tensor"])}
    if rng.random() < 1 / 6:
        s["cluster_k"] = rng.choice([4, 8, 16, 32])
    else:
        s["quant_bits"] = rng.choice([None, 2, 3, 4, 5, 6, 8])
        if s["quant_bits"] is not None and rng.random() < 0.3:
            s["quant_bits_conv"] = 8
    return s


def composed(model, s, x, y):
    """The answer built from the one-shot functions (what a user had before WhatIf)."""
    import numpy as np

    import workbench.compress as C
    from workbench.compress.pack import encode

    m = C.prune(model, s["prune_ratio"], scope=s["prune_scope"]) if s["prune_ratio"] else model
    if s.get("cluster_k"):
        m = C.cluster(m, s["cluster_k"])
    elif s.get("quant_bits"):
        m = C.quantize(m, C.layer_bits(m, s["quant_bits"], s.get("quant_bits_conv")),
                       granularity=s["quant_granularity"])
    pred = np.concatenate([np.asarray(m.predict_on_batch(x[i: i + 1024]))
                           for i in range(0, len(x), 1024)])
    return float(np.mean(pred.argmax(-1) == y)), len(encode(m)[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--settings", type=int, default=30)
    ap.add_argument("--run-settings", type=int, default=5)
    args = ap.parse_args()

    import workbench as wb

    store = wb.RunStore(tempfile.mkdtemp(prefix="whatif-latency-"))
    rows, out = [], {}
    for name in args.models.split(","):
        dataset, epochs, target = MODELS[name]
        src = wb.run(wb.ExperimentConfig(dataset=dataset, model=name, epochs=epochs,
                                         batch_size=128, lr_schedule="cosine"),
                     store=store, verbose=False)
        t0 = time.perf_counter()
        w = wb.compress.WhatIf(src)
        t_init = time.perf_counter() - t0
        rng = random.Random(0)
        settings = [random_setting(rng) for _ in range(args.settings)]
        t_whatif, t_composed, mismatches = [], [], 0
        for s in settings:
            t0 = time.perf_counter()
            a = w.evaluate(**s)
            t_whatif.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            acc, size = composed(src.model, s, w.x_test, w.y_test)
            t_composed.append(time.perf_counter() - t0)
            mismatches += int(abs(acc - a["test_accuracy"]) > 1e-9
                              or size != a["size_bytes_packed"])
        t_run = []
        for s in settings[: args.run_settings]:
            t0 = time.perf_counter()
            r = wb.run(wb.ExperimentConfig(init_from=src.run_id, epochs=0, **s), store=store,
                       verbose=False)
            t_run.append(time.perf_counter() - t0)
            mismatches += int(r.metrics["size_bytes_packed"] != w.evaluate(**s)[
                "size_bytes_packed"])
        med = median(t_whatif)
        out[name] = {"whatif_median_s": med, "whatif_p90_s": sorted(t_whatif)[int(
                     0.9 * len(t_whatif))], "composed_median_s": median(t_composed),
                     "run_epochs0_median_s": median(t_run), "init_s": t_init,
                     "speedup_vs_composed": median(
                         [c / a for c, a in zip(t_composed, t_whatif, strict=True)]),
                     "speedup_vs_run": median(t_run) / med, "mismatches": mismatches,
                     "target_s": target, "target_met": med <= target and mismatches == 0}
        rows.append({"model": f"{name} ({dataset})", "whatif s": med,
                     "composed s": median(t_composed), "run(epochs=0) s": median(t_run),
                     "x vs composed": out[name]["speedup_vs_composed"],
                     "x vs run": out[name]["speedup_vs_run"], "target s": target,
                     "mismatches": mismatches})
    print_table(f"median seconds per what-if question ({args.settings} random settings)", rows)
    finish(out)


if __name__ == "__main__":
    main()
