"""`make demo`: train a dense model once, then compress what was trained.

1. LeNet-300-100 on the bundled digits data, 20 epochs with a cosine schedule (reused when a
   completed run of the same config is already in ``reports/demo/source``);
2. a sweep of ``notebooks/05_compression_pipeline.ipynb`` over pruning ratios and bit-widths,
   each run fine-tuning ``init_from`` the dense run for a few epochs (papermill, 2 at a time);
3. ``reports/demo/index.html``: the dense run beside the compressed ones, with a summary.

    .venv/bin/python scripts/demo.py [--out reports/demo] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DENSE = dict(dataset="digits", model="lenet300_100", epochs=20, lr_schedule="cosine", seed=0)
GRID = {"prune_ratio": [0.5, 0.8, 0.9], "quant_bits": [8, 4]}
FINE_TUNE_EPOCHS = 5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="reports/demo")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    import workbench as wb
    from workbench.notebooks import expand_grid

    out = Path(args.out)
    store = wb.RunStore(out / "source")
    cfg = wb.ExperimentConfig(**DENSE)
    done = [r for r in store.records() if r["status"] == "completed"
            and r.get("config") == cfg.to_dict() and (store.root / r["run_id"] /
                                                      "model.keras").is_file()]
    if done:
        dense = store.load(done[-1]["run_id"])
        print(f"demo: reusing the dense run {dense.run_id}")
    else:
        print(f"demo: training the dense model once ({cfg.model} on {cfg.dataset}, "
              f"{cfg.epochs} epochs)")
        dense = wb.run(cfg, store=store, verbose=False)
    base = dense.metrics["test_accuracy"]
    print(f"demo: dense test accuracy {base:.4f}, {dense.metrics['size_bytes_float32']:,} "
          f"bytes as float32")

    runs = [{**point, "init_from": str(dense.run_dir.resolve()), "epochs": FINE_TUNE_EPOCHS}
            for point in expand_grid(GRID)]
    df = wb.sweep(ROOT / "notebooks" / "05_compression_pipeline.ipynb",
                  output_dir=out / "sweep", runs=runs, workers=args.workers)
    page = wb.report(out / "sweep", title="nn-workbench demo: compress what you trained "
                     "(LeNet-300-100 on digits)")
    ok = df[df["status"] == "completed"]
    if ok.empty:
        print("demo: no compressed run completed; see the report", file=sys.stderr)
        return 1
    close = ok[ok["test_accuracy"] >= base - 0.01]
    best = (close if len(close) else ok).sort_values("compression_ratio").iloc[-1]
    change = 100 * (best["test_accuracy"] - base)
    print(f"demo: best within 1 pt of dense: prune {best['prune_ratio']:g} + "
          f"{int(best['quant_bits'])} bits, test accuracy {best['test_accuracy']:.4f} "
          f"({change:+.2f} pt), {best['compression_ratio']:.1f}x smaller "
          f"({int(best['size_bytes_packed']):,} bytes packed)")
    print(f"demo: report {page}")
    return 0


if __name__ == "__main__":  # the sweep's worker processes import this file: keep it guarded
    sys.exit(main())
