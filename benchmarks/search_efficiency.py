"""Search efficiency: TPE vs random vs grid (one objective), NSGA-II vs random (two).

digits, mlp, a budget of ``--trials`` trials (default 24) per search, ``--seeds`` sampler seeds
(default 3), every arm in this one process:

- one objective (test accuracy) over optimizer x learning rate x hidden units: the best test
  accuracy reached and the number of trials needed to reach 99% of it (TPE, random, grid; the
  grid walks a 24-point grid of the same space);
- two objectives (test accuracy up, packed bytes down) over the same plus prune_ratio and
  quant_bits: hypervolume of the front (reference point: accuracy 0, the largest float32 size
  in the space), NSGA-II vs random.

Targets: TPE at least as good as random on average; NSGA-II hypervolume >= random's.

    .venv/bin/python benchmarks/search_efficiency.py [--trials 24] [--seeds 3] [--epochs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, print_table

LRS = [1e-3, 3e-3, 1e-2, 3e-2]
UNITS = [[32], [128, 64], [256, 128]]


def hypervolume(points: list[tuple[float, float]], ref_size: float) -> float:
    """Area dominated by (accuracy up, size down) points within [0, ref_size] x [0, 1],
    as a fraction of ref_size: the integral over s of the best accuracy at size <= s."""
    pts = sorted((s, a) for a, s in points if s < ref_size)
    area, best = 0.0, 0.0
    for i, (s, a) in enumerate(pts):
        best = max(best, a)
        right = pts[i + 1][0] if i + 1 < len(pts) else ref_size
        area += (right - s) * best
    return area / ref_size


def trials_to(values: list[float], target: float) -> int:
    best = -1.0
    for i, v in enumerate(values, 1):
        best = max(best, v)
        if best >= target:
            return i
    return len(values)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()

    import workbench as wb

    tmp = Path(tempfile.mkdtemp(prefix="search-bench-"))
    base = wb.ExperimentConfig(dataset="digits", model="mlp", epochs=args.epochs,
                               export=["packed"])
    single = {"optimizer": ["adam", "sgd"], "learning_rate": LRS, "hidden_units": UNITS}
    double = {**single, "learning_rate": wb.loguniform(1e-3, 3e-2),
              "prune_ratio": wb.uniform(0.0, 0.95), "quant_bits": [2, 4, 8, None]}
    mlp = wb.models()["mlp"].builder
    ref = 4.0 * max(mlp((8, 8, 1), 10, hidden_units=u).count_params() for u in UNITS) * 1.1

    runs: dict[str, list[list[float]]] = {"tpe": [], "random": [], "grid": []}
    for seed in range(args.seeds):
        for sampler in runs:
            if sampler == "grid" and seed > 0:
                continue  # the grid is deterministic
            res = wb.search(base, single, "test_accuracy:max", sampler=sampler,
                            n_trials=args.trials, storage=None, store=tmp / "runs",
                            seed=seed, prune=False, progress=False)
            df = res.table().sort_values("trial")
            runs[sampler].append(df.test_accuracy.fillna(0.0).tolist())
    best_overall = max(max(v) for vals in runs.values() for v in vals)
    rows, out = [], {}
    for sampler, vals in runs.items():
        best = statistics.mean(max(v) for v in vals)
        need = statistics.mean(trials_to(v, 0.99 * best_overall) for v in vals)
        rows.append({"sampler": sampler, "searches": len(vals), "mean best accuracy": best,
                     "trials to 99% of best": need})
        out[sampler] = {"best_accuracy": best, "trials_to_99pct": need}
    print_table(f"one objective, {args.trials} trials (best seen anywhere "
                f"{best_overall:.4f})", rows)

    hv: dict[str, list[float]] = {"nsga2": [], "random": []}
    for seed in range(args.seeds):
        for sampler in hv:
            res = wb.search(base, double, ["test_accuracy:max", "size_bytes_packed:min"],
                            sampler=sampler, n_trials=args.trials, storage=None,
                            store=tmp / "runs", seed=seed, progress=False)
            df = res.table()
            df = df[df.state == "COMPLETE"]
            hv[sampler].append(hypervolume(list(zip(df.test_accuracy, df.size_bytes_packed,
                                                    strict=True)), ref))
    rows2 = [{"sampler": s, "mean hypervolume": statistics.mean(v), "per seed": v}
             for s, v in hv.items()]
    print_table("two objectives (accuracy up, packed bytes down)", rows2)
    out["hypervolume"] = {s: statistics.mean(v) for s, v in hv.items()}
    out["targets_met"] = {"tpe_vs_random": out["tpe"]["best_accuracy"]
                          >= out["random"]["best_accuracy"],
                          "nsga2_vs_random": out["hypervolume"]["nsga2"]
                          >= out["hypervolume"]["random"]}
    finish(out)


if __name__ == "__main__":
    main()
